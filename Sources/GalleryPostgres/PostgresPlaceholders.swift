/// The catalog's `?` placeholders as PostgreSQL's numbered ones.
///
/// The catalog writes its SQL once, with SQLite's `?`; PostgreSQL's extended protocol numbers its
/// parameters (`$1`, `$2`, ...). A `?` inside a string literal (`'...'`), a quoted identifier
/// (`"..."`) or a comment (`-- ...`, `/* ... */`) is text, not a placeholder, and is left alone.
enum PostgresPlaceholders {
    /// `sql` with its placeholders numbered from `$1`, and how many there were.
    static func numbered(_ sql: String) -> (sql: String, count: Int) {
        enum Context { case code, string, identifier, lineComment, blockComment }
        var context = Context.code
        var result = String.UnicodeScalarView()
        var count = 0
        let scalars = Array(sql.unicodeScalars)
        var index = 0
        while index < scalars.count {
            let scalar = scalars[index]
            let next = index + 1 < scalars.count ? scalars[index + 1] : nil
            switch context {
            case .code:
                switch scalar {
                case "?":
                    count += 1
                    result.append(contentsOf: "$\(count)".unicodeScalars)
                    index += 1
                    continue
                // A doubled quote inside a literal ('it''s') leaves and re-enters it: the same text.
                case "'": context = .string
                case "\"": context = .identifier
                case "-" where next == "-": context = .lineComment
                case "/" where next == "*":
                    context = .blockComment
                    result.append(scalar)
                    result.append("*")
                    index += 2
                    continue
                default: break
                }
            case .string where scalar == "'": context = .code
            case .identifier where scalar == "\"": context = .code
            case .lineComment where scalar == "\n": context = .code
            case .blockComment where scalar == "*" && next == "/":
                context = .code
                result.append(scalar)
                result.append("/")
                index += 2
                continue
            default: break
            }
            result.append(scalar)
            index += 1
        }
        return (String(result), count)
    }
}
