import Foundation
import ImageGallery
import SystemPackage
import TestSupport
import Testing

/// The gallery library speaks its own language: no message of ImageGallery names a command-line
/// flag or the vhdtool program; it names a ``GalleryRemedy`` and vhdtool-gallery words it.
struct GalleryWordingTests {
    @Test func noGalleryMessageNamesAFlagOrTheProgram() throws {
        let found = try SourceWording.cliWords(in: "ImageGallery")
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
