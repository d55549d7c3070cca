import Foundation

/// What a library's sources say to users, scanned as text: the libraries speak their own
/// language, so no string literal of theirs names a command-line flag or the vhdtool program.
package enum SourceWording {
    /// The string literals of `Sources/<module>` that name a flag (`--x`) or `vhdtool `, as
    /// "module/file:line: literal". The first line of a repair backup file is a format marker,
    /// not a message, and is not reported.
    package static func cliWords(in module: String) throws -> [String] {
        let root = TestPaths.repositoryRoot.appendingPathComponent("Sources/\(module)").path
        var found: [String] = []
        for file in try FileManager.default.subpathsOfDirectory(atPath: root) where file.hasSuffix(".swift") {
            let text = try String(contentsOfFile: root + "/" + file, encoding: .utf8)
            for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let code = line.trimmingCharacters(in: .whitespaces)
                if code.hasPrefix("//") { continue }
                // The text inside string literals only.
                let literals = code.split(separator: "\"", omittingEmptySubsequences: false).enumerated()
                    .filter { $0.offset % 2 == 1 }.map(\.element)
                for literal in literals where literal.contains(/--[a-z]/) || literal.contains("vhdtool ") {
                    if literal.hasPrefix("vhdtool repair backup") { continue }
                    found.append("\(module)/\(file):\(number + 1): \(literal)")
                }
            }
        }
        return found
    }
}
