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

    /// ../shared/vhd-corpus beside the repository (or `VHD_CORPUS`), or nil when it is absent:
    /// tests that need it are then skipped with a message.
    package static let corpus: URL? = {
        let candidates = [
            ProcessInfo.processInfo.environment["VHD_CORPUS"].map { URL(fileURLWithPath: $0) },
            repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared/vhd-corpus"),
        ]
        return candidates.compactMap { $0 }.first {
            FileManager.default.fileExists(atPath: $0.appendingPathComponent("README.md").path)
        }
    }()

    /// A file of the corpus, or nil when the corpus is absent.
    package static func corpusImage(_ name: String) -> String? {
        corpus?.appendingPathComponent(name).path
    }

    /// The message shown when a corpus test is skipped.
    package static let corpusMissing = "../shared/vhd-corpus is absent (set VHD_CORPUS to its folder)"
}
