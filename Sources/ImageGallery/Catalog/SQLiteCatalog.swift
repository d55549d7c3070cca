import Foundation
import GRDB

/// The catalog in a SQLite file, through GRDB: the engine of a store folder, for one machine.
///
/// WAL journal, `synchronous = FULL`, foreign keys, a busy timeout (so that concurrent commands
/// wait for each other rather than fail), and immediate transactions for writes (a writer
/// takes the write lock before it reads, so a rule it checks still holds when it commits).
/// This file is the only one of the library that imports GRDB.
package struct SQLiteCatalog: CatalogDatabase {
    private let queue: DatabaseQueue

    package var dialect: CatalogDialect { .sqlite }
    package let location: String

    /// Opens (or creates) the SQLite catalog at `path`; ``migrate()`` brings its schema up.
    ///
    /// - Throws: ``CatalogEngineError`` when the file cannot be opened or is not a SQLite database.
    package init(path: String) throws(CatalogEngineError) {
        location = path
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        configuration.busyMode = .timeout(60)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA journal_mode = WAL")
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        do {
            queue = try DatabaseQueue(path: path, configuration: configuration)
        } catch {
            throw Self.engineError(error)
        }
    }

    package func migrate() throws {
        try Self.translating { try Self.migrator.migrate(queue) }
    }

    package func write<T>(_ body: (any CatalogConnection) throws -> T) throws -> T {
        try Self.translating {
            try queue.writeWithoutTransaction { db in
                var result: T?
                try db.inTransaction(.immediate) {
                    result = try body(Connection(db: db))
                    return .commit
                }
                guard let result else { throw CatalogEngineError(.other, "the transaction ended without a result") }
                return result
            }
        }
    }

    package func writeRows<T>(_ body: (any CatalogConnection) throws -> T) throws -> T {
        try write(body)
    }

    package func read<T>(_ body: (any CatalogConnection) throws -> T) throws -> T {
        try Self.translating { try queue.read { db in try body(Connection(db: db)) } }
    }

    package func close() {
        // Closing fails only while statements are still open; none outlive a transaction here.
        try? queue.close()
    }

    package func integrityProblems() throws -> [String] {
        try read { db in
            let integrity = try db.query("PRAGMA integrity_check", []).compactMap { row -> String? in
                if case let .text(text) = row.values.values.first { return text }
                return nil
            }
            let foreignKeys = try db.query("PRAGMA foreign_key_check", []).count
            var problems = integrity == ["ok"] ? [] : integrity.map { "SQLite integrity check: \($0)" }
            if foreignKeys > 0 {
                problems.append("\(foreignKeys) row\(foreignKeys == 1 ? "" : "s") refer to rows that do not exist (foreign key check)")
            }
            return problems
        }
    }

    /// One transaction's statements, on GRDB's connection.
    private struct Connection: CatalogConnection {
        let db: Database

        var dialect: CatalogDialect { .sqlite }

        @discardableResult
        func execute(_ sql: String, _ arguments: [CatalogValue]) throws -> Int {
            try db.execute(sql: sql, arguments: StatementArguments(arguments.map(\.databaseValue)))
            return db.changesCount
        }

        func query(_ sql: String, _ arguments: [CatalogValue]) throws -> [CatalogRow] {
            try Row.fetchAll(db, sql: sql, arguments: StatementArguments(arguments.map(\.databaseValue))).map { row in
                var values: [String: CatalogValue] = [:]
                for (column, value) in row where values[column] == nil {
                    values[column] = CatalogValue(value)
                }
                return CatalogRow(values)
            }
        }
    }

    /// Runs `body`, turning GRDB's errors into ``CatalogEngineError`` (the catalog's own errors,
    /// thrown by the rules inside a transaction, go through as they are).
    private static func translating<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as DatabaseError {
            throw engineError(error)
        }
    }

    private static func engineError(_ error: any Error) -> CatalogEngineError {
        guard let error = error as? DatabaseError else { return CatalogEngineError(.other, "\(error)") }
        switch error.resultCode {
        case .SQLITE_CONSTRAINT: return CatalogEngineError(.constraint, "\(error)")
        case .SQLITE_CANTOPEN, .SQLITE_IOERR: return CatalogEngineError(.connection, "\(error)")
        default: return CatalogEngineError(.other, "\(error)")
        }
    }

    /// The schema, versioned by GRDB's migrator (the identifiers are recorded in the catalog:
    /// they never change, so that existing stores open as they are).
    ///
    /// PostgreSQL mirror: the GalleryPostgres schema has the same tables and columns (integer
    /// for booleans, double precision for `leaseExpiry`, text for dates, enumerations and
    /// JSON, `lower(name)` unique indexes where SQLite says `COLLATE NOCASE`). Every change
    /// made here is written down here and made there as well. Changes since "v2": none.
    package static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: regions, galleries, definitions, versions, replicas") { db in
            try db.create(table: "region") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("name", .text).notNull().unique().collate(.nocase)
                t.column("path", .text).notNull()
                t.column("isDefault", .boolean).notNull().defaults(to: false)
            }
            try db.create(table: "gallery") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("name", .text).notNull().unique().collate(.nocase)
                t.column("description", .text)
                t.column("createdDate", .text).notNull()
            }
            try db.create(table: "definition") { t in
                t.autoIncrementedPrimaryKey("id")
                t.belongsTo("gallery", onDelete: .restrict).notNull()
                t.column("name", .text).notNull().collate(.nocase)
                t.column("publisher", .text).notNull().collate(.nocase)
                t.column("offer", .text).notNull().collate(.nocase)
                t.column("sku", .text).notNull().collate(.nocase)
                t.column("osType", .text).notNull()
                t.column("osState", .text).notNull()
                t.column("hyperVGeneration", .text).notNull()
                t.column("architecture", .text).notNull()
                t.column("description", .text)
                t.column("eula", .text)
                t.column("privacyStatementUri", .text)
                t.column("releaseNoteUri", .text)
                t.column("endOfLifeDate", .text)
                t.column("tags", .jsonText).notNull()
                t.column("minVCPUs", .integer)
                t.column("maxVCPUs", .integer)
                t.column("minMemoryMB", .integer)
                t.column("maxMemoryMB", .integer)
                t.column("disallowedDiskTypes", .jsonText).notNull()
                t.column("planName", .text)
                t.column("planPublisher", .text)
                t.column("planProduct", .text)
                t.column("createdDate", .text).notNull()
                t.uniqueKey(["galleryId", "name"])
                t.uniqueKey(["galleryId", "publisher", "offer", "sku"])
            }
            try db.create(table: "version") { t in
                t.autoIncrementedPrimaryKey("id")
                t.belongsTo("definition", onDelete: .restrict).notNull()
                t.column("name", .text).notNull()
                t.column("major", .integer).notNull()
                t.column("minor", .integer).notNull()
                t.column("patch", .integer).notNull()
                t.column("replicaCount", .integer).notNull()
                t.column("storageAccountType", .text).notNull()
                t.column("excludeFromLatest", .boolean).notNull()
                t.column("endOfLifeDate", .text)
                t.column("tags", .jsonText).notNull()
                t.column("publishedDate", .text).notNull()
                t.column("provisioningState", .text).notNull()
                t.uniqueKey(["definitionId", "name"])
            }
            try db.create(table: "versionDisk") { t in
                t.autoIncrementedPrimaryKey("id")
                t.belongsTo("version", onDelete: .cascade).notNull()
                t.column("lun", .integer)
                t.column("sourcePath", .text).notNull()
                t.column("virtualSize", .integer).notNull()
                t.column("occupiedBytes", .integer).notNull()
                t.column("digest", .text).notNull()
                t.uniqueKey(["versionId", "lun"])
            }
            try db.create(table: "versionRegion") { t in
                t.autoIncrementedPrimaryKey("id")
                t.belongsTo("version", onDelete: .cascade).notNull()
                // A region with replicas cannot be removed.
                t.belongsTo("region", onDelete: .restrict).notNull()
                t.column("position", .integer).notNull()
                t.column("replicaCount", .integer).notNull()
                t.column("storageAccountType", .text).notNull()
                t.column("excludeFromLatest", .boolean)
                t.column("state", .text).notNull()
                t.column("progress", .integer).notNull()
                t.column("details", .text)
                t.uniqueKey(["versionId", "regionId"])
            }
        }
        migrator.registerMigration("v2: leases, replication jobs") { db in
            try db.alter(table: "version") { t in
                t.add(column: "leaseOperation", .text)
                t.add(column: "leaseHost", .text)
                t.add(column: "leasePid", .integer)
                t.add(column: "leaseStart", .integer)
                t.add(column: "leaseExpiry", .double)
            }
            try db.create(table: "replicationJob") { t in
                t.autoIncrementedPrimaryKey("id")
                t.belongsTo("version", onDelete: .cascade).notNull()
                t.belongsTo("region", onDelete: .restrict).notNull()
                t.belongsTo("versionDisk", onDelete: .cascade).notNull()
                t.column("replicaIndex", .integer).notNull()
                t.column("state", .text).notNull()
                t.column("fileSize", .integer)
                t.column("digest", .text)
                t.column("details", .text)
                t.column("doneBytes", .integer).notNull().defaults(to: 0)
                t.column("leaseHost", .text)
                t.column("leasePid", .integer)
                t.column("leaseStart", .integer)
                t.column("leaseExpiry", .double)
                t.uniqueKey(["versionId", "regionId", "versionDiskId", "replicaIndex"])
            }
            try db.execute(sql: jobsOfVersionsMadeBeforeJobs)
        }
        return migrator
    }

    /// Migration v2's data step, the same in both engines' migrations: versions made before
    /// jobs get one job per replica; a Completed region's replicas are done (their file size is
    /// recorded when `replicate` or `store check` next looks at them), any other region's are
    /// pending.
    package static let jobsOfVersionsMadeBeforeJobs = """
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100)
        INSERT INTO replicationJob (versionId, regionId, versionDiskId, replicaIndex, state, digest, doneBytes)
        SELECT r.versionId, r.regionId, d.id, n.i,
               CASE r.state WHEN 'Completed' THEN 'done' ELSE 'pending' END,
               CASE r.state WHEN 'Completed' THEN d.digest END,
               CASE r.state WHEN 'Completed' THEN d.virtualSize ELSE 0 END
        FROM versionRegion r JOIN versionDisk d ON d.versionId = r.versionId JOIN n ON n.i <= r.replicaCount
        """
}

extension CatalogValue {
    /// The value as GRDB binds it.
    fileprivate var databaseValue: DatabaseValue {
        switch self {
        case .null: .null
        case let .integer(value): value.databaseValue
        case let .real(value): value.databaseValue
        case let .text(value): value.databaseValue
        }
    }

    /// A value GRDB read (a blob, which the catalog never stores, is read as text).
    fileprivate init(_ value: DatabaseValue) {
        switch value.storage {
        case .null: self = .null
        case let .int64(value): self = .integer(value)
        case let .double(value): self = .real(value)
        case let .string(value): self = .text(value)
        case let .blob(data): self = .text(String(decoding: data, as: UTF8.self))
        }
    }
}
