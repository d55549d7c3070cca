import Foundation
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
}

/// The engines under test.
enum CatalogEngines {
    /// SQLite in a store folder: always.
    static let sqlite = CatalogEngine(description: "SQLite") { folder, limits in
        try GalleryStore(folder: FilePath(folder.file("store")), limits: limits)
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
