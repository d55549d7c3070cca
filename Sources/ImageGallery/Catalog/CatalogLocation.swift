import SystemPackage

/// Where a store's catalog is: a folder holding a SQLite catalog (one machine), or a PostgreSQL
/// server many hosts share.
///
/// A location is written as a path, or as a URL of the form libpq reads:
/// `postgres://user[:password]@host[:port]/database[?sslmode=disable|prefer|require]`
/// (also `postgresql://`). Anything not starting with one of those two schemes is a folder.
package enum CatalogLocation: Sendable, Equatable, CustomStringConvertible {
    /// A store folder, with `catalog.sqlite` inside.
    case folder(FilePath)
    /// A PostgreSQL database.
    case postgres(PostgresURL)

    /// Reads a location as a user writes it.
    ///
    /// - Throws: ``GalleryError`` (rule) for a URL that cannot be used, saying which part is wrong;
    ///   the message never repeats a password.
    package init(parsing text: String) throws(GalleryError) {
        if PostgresURL.hasScheme(text) {
            self = .postgres(try PostgresURL(parsing: text))
        } else {
            self = .folder(FilePath(text))
        }
    }

    /// The location for messages: the folder's path, or the URL without its password.
    package var description: String {
        switch self {
        case .folder(let folder): folder.string
        case .postgres(let url): url.description
        }
    }
}

