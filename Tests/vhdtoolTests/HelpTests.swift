import Foundation
import Testing

/// One tool on the command line: help and the version for every command, the gallery's too
/// (which `vhdtool-gallery` runs).
struct HelpTests {
    @Test func versionIsPrintedByBothPrograms() throws {
        let version = try ConvertTests.vhdtool(["--version"])
        #expect(version.status == 0)
        let printed = version.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(printed.split(separator: ".").count == 3 && printed.allSatisfy { $0.isNumber || $0 == "." }, "\(printed)")
        let gallery = try ConvertTests.vhdtool(["version", "--version"])
        #expect(gallery.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == printed)
    }

    @Test(arguments: [
        (["help", "convert"], "vhdtool convert"),
        (["convert", "--help"], "vhdtool convert"),
        (["help", "version", "create"], "vhdtool version create"),
        (["version", "create", "--help"], "vhdtool version create"),
        (["help", "gallery"], "vhdtool gallery"),
        (["help", "region", "add"], "vhdtool region add"),
    ])
    func helpOfEveryCommandShowsItsOwnUsage(arguments: [String], usage: String) throws {
        let output = try ConvertTests.vhdtool(arguments)
        #expect(output.status == 0, "\(output.stderr)")
        #expect(output.stdout.contains("USAGE: \(usage)"), "\(arguments): \(output.stdout.prefix(300))")
    }
}
