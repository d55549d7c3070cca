import Foundation
import GRDB
@testable import ImageGallery
import SystemPackage
import TestSupport

/// A catalog engine a gallery suite runs against: a test taking `CatalogEngines.all` as its
/// arguments runs once per engine, each time on a new, empty catalog.
struct CatalogEngine: Sendable, CustomStringConvertible {
    /// The engine's name, as the test's argument shows it.
    var description: String
    /// Opens a new store with an empty catalog; `folder` is the test's own folder, for any
    /// file the engine needs (SQLite: the store folder `store` in it).
    var makeStore: @Sendable (_ folder: TemporaryFolder, _ limits: StoreLimits) throws -> GalleryStore
    /// Opens a store whose catalog the first schema made (before leases and jobs, as the first
    /// vhdtool left it), holding `rows` (SQL statements both engines read, run in order before
    /// the store is opened): opening it upgrades it.
    var makeStoreFromFirstSchema: @Sendable (_ folder: TemporaryFolder, _ rows: [String]) throws -> GalleryStore
}

/// The engines under test.
enum CatalogEngines {
    /// SQLite in a store folder: always.
    static let sqlite = CatalogEngine(description: "SQLite") { folder, limits in
        try GalleryStore(folder: FilePath(folder.file("store")), limits: limits)
    } makeStoreFromFirstSchema: { folder, rows in
        let storeFolder = folder.file("store")
        try FileManager.default.createDirectory(atPath: storeFolder, withIntermediateDirectories: true)
        do {
            let queue = try DatabaseQueue(path: storeFolder + "/" + GalleryStore.catalogName)
            try SQLiteCatalog.migrator.migrate(queue, upTo: "v1: regions, galleries, definitions, versions, replicas")
            try queue.write { db in
                for row in rows { try db.execute(sql: row) }
            }
        }
        return try GalleryStore(folder: FilePath(storeFolder), creating: false)
    }

    /// The environment variable holding a PostgreSQL server's URL (for example
    /// `postgres://vhdtool@127.0.0.1:54329/vhdtool`): set, every suite also runs on it.
    static let postgresVariable = "VHDTOOL_TEST_POSTGRES"

    /// Every engine to test: SQLite, and PostgreSQL when ``postgresVariable`` holds a URL.
    static var all: [CatalogEngine] {
        var engines = [sqlite]
        if let url = ProcessInfo.processInfo.environment[postgresVariable], !url.isEmpty {
            engines += postgres(url)
        }
        return engines
    }

    /// The PostgreSQL engine on the server at `url`, each store in a new database of its own
    /// (PostgresTestServer.swift).
    static func postgres(_ url: String) -> [CatalogEngine] { [PostgresTestServer.engine] }
}