/// A PostgreSQL database named by a URL: who connects, to which server and database, and how.
package struct PostgresURL: Sendable, Equatable, CustomStringConvertible {
    /// Whether the connection uses TLS, as libpq's `sslmode` says it (the modes that verify the
    /// server's certificate are not offered: like libpq's `require`, TLS here encrypts but does not
    /// authenticate the server).
    package enum SSLMode: String, Sendable, Equatable, CaseIterable {
        /// Plain TCP.
        case disable
        /// TLS when the server offers it, else plain TCP (libpq's default).
        case prefer
        /// TLS, or no connection.
        case require
    }

    /// The user name (percent-decoded).
    package var user: String
    /// The password, when the URL holds one (percent-decoded). Never shown.
    package var password: String?
    /// The host name or address (an IPv6 address without its brackets).
    package var host: String
    /// The TCP port; 5432 when the URL names none.
    package var port: Int
    /// The database name (percent-decoded).
    package var database: String
    /// TLS or not; ``SSLMode/prefer`` when the URL does not say.
    package var sslMode: SSLMode

    /// PostgreSQL's own port, used when a URL names none.
    package static let defaultPort = 5432

    /// A URL from its parts.
    package init(user: String, password: String? = nil, host: String, port: Int = defaultPort, database: String, sslMode: SSLMode = .prefer) {
        self.user = user
        self.password = password
        self.host = host
        self.port = port
        self.database = database
        self.sslMode = sslMode
    }

    /// Whether `text` starts with `postgres://` or `postgresql://` (in any case).
    package static func hasScheme(_ text: String) -> Bool {
        schemeLength(text) != nil
    }

    private static func schemeLength(_ text: String) -> Int? {
        let lowered = text.lowercased()
        for scheme in ["postgres://", "postgresql://"] where lowered.hasPrefix(scheme) {
            return scheme.count
        }
        return nil
    }

    /// Reads `postgres://user[:password]@host[:port]/database[?sslmode=...]`.
    ///
    /// The user, password and database may be percent-encoded (`%40` for `@`, `%2F` for `/`);
    /// an IPv6 host is written in brackets (`[::1]`). A user, a host and a database are
    /// required; the only query parameter is `sslmode`.
    ///
    /// - Throws: ``GalleryError`` (rule) naming the part that is wrong, without the password.
    package init(parsing text: String) throws(GalleryError) {
        guard let prefix = Self.schemeLength(text) else {
            throw .rule("'\(text)' is not a postgres:// or postgresql:// URL")
        }
        var rest = Substring(text.dropFirst(prefix))
        func bad(_ reason: String) -> GalleryError {
            .rule("the PostgreSQL URL '\(Self.redacted(text))' \(reason)")
        }

        // The query, then the path, then the authority.
        var query: Substring = ""
        if let mark = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: mark)...]
            rest = rest[..<mark]
        }
        guard let slash = rest.firstIndex(of: "/") else { throw bad("names no database (write .../database after the host)") }
        let path = rest[rest.index(after: slash)...]
        var authority = rest[..<slash]

        // user[:password]@ ends at the last '@' (an '@' of a password should be %40, but the
        // host never holds one).
        guard let at = authority.lastIndex(of: "@") else { throw bad("names no user (write user@host)") }
        let userInfo = authority[..<at]
        authority = authority[authority.index(after: at)...]
        let userPart: Substring
        var passwordPart: Substring?
        if let colon = userInfo.firstIndex(of: ":") {
            userPart = userInfo[..<colon]
            passwordPart = userInfo[userInfo.index(after: colon)...]
        } else {
            userPart = userInfo
        }
        guard let user = Self.percentDecoded(userPart) else { throw bad("has a user name that is not valid percent-encoded UTF-8") }
        guard !user.isEmpty else { throw bad("names no user (write user@host)") }
        var password: String?
        if let passwordPart {
            guard let decoded = Self.percentDecoded(passwordPart) else {
                throw bad("has a password that is not valid percent-encoded UTF-8")
            }
            password = decoded
        }

        // host[:port], [ipv6][:port]
        var host: Substring
        var portPart: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw bad("has an IPv6 host without its closing ']'") }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw bad("has text after the IPv6 host's ']' that is not a port") }
                portPart = after.dropFirst()
            }
            guard !host.isEmpty, host.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }) else {
                throw bad("has an IPv6 host that is not an IPv6 address")
            }
        } else {
            if let colon = authority.firstIndex(of: ":") {
                host = authority[..<colon]
                portPart = authority[authority.index(after: colon)...]
            } else {
                host = authority
            }
            guard !host.isEmpty else { throw bad("names no host") }
            guard host.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "." || $0 == "_") }) else {
                throw bad("has a host name with characters a host name cannot hold")
            }
        }
        var port = Self.defaultPort
        if let portPart {
            guard !portPart.isEmpty, portPart.count <= 5, portPart.allSatisfy({ $0.isASCII && $0.isNumber }),
                  let number = Int(portPart), (1...65535).contains(number)
            else { throw bad("has the port '\(portPart)', which is not a number from 1 to 65535") }
            port = number
        }

        guard let database = Self.percentDecoded(path) else { throw bad("has a database name that is not valid percent-encoded UTF-8") }
        guard !database.isEmpty else { throw bad("names no database (write .../database after the host)") }
        guard !path.contains("/") else { throw bad("has a path of several parts; a database name is one (write '/' in it as %2F)") }

        var sslMode = SSLMode.prefer
        if !query.isEmpty {
            for parameter in query.split(separator: "&", omittingEmptySubsequences: true) {
                let pair = parameter.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                guard pair.count == 2, let name = Self.percentDecoded(pair[0]), let value = Self.percentDecoded(pair[1]) else {
                    throw bad("has the parameter '\(parameter)', which is not name=value")
                }
                guard name == "sslmode" else { throw bad("has the parameter '\(name)'; the only parameter read is sslmode") }
                guard let mode = SSLMode(rawValue: value) else {
                    throw bad("has sslmode '\(value)'; it is one of \(SSLMode.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                sslMode = mode
            }
        }
        self.init(user: user, password: password, host: String(host), port: port, database: database, sslMode: sslMode)
    }

    /// The URL without its password: what messages show.
    package var description: String {
        let hostPart = host.contains(":") ? "[\(host)]" : host
        let portPart = port == Self.defaultPort ? "" : ":\(port)"
        let query = sslMode == .prefer ? "" : "?sslmode=\(sslMode.rawValue)"
        return "postgres://\(Self.percentEncoded(user))@\(hostPart)\(portPart)/\(Self.percentEncoded(database))\(query)"
    }

    /// `text` with whatever stands between the first `:` after the scheme and the last `@`
    /// replaced by `***`, for messages about a URL that could not be read (a password with an
    /// unescaped `/` or `@` in it is still hidden; hiding a little more than the password is harmless).
    static func redacted(_ text: String) -> String {
        guard let prefix = schemeLength(text) else { return text }
        let rest = text.dropFirst(prefix)
        guard let at = rest.lastIndex(of: "@"), let colon = rest[..<at].firstIndex(of: ":") else { return text }
        return String(text.prefix(prefix)) + String(rest[...colon]) + "***" + String(rest[at...])
    }

    /// Decodes `%XX` escapes; nil for a broken escape or bytes that are not UTF-8.
    static func percentDecoded(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else { return nil }
            bytes.append(high << 4 | low)
        }
        guard !bytes.contains(0) else { return nil }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// Escapes everything but RFC 3986's unreserved characters.
    package static func percentEncoded(_ text: String) -> String {
        var result = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."),
                 UInt8(ascii: "_"), UInt8(ascii: "~"):
                result.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let digits = Array("0123456789ABCDEF".unicodeScalars)
                result.unicodeScalars.append("%")
                result.unicodeScalars.append(digits[Int(byte >> 4)])
                result.unicodeScalars.append(digits[Int(byte & 0x0F)])
            }
        }
        return result
    }
}

extension CatalogLocation {
    /// The store's catalog a caller names: `explicit` (a folder or URL), else `VHDTOOL_STORE`,
    /// else the default folder (``GalleryStore/location(explicit:environment:)``). A URL without
    /// a password takes it from `VHDTOOL_STORE_PASSWORD`, else `PGPASSWORD`, so that it need not
    /// be written where others read it.
    ///
    /// - Throws: ``GalleryError`` (rule) for a URL that cannot be used, or when no location is
    ///   given and none can be derived from the environment.
    package static func resolve(explicit: String?, environment: [String: String]) throws(GalleryError) -> CatalogLocation {
        let named = [explicit, environment["VHDTOOL_STORE"]].lazy.compactMap { $0 }.first { !$0.isEmpty }
        guard let named, PostgresURL.hasScheme(named) else {
            return .folder(try GalleryStore.location(explicit: explicit, environment: environment))
        }
        var url = try PostgresURL(parsing: named)
        if url.password == nil {
            url.password = [environment["VHDTOOL_STORE_PASSWORD"], environment["PGPASSWORD"]].lazy.compactMap { $0 }.first { !$0.isEmpty }
        }
        return .postgres(url)
    }
}
