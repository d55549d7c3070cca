/// The catalog's engine, seen from the catalog's rules: a SQL database with transactions.
///
/// Every rule of the gallery (names, latest, immutability, leases, jobs) is written once, in the
/// Catalog folder, as SQL that both engines run; an engine only connects, runs statements,
/// migrates its schema and gives transactions their guarantees:
///
/// - SQLite (`SQLiteCatalog`, GRDB): a file in the store folder, for one machine.
/// - PostgreSQL (the `GalleryPostgres` module, postgres-nio): a server many hosts share.
///
/// The SQL the catalog writes is the common part of both dialects: `?` placeholders (an engine
/// that numbers them, like PostgreSQL's `$1`, rewrites them), `INSERT ... RETURNING id`,
/// `ON CONFLICT`, `lower(name)` for names compared without case, integers 0/1 for booleans,
/// text for dates and JSON. What differs is asked of the connection (``CatalogConnection/dialect``).
package protocol CatalogDatabase: Sendable {
    /// Which engine this is, for messages and for the few statements that differ.
    var dialect: CatalogDialect { get }

    /// Where the catalog is, for messages: a file path, or a URL without its password.
    var location: String { get }

    /// Brings the schema to the current version (creating it in an empty database). Safe to run
    /// from several processes and hosts at once: one migrates, the others wait and find it done.
    func migrate() throws

    /// Runs `body` in one write transaction. Writers are serialized with every other writer of
    /// the catalog, on every host (SQLite: an immediate transaction; PostgreSQL: a transaction
    /// that first takes the catalog's advisory lock), so a rule checked in `body` still holds
    /// when it commits. Either every change of `body` is committed or none: an error thrown by
    /// `body`, or a lost connection, rolls it back. The engine may run `body` again after a
    /// serialization failure; `body` must do nothing but catalog work.
    func write<T>(_ body: (any CatalogConnection) throws -> T) throws -> T

    /// Runs `body` in a transaction whose row locks are its only serialization: for the short,
    /// frequent steps of replication workers (claiming a job with ``CatalogDialect/skipLocked``,
    /// renewing a lease, recording progress) that must not wait behind every other writer.
    /// On SQLite this is ``write(_:)``.
    func writeRows<T>(_ body: (any CatalogConnection) throws -> T) throws -> T

    /// Runs `body` reading one consistent snapshot of the catalog.
    func read<T>(_ body: (any CatalogConnection) throws -> T) throws -> T

    /// Closes the connection. Later calls fail.
    func close()

    /// What the engine's own consistency checks find wrong with the catalog, one sentence per
    /// problem (SQLite: `integrity_check` and `foreign_key_check`); empty when nothing is.
    /// An engine whose server keeps its own constraints may find nothing to check (the default).
    func integrityProblems() throws -> [String]
}

extension CatalogDatabase {
    /// Nothing to check beyond what the engine enforces itself.
    package func integrityProblems() throws -> [String] { [] }
}

/// One open transaction of a ``CatalogDatabase``: statements and their rows.
package protocol CatalogConnection {
    /// Which engine runs the statements.
    var dialect: CatalogDialect { get }

    /// Runs a statement that returns no rows; returns how many rows it changed.
    @discardableResult
    func execute(_ sql: String, _ arguments: [CatalogValue]) throws -> Int

    /// Runs a query and returns all of its rows.
    func query(_ sql: String, _ arguments: [CatalogValue]) throws -> [CatalogRow]
}

extension CatalogConnection {
    /// The first row of a query, or nil.
    package func queryOne(_ sql: String, _ arguments: [CatalogValue]) throws -> CatalogRow? {
        try query(sql, arguments).first
    }
}

/// The two engines' differences the catalog's SQL has to know about.
package enum CatalogDialect: String, Sendable {
    case sqlite
    case postgres

    /// Appended to a `SELECT` that claims rows for this transaction, passing over rows other
    /// transactions hold: ` FOR UPDATE SKIP LOCKED` on PostgreSQL; nothing on SQLite, whose
    /// writers never run at the same time.
    package var skipLocked: String {
        switch self {
        case .sqlite: ""
        case .postgres: " FOR UPDATE SKIP LOCKED"
        }
    }

    /// Appended to a `SELECT` of rows this transaction will change: ` FOR UPDATE` on PostgreSQL.
    package var forUpdate: String {
        switch self {
        case .sqlite: ""
        case .postgres: " FOR UPDATE"
        }
    }
}

/// A value bound to a statement or read from a row. Booleans are integers 0 and 1, dates and
/// JSON are text, in both engines.
package enum CatalogValue: Sendable, Hashable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)

    package init(_ value: Int64?) { self = value.map { .integer($0) } ?? .null }
    package init(_ value: Int?) { self = value.map { .integer(Int64($0)) } ?? .null }
    package init(_ value: Bool?) { self = value.map { .integer($0 ? 1 : 0) } ?? .null }
    package init(_ value: Double?) { self = value.map { .real($0) } ?? .null }
    package init(_ value: String?) { self = value.map { .text($0) } ?? .null }
}

/// One row of a query: its values by column name (as the statement names them).
package struct CatalogRow: Sendable, Equatable {
    package var values: [String: CatalogValue]

    package init(_ values: [String: CatalogValue]) { self.values = values }

    /// The value of `column`, or null when the row has no such column. A column is also found
    /// by its name in lower case: PostgreSQL folds unquoted names (`versionId` comes back as
    /// `versionid`), SQLite keeps them as written.
    package subscript(_ column: String) -> CatalogValue { values[column] ?? values[column.lowercased()] ?? .null }

    /// Whether the row has `column` (in either spelling, see ``subscript(_:)``).
    package func has(_ column: String) -> Bool { values[column] != nil || values[column.lowercased()] != nil }
}

/// A failure of the engine (connection, statement, constraint), in the engine's words; the store
/// words it for users as a ``GalleryError``.
package struct CatalogEngineError: Error, Sendable, CustomStringConvertible {
    package enum Kind: Sendable, Equatable {
        /// The server cannot be reached, or the connection was lost (nothing of the current
        /// transaction was committed).
        case connection
        /// A unique or foreign-key constraint refused a change.
        case constraint
        /// Another transaction made this one impossible (PostgreSQL 40001/40P01); it may be run again.
        case serialization
        /// Anything else the engine reports (syntax, type, permission, a damaged file).
        case other
    }

    package var kind: Kind
    /// The engine's message, with the SQLSTATE or SQLite code where there is one.
    package var message: String

    package init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    package var description: String { message }
}
