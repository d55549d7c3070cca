import Foundation
import ImageGallery
import PostgresNIO
import Synchronization

/// The gallery's catalog in a PostgreSQL database that many hosts share, over postgres-nio.
///
/// The catalog's code is synchronous, so this engine is too: it holds one connection on
/// SwiftNIO's shared event loops and the calling thread waits for each statement's future (never
/// an event loop thread, which SwiftNIO checks). Transactions on one catalog value take turns.
///
/// Transactions (the contract of ``CatalogDatabase``):
/// - ``write(_:)``: `BEGIN`, then `pg_advisory_xact_lock(`
///   ``PostgresCatalog/advisoryLockKey``` )`, so that writers on every host run one at a time, as
///   SQLite's immediate transactions do on one machine; the lock goes with the transaction.
/// - ``writeRows(_:)``: `BEGIN` without that lock: row locks (`FOR UPDATE SKIP LOCKED`) only.
/// - ``read(_:)``: `BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY`: one snapshot.
///
/// A serialization failure or deadlock (SQLSTATE 40001, 40P01) thrown out of a transaction's body
/// runs the whole body again, up to ``maximumAttempts`` times. Any error rolls the transaction
/// back; a lost connection is ``CatalogEngineError/Kind/connection`` and the server rolls back
/// what it had. The next transaction connects again.
///
/// In a write transaction each statement that changes rows runs under a savepoint: a statement
/// refused by a constraint leaves the transaction usable, as it does on SQLite (PostgreSQL
/// would otherwise refuse every later statement of the transaction).
package final class PostgresCatalog: CatalogDatabase, @unchecked Sendable {
    /// The key of the advisory lock every writer of the catalog takes: "vhdtool\0" in ASCII.
    /// A database holds one catalog, so one key serves them all.
    package static let advisoryLockKey: Int64 = 0x7668_6474_6F6F_6C00

    /// How many times a transaction's body runs before a serialization failure is reported.
    package static let maximumAttempts = 5

    /// PostgreSQL.
    package var dialect: CatalogDialect { .postgres }
    /// The database's URL without its password.
    package let location: String

    private let configuration: PostgresConnection.Configuration
    private let logger: Logger
    /// Guards `connection` and `isClosed`, and makes transactions take turns.
    private let lock = NSLock()
    private var connection: PostgresConnection?
    private var isClosed = false

    /// Connects to the database `url` names.
    ///
    /// - Parameters:
    ///   - url: The server, database and user.
    ///   - password: The password, when the URL has none (it wins when both are given).
    /// - Throws: ``CatalogEngineError``: connection (the server cannot be reached, refuses the
    ///   user or has no such database), other (a TLS configuration that cannot be made).
    package init(url: PostgresURL, password: String? = nil) throws(CatalogEngineError) {
        location = url.description
        var logger = Logger(label: "vhdtool.catalog.postgres")
        // postgres-nio logs nothing above debug; the catalog's errors say what went wrong.
        logger.logLevel = .critical
        self.logger = logger
        let tls: PostgresConnection.Configuration.TLS
        do {
            var tlsConfiguration = TLSConfiguration.makeClientConfiguration()
            // libpq's `prefer` and `require` encrypt without checking the server's certificate.
            tlsConfiguration.certificateVerification = .none
            switch url.sslMode {
            case .disable: tls = .disable
            case .prefer: tls = .prefer(try NIOSSLContext(configuration: tlsConfiguration))
            case .require: tls = .require(try NIOSSLContext(configuration: tlsConfiguration))
            }
        } catch {
            throw CatalogEngineError(.other, "TLS for \(url) cannot be set up: \(error)")
        }
        var configuration = PostgresConnection.Configuration(
            host: url.host, port: url.port, username: url.user, password: url.password ?? password,
            database: url.database, tls: tls)
        configuration.options.connectTimeout = .seconds(15)
        self.configuration = configuration
        connection = try connect()
    }

    deinit {
        // postgres-nio insists that a connection is closed before it goes away.
        _ = try? connection?.close().wait()
    }

    private static let connectionIDs = Mutex<Int>(0)

    private func connect() throws(CatalogEngineError) -> PostgresConnection {
        let id = Self.connectionIDs.withLock { id in
            id += 1
            return id
        }
        do {
            return try PostgresConnection.connect(
                on: MultiThreadedEventLoopGroup.singleton.next(), configuration: configuration, id: id, logger: logger
            ).wait()
        } catch {
            let failure = CatalogEngineError.postgres(error)
            throw CatalogEngineError(failure.kind == .other ? .connection : failure.kind, "cannot connect to \(location): \(failure.message)")
        }
    }

    /// The open connection, connecting again when the last one was lost. Called under `lock`.
    private func liveConnection() throws(CatalogEngineError) -> PostgresConnection {
        guard !isClosed else { throw CatalogEngineError(.other, "the catalog at \(location) was closed") }
        if let connection, !connection.isClosed { return connection }
        let fresh = try connect()
        connection = fresh
        return fresh
    }

    /// Brings the schema to ``PostgresSchema/migrations``' last version in one write transaction
    /// (so under the advisory lock: concurrent hosts migrate once, the others then find it done).
    ///
    /// - Throws: ``CatalogEngineError``, also (other) for a schema newer than this program knows.
    package func migrate() throws {
        try write { transaction in
            try transaction.execute(PostgresSchema.migrationsTable, [])
            let applied = Set(try transaction.query("SELECT version FROM schema_migrations", []).compactMap { row -> Int64? in
                if case .integer(let version) = row["version"] { version } else { nil }
            })
            let known = PostgresSchema.migrations.map { Int64($0.version) }
            if let newest = applied.max(), newest > known.max() ?? 0 {
                throw CatalogEngineError(.other, "the catalog at \(location) has schema version \(newest), newer than this program's \(known.max() ?? 0): use a newer program")
            }
            for migration in PostgresSchema.migrations where !applied.contains(Int64(migration.version)) {
                for statement in migration.statements { try transaction.execute(statement, []) }
                try transaction.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'))",
                    [.integer(Int64(migration.version)), .text(migration.name)])
            }
        }
    }

    /// Runs `body` in a transaction under the catalog's advisory lock (see the type's summary).
    package func write<T>(_ body: (any CatalogConnection) throws -> T) throws -> T {
        try transaction(begin: "BEGIN", advisoryLock: true, savepoints: true, body)
    }

    /// Runs `body` in a transaction serialized by its row locks only.
    package func writeRows<T>(_ body: (any CatalogConnection) throws -> T) throws -> T {
        try transaction(begin: "BEGIN", advisoryLock: false, savepoints: true, body)
    }

    /// Runs `body` in a read-only repeatable-read transaction: one snapshot.
    package func read<T>(_ body: (any CatalogConnection) throws -> T) throws -> T {
        try transaction(begin: "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", advisoryLock: false, savepoints: false, body)
    }

    /// Runs a statement outside any transaction (`CREATE DATABASE`, `DROP DATABASE` cannot run
    /// inside one): for tools and tests that manage databases.
    ///
    /// - Throws: ``CatalogEngineError``.
    package func executeOutsideTransaction(_ sql: String) throws(CatalogEngineError) {
        lock.lock()
        defer { lock.unlock() }
        let transaction = PostgresTransaction(connection: try liveConnection(), logger: logger, savepoints: false)
        try transaction.run(sql, [])
    }

    /// Closes the connection; later transactions fail.
    package func close() {
        lock.withLock {
            isClosed = true
            _ = try? connection?.close().wait()
            connection = nil
        }
    }

    private func transaction<T>(
        begin: String, advisoryLock: Bool, savepoints: Bool, _ body: (any CatalogConnection) throws -> T
    ) throws -> T {
        lock.lock()
        defer { lock.unlock() }
        var attempt = 1
        while true {
            let connection = try liveConnection()
            let transaction = PostgresTransaction(connection: connection, logger: logger, savepoints: savepoints)
            do {
                try transaction.run(begin, [])
                if advisoryLock { try transaction.run("SELECT pg_advisory_xact_lock(?)", [.integer(Self.advisoryLockKey)]) }
                let result = try body(transaction)
                try transaction.run("COMMIT", [])
                return result
            } catch {
                let engineError = error as? CatalogEngineError
                if engineError?.kind == .connection {
                    // Whatever state it is in, this connection is done: the next transaction
                    // makes a new one (the server has rolled this one back).
                    _ = try? connection.close().wait()
                    self.connection = nil
                } else if !connection.isClosed {
                    // Best effort: if this fails too, the connection is gone and the server has
                    // rolled the transaction back.
                    do {
                        try transaction.run("ROLLBACK", [])
                    } catch where error.kind == .connection {
                        _ = try? connection.close().wait()
                        self.connection = nil
                    } catch {
                        // The body's error is the one reported.
                    }
                }
                if engineError?.kind == .serialization && attempt < Self.maximumAttempts {
                    attempt += 1
                    continue
                }
                throw error
            }
        }
    }
}
