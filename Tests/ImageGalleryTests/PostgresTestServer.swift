import Foundation
@testable import GalleryPostgres
import ImageGallery
import Testing

/// The PostgreSQL server of the tests: scripts/test starts one (scripts/postgres) and names it in
/// `VHDTOOL_TEST_POSTGRES`. Without it the PostgreSQL tests skip, unless
/// `VHDTOOL_REQUIRE_ORACLES=1`, when they fail.
enum PostgresTestServer {
    /// The server's URL as given, or nil.
    static let urlText = ProcessInfo.processInfo.environment["VHDTOOL_TEST_POSTGRES"].flatMap { $0.isEmpty ? nil : $0 }

    /// Whether the PostgreSQL tests run: a server was given, or its absence is a failure.
    static var isConfigured: Bool {
        urlText != nil || ProcessInfo.processInfo.environment["VHDTOOL_REQUIRE_ORACLES"] == "1"
    }

    /// The server's URL (its database is the one the tests' user owns).
    static func serverURL() throws -> PostgresURL {
        guard let urlText else {
            throw CatalogEngineError(.connection, "VHDTOOL_TEST_POSTGRES is not set, and VHDTOOL_REQUIRE_ORACLES=1 requires a PostgreSQL server (scripts/test starts one)")
        }
        return try PostgresURL(parsing: urlText)
    }

    /// Runs `body` with the URL of a new, empty database, dropped afterwards.
    @discardableResult
    static func withDatabase<T>(_ body: (PostgresURL) throws -> T) throws -> T {
        let server = try serverURL()
        let name = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        let admin = try PostgresCatalog(url: server)
        defer { admin.close() }
        try admin.executeOutsideTransaction("CREATE DATABASE \(name)")
        defer { try? admin.executeOutsideTransaction("DROP DATABASE IF EXISTS \(name) WITH (FORCE)") }
        var url = server
        url.database = name
        return try body(url)
    }

    /// Runs `body` with a catalog connected to a new, empty database.
    @discardableResult
    static func withCatalog<T>(migrated: Bool = false, _ body: (PostgresCatalog, PostgresURL) throws -> T) throws -> T {
        try withDatabase { url in
            let catalog = try PostgresCatalog(url: url)
            defer { catalog.close() }
            if migrated { try catalog.migrate() }
            return try body(catalog, url)
        }
    }
}

/// Waits, polling, until `condition` holds; false after `seconds`.
func eventually(within seconds: Double = 30, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try condition() { return true }
        usleep(20_000)
    }
    return false
}

/// Runs `body` on a thread of its own; `wait()` returns its result.
final class BackgroundWork<T: Sendable>: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var result: Result<T, any Error>?

    init(_ body: @escaping @Sendable () throws -> T) {
        let thread = Thread { [self] in
            result = Result { try body() }
            done.signal()
        }
        thread.start()
    }

    /// Whether the work has finished, waiting up to `seconds` for it.
    func isFinished(within seconds: Double) -> Bool {
        done.wait(timeout: .now() + seconds) == .success && { done.signal(); return true }()
    }

    /// The work's result, waiting for it.
    func wait() throws -> T {
        done.wait()
        done.signal()
        return try result!.get()
    }
}

extension PostgresTestServer {
    /// The gallery suites' PostgreSQL engine (``CatalogEngines``): each store is a new database
    /// on the test server. The databases stay until the server is stopped (scripts/test stops
    /// it and removes its folder): a store has no end a test could drop it at.
    static let engine = CatalogEngine(description: "PostgreSQL") { _, limits in
        try GalleryStore(database: PostgresCatalog(url: newDatabase()), limits: limits)
    } makeStoreFromFirstSchema: { _, rows in
        let url = try newDatabase()
        let first = try PostgresCatalog(url: url)
        defer { first.close() }
        let schema = try #require(PostgresSchema.migrations.first)
        try first.write { transaction in
            try transaction.execute(PostgresSchema.migrationsTable, [])
            for statement in schema.statements { try transaction.execute(statement, []) }
            _ = try transaction.execute("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, '2026-01-01T00:00:00Z')",
                                        [.integer(Int64(schema.version)), .text(schema.name)])
            for row in rows { _ = try transaction.execute(row, []) }
        }
        return try GalleryStore(database: PostgresCatalog(url: url))
    }

    /// The URL of a new, empty database on the test server, for one store.
    static func newDatabase() throws -> PostgresURL {
        var url = try serverURL()
        let name = "store_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        let admin = try PostgresCatalog(url: url)
        defer { admin.close() }
        try admin.executeOutsideTransaction("CREATE DATABASE \(name)")
        url.database = name
        return url
    }
}
