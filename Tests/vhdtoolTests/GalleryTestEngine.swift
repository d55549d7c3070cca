import Foundation
import TestSupport
import Testing

/// The catalog engine the CLI gallery suites (GalleryTests, GallerySourceOfTruthTests,
/// GalleryAzureModelTests, GalleryWorkerTests, GalleryConcurrencyTests) run on, chosen by
/// `VHDTOOL_TEST_GALLERY_ENGINE`: unset or `sqlite`, each ``GalleryFixture`` has a store folder;
/// `postgres`, each has a new database on the test server (`VHDTOOL_TEST_POSTGRES`). scripts/test
/// runs those suites a second time with `postgres` after the full run.
enum GalleryTestEngine: String {
    case sqlite
    case postgres

    /// The environment variable that chooses the engine.
    static let variable = "VHDTOOL_TEST_GALLERY_ENGINE"

    /// The variable's value as given (nil when unset or empty).
    private static let named = ProcessInfo.processInfo.environment[variable].flatMap { $0.isEmpty ? nil : $0 }

    /// Whether this run is the PostgreSQL pass. Tests that only make sense on a store folder
    /// (its files, its permissions, a damaged catalog.sqlite) are enabled if this is false.
    static let isPostgres = named == postgres.rawValue

    /// The engine of this run. An unknown name is an error, not a quiet fall back to SQLite.
    static func current() throws -> GalleryTestEngine {
        guard let named else { return .sqlite }
        guard let engine = GalleryTestEngine(rawValue: named) else {
            throw GalleryTestServer.Missing(description: "\(variable)='\(named)' names no engine: sqlite or postgres")
        }
        return engine
    }
}

/// The PostgreSQL server of the CLI gallery tests, as ImageGalleryTests' `PostgresTestServer`
/// knows it (that helper needs the GalleryPostgres module, which this target does not link):
/// scripts/test names it in `VHDTOOL_TEST_POSTGRES`. Without it the multi-host tests skip, unless
/// `VHDTOOL_REQUIRE_ORACLES=1`, when they fail; the PostgreSQL pass of the gallery suites
/// (``GalleryTestEngine``) fails without it.
enum GalleryTestServer {
    /// The server's URL as given, or nil.
    static let urlText = ProcessInfo.processInfo.environment["VHDTOOL_TEST_POSTGRES"].flatMap { $0.isEmpty ? nil : $0 }

    /// Whether the tests run: a server was given, or its absence is a failure.
    static var isConfigured: Bool {
        urlText != nil || ProcessInfo.processInfo.environment["VHDTOOL_REQUIRE_ORACLES"] == "1"
    }

    struct Missing: Error, CustomStringConvertible {
        var description: String
    }

    /// The URL of a new, empty database on the server given by `url` (the test server's when
    /// nil), made with psql; it stays until ``dropDatabase(_:)`` or until the server is stopped.
    static func newDatabase(on url: String? = nil) throws -> String {
        guard let server = url ?? urlText else {
            throw Missing(description: "VHDTOOL_TEST_POSTGRES is not set: the gallery's PostgreSQL tests need a server (scripts/test starts one with scripts/postgres)")
        }
        let name = "mh_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        try psql(server, "CREATE DATABASE \(name)")
        let database = try #require(server.lastIndex(of: "/"), "no database in \(server)")
        return server[..<database] + "/" + name
    }

    /// Drops the database `url` names (made by ``newDatabase(on:)`` on `server`, the test
    /// server's when nil), closing its connections.
    static func dropDatabase(_ url: String, on server: String? = nil) throws {
        guard let server = server ?? urlText else { return }
        let slash = try #require(url.lastIndex(of: "/"), "no database in \(url)")
        let name = url[url.index(after: slash)...]
        // Only a database newDatabase made: never the server's own, which other tests share.
        guard name.hasPrefix("mh_") else { throw Missing(description: "'\(name)' is not a test's own database") }
        try psql(server, "DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
    }

    /// Runs one SQL statement with psql on the database `url` names.
    static func psql(_ url: String, _ statement: String) throws {
        let psql = try #require(ExternalTool.find("psql"), "psql is not installed")
        let ran = try ExternalTool.run(psql, ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", statement])
        guard ran.status == 0 else { throw Missing(description: "psql: \(statement): \(ran.stderr)") }
    }
}
