import Foundation
import TestSupport
import Testing

/// The library speaks its own language: no message of VHD or VHDFormat names a command-line
/// flag or the vhdtool program (the CLI adds those, in CommandLineSupport's ErrorWording).
struct LibraryWordingTests {
    /// String literals of the library's sources that name a flag (`--x`) or `vhdtool `.
    static func cliWords(in module: String) throws -> [String] {
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
                    // The first line of a repair backup file is a format marker, not a message.
                    if literal.hasPrefix("vhdtool repair backup") { continue }
                    found.append("\(module)/\(file):\(number + 1): \(literal)")
                }
            }
        }
        return found
    }

    @Test(arguments: ["VHD", "VHDFormat"])
    func noLibraryMessageNamesAFlagOrTheProgram(module: String) throws {
        let found = try Self.cliWords(in: module)
        #expect(found.isEmpty, "\(found.joined(separator: "\n"))")
    }
}
