import Foundation
import ImageGallery
import SystemPackage
import TestSupport
import Testing

/// The gallery library speaks its own language: no message of ImageGallery names a command-line
/// flag or the vhdtool program; it names a ``GalleryRemedy`` and vhdtool-gallery words it.
struct GalleryWordingTests {
    /// String literals of ImageGallery's sources that name a flag (`--x`) or `vhdtool `.
    static func cliWords() throws -> [String] {
        let root = TestPaths.repositoryRoot.appendingPathComponent("Sources/ImageGallery").path
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
                    found.append("ImageGallery/\(file):\(number + 1): \(literal)")
                }
            }
        }
        return found
    }

    @Test func noGalleryMessageNamesAFlagOrTheProgram() throws {
        let found = try Self.cliWords()
        #expect(found.isEmpty, "\(found.joined(separator: "\n"))")
    }

    /// The scan finds what it looks for: a source with such a literal would fail the test.
    @Test func theScanSeesTheSources() throws {
        let root = TestPaths.repositoryRoot.appendingPathComponent("Sources/ImageGallery").path
        let files = try FileManager.default.subpathsOfDirectory(atPath: root).filter { $0.hasSuffix(".swift") }
        #expect(files.count > 10)
    }

    /// A refusal that the caller can get past says how, as a value.
    @Test func refusalsCarryTheirRemedy() throws {
        #expect(throws: GalleryError(.rule, "no store folder was given, and neither VHDTOOL_STORE nor HOME is set", remedy: .chooseStore)) {
            try GalleryStore.location(explicit: nil, environment: [:])
        }
    }
}
