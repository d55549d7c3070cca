import ImageGallery
import PostgresNIO

extension CatalogEngineError {
    /// An error of postgres-nio or SwiftNIO as the catalog's engine error.
    ///
    /// By SQLSTATE: 23505 (unique) and 23503 (foreign key) are ``Kind/constraint``; 40001
    /// (serialization) and 40P01 (deadlock) are ``Kind/serialization``; class 08 (connection
    /// exception), 57P01-57P03 (the server shutting down or starting), class 28 (authentication)
    /// and 3D000 (no such database) are ``Kind/connection``, as is every failure of the
    /// connection itself; anything else is ``Kind/other``. The message holds the SQLSTATE, the
    /// server's message and detail; it never holds the password, which no error carries.
    static func postgres(_ error: any Error) -> CatalogEngineError {
        if let error = error as? CatalogEngineError { return error }
        guard let error = error as? PSQLError else {
            // Channel and socket errors of SwiftNIO: the connection could not be made or was lost.
            return CatalogEngineError(.connection, "the connection failed: \(error)")
        }
        guard error.code == .server, let server = error.serverInfo else {
            let underlying = error.underlying.map { ": \($0)" } ?? ""
            switch error.code {
            case .serverClosedConnection, .clientClosedConnection, .connectionError, .uncleanShutdown,
                 .sslUnsupported, .failedToAddSSLHandler, .receivedUnencryptedDataAfterSSLRequest,
                 .messageDecodingFailure, .unexpectedBackendMessage, .unsupportedAuthMechanism,
                 .authMechanismRequiresPassword, .saslError, .queryCancelled:
                return CatalogEngineError(.connection, "the connection failed (\(error.code))\(underlying)")
            default:
                return CatalogEngineError(.other, "PostgreSQL client error (\(error.code))\(underlying)")
            }
        }
        let state = server[.sqlState] ?? "?????"
        var message = server[.message] ?? "no message"
        if let detail = server[.detail] { message += " (\(detail))" }
        message += " [SQLSTATE \(state)]"
        return CatalogEngineError(kind(ofSQLState: state), message)
    }

    /// The kind of failure a SQLSTATE names.
    static func kind(ofSQLState state: String) -> Kind {
        switch state {
        case "23505", "23503": .constraint
        case "40001", "40P01": .serialization
        case "57P01", "57P02", "57P03", "3D000": .connection
        case _ where state.hasPrefix("08") || state.hasPrefix("28"): .connection
        default: .other
        }
    }
}
