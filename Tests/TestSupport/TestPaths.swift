import Foundation

/// Where the tests find their images.
package enum TestPaths {
    /// The repository's root, found from this file's place in Tests/TestSupport.
    package static let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// TestImages/: small images the project makes itself (see its README).
    package static let testImages: URL = repositoryRoot.appendingPathComponent("TestImages")

    /// A file in TestImages/.
    package static func testImage(_ name: String) -> String {
        testImages.appendingPathComponent(name).path
    }

    /// ../shared/vhd-corpus beside the repository (or `VHD_CORPUS`), or nil when it is absent.
    /// Tests that need an image of it that TestImages/corpus/ does not hold are then skipped
    /// with a message.
    package static let corpus: URL? = {
        let candidates = [
            ProcessInfo.processInfo.environment["VHD_CORPUS"].map { URL(fileURLWithPath: $0) },
            repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared/vhd-corpus"),
        ]
        return candidates.compactMap { $0 }.first {
            FileManager.default.fileExists(atPath: $0.appendingPathComponent("README.md").path)
        }
    }()

    /// TestImages/corpus/: the corpus images whose licenses let the project keep a copy
    /// (Apache-2.0, BSD and the qemu-made ones; see TestImages/README.md), so that a fresh
    /// clone tests real images without ../shared.
    package static let bundledCorpus: URL = testImages.appendingPathComponent("corpus")

    /// A file of the corpus: from ../shared/vhd-corpus when present, else the copy in
    /// TestImages/corpus/, or nil when neither holds it.
    package static func corpusImage(_ name: String) -> String? {
        if let corpus { return corpus.appendingPathComponent(name).path }
        let bundled = bundledCorpus.appendingPathComponent(name).path
        return FileManager.default.fileExists(atPath: bundled) ? bundled : nil
    }

    /// Whether ``corpusImage(_:)`` finds `name`.
    package static func hasCorpusImage(_ name: String) -> Bool { corpusImage(name) != nil }

    /// The message shown when a corpus test is skipped.
    package static let corpusMissing = "../shared/vhd-corpus is absent (set VHD_CORPUS to its folder) and TestImages/corpus does not hold the image"
}
