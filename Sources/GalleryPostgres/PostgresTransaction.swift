import ImageGallery
import PostgresNIO

/// One open transaction of a ``PostgresCatalog``: runs the catalog's statements on its connection,
/// waiting for each.
struct PostgresTransaction: CatalogConnection {
    let connection: PostgresConnection
    let logger: Logger
    /// Whether statements that change rows run under a savepoint (write transactions), so that
    /// one refused by a constraint does not end the transaction.
    let savepoints: Bool

    var dialect: CatalogDialect { .postgres }

    @discardableResult
    func execute(_ sql: String, _ arguments: [CatalogValue]) throws -> Int {
        try run(sql, arguments).metadata.rows ?? 0
    }

    func query(_ sql: String, _ arguments: [CatalogValue]) throws -> [CatalogRow] {
        var rows: [CatalogRow] = []
        for row in try run(sql, arguments).rows {
            rows.append(try CatalogRow(row: row))
        }
        return rows
    }

    /// Runs `sql` with `arguments` bound to its `?` placeholders.
    ///
    /// - Throws: ``CatalogEngineError``, also for a count of arguments that does not match the
    ///   placeholders.
    @discardableResult
    func run(_ sql: String, _ arguments: [CatalogValue]) throws(CatalogEngineError) -> PostgresQueryResult {
        let (numbered, count) = PostgresPlaceholders.numbered(sql)
        guard count == arguments.count else {
            throw CatalogEngineError(.other, "the statement has \(count) placeholders but \(arguments.count) values were given: \(sql)")
        }
        var bindings = PostgresBindings(capacity: arguments.count)
        for argument in arguments { bindings.append(argument) }
        let statement = PostgresQuery(unsafeSQL: numbered, binds: bindings)
        // postgres-nio never answers a query sent on a connection that is already closed (the
        // server ended it, say): such a query would wait forever, so it is not sent.
        guard !connection.isClosed else {
            throw CatalogEngineError(.connection, "the connection to the server was lost (nothing of this transaction was committed)")
        }
        guard savepoints && Self.changesRows(sql) else { return try wait(connection.query(statement, logger: logger)) }

        // Queued together: the savepoint and the statement go out without a wait between them.
        let savepoint = connection.query("SAVEPOINT catalog_statement", logger: logger)
        let result = connection.query(statement, logger: logger)
        do {
            try wait(savepoint)
            let rows = try wait(result)
            try wait(connection.query("RELEASE SAVEPOINT catalog_statement", logger: logger))
            return rows
        } catch {
            if error.kind != .connection {
                _ = try? wait(connection.query("ROLLBACK TO SAVEPOINT catalog_statement", logger: logger))
            }
            throw error
        }
    }

    @discardableResult
    private func wait(_ future: EventLoopFuture<PostgresQueryResult>) throws(CatalogEngineError) -> PostgresQueryResult {
        do {
            return try future.wait()
        } catch {
            throw CatalogEngineError.postgres(error)
        }
    }

    /// Whether a statement may change rows (and so meet a constraint): INSERT, UPDATE, DELETE, or
    /// a WITH that leads to one.
    static func changesRows(_ sql: String) -> Bool {
        let keyword = sql.drop(while: { $0.isWhitespace }).prefix(while: { $0.isLetter }).uppercased()
        return ["INSERT", "UPDATE", "DELETE", "WITH"].contains(keyword)
    }
}
