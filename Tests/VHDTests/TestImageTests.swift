import Foundation
import TestSupport
import Testing
import VHD
import VHDFormat

/// The project's own fixtures (TestImages/README.md says how each was made).
struct TestImageTests {
    @Test(arguments: validTestImages)
    func validImagesOpenStrictly(_ name: String) throws {
        #expect(openingError(TestPaths.testImage(name)) == nil)
    }

    @Test func dynamicImageLayout() throws {
        let layout = try layout(of: TestPaths.testImage("dynamic-8M.vhd"), checksumPolicy: .verify)
        #expect(layout.virtualSize == 8_390_656)
        #expect(layout.footerLocation == .end && layout.footerCopy == layout.footer)
        let dynamic = try #require(layout.dynamic)
        #expect(dynamic.headerOffset == 512 && dynamic.header.tableOffset == 1536)
        #expect(dynamic.table.entries == [4, .max, .max, .max, 4101])
        #expect(layout.warnings.isEmpty)
    }

    @Test func legacyShortFooterReadsLikeTheFullOne() throws {
        let full = try layout(of: TestPaths.testImage("fixed-1M.vhd"), checksumPolicy: .verify)
        let short = try layout(of: TestPaths.testImage("fixed-legacy-511.vhd"), checksumPolicy: .verify)
        #expect(short.footer == full.footer)
        #expect(short.footerLocation == .legacyEnd && short.footerOffset == 1_048_576)
        #expect(short.warnings == [.legacyShortFooter])
    }

    @Test func zeroedEndFooterIsRecoveredFromTheCopy() throws {
        let original = try layout(of: TestPaths.testImage("dynamic-8M.vhd"))
        let layout = try layout(of: TestPaths.testImage("broken-end-footer-zeroed.vhd"), checksumPolicy: .verify)
        #expect(layout.footerLocation == .copyAtStart)
        #expect(layout.footer == original.footer)
        #expect(layout.warnings.count == 1)
        if case .footerRecoveredFromCopy = layout.warnings.first {} else { Issue.record("no recovery warning") }
    }

    @Test func rawFileIsDetectedAsRaw() throws {
        let format = try DiskImage.withOpened(at: .init(TestPaths.testImage("raw-1M.img"))) { $0.format }
        #expect(format == .raw)
    }

    /// Each broken fixture and the error it must give.
    static let brokenImages: [(String, VHDError.Kind)] = [
        ("broken-bad-footer-checksum.vhd", .checksumRefused(.footer, offset: 4_197_376, stored: 0xFFFF_F3E1, computed: 0xFFFF_F3E0)),
        ("broken-bad-header-checksum.vhd", .checksumRefused(.dynamicHeader, offset: 512, stored: 0xFFFF_F473, computed: 0xFFFF_F472)),
        ("broken-truncated.vhd", .blockOutsideFile(blockIndex: 4, offset: 2_099_712, end: 2_102_272, limit: 2_101_248)),
        ("broken-bat-past-end.vhd", .blockOutsideFile(blockIndex: 1, offset: 536_870_912, end: 538_968_576, limit: 4_197_376)),
        ("broken-overlapping-blocks.vhd", .blocksOverlap(blockIndex: 1, otherBlockIndex: 0, offset: 2048)),
        ("broken-absurd-max-table-entries.vhd", .tableOutsideFile(offset: 1536, sizeInBytes: 17_179_869_180, fileSize: 4_197_888)),
        ("broken-max-table-entries-too-small.vhd", .tableTooSmall(entries: 1, needed: 5)),
        ("broken-block-size-zero.vhd", .invalidBlockSize(0)),
        ("broken-header-offset-past-end.vhd", .headerOutsideFile(offset: 268_435_456, fileSize: 4_197_888)),
    ]

    @Test(arguments: brokenImages)
    func brokenImagesGiveTheirSpecificError(name: String, expected: VHDError.Kind) {
        #expect(openingError(TestPaths.testImage(name)) == expected)
    }

    /// Without a cookie the file is a raw disk to ``DiskImage``; read as a VHD it is refused.
    @Test func badCookieIsNotAVHD() throws {
        let path = TestPaths.testImage("broken-bad-cookie.vhd")
        #expect(try DiskImage.withOpened(at: .init(path)) { $0.format } == .raw)
        let error = #expect(throws: VHDError.self) {
            try HostFile.withOpened(at: .init(path)) { try VHDLayout(reading: $0) }
        }
        #expect(error?.kind == .notAVHD(reason: "neither its last 512 bytes nor its first hold a \"conectix\" footer"))
    }

    @Test func badChecksumsOpenWhenAccepted() throws {
        for name in ["broken-bad-footer-checksum.vhd", "broken-bad-header-checksum.vhd"] {
            let layout = try layout(of: TestPaths.testImage(name), checksumPolicy: .ignore)
            #expect(layout.virtualSize == 8_390_656)
            #expect(layout.warnings.contains { if case .checksumMismatch = $0 { true } else { false } })
        }
    }

    @Test func everyTestImageIsListedInTheReadme() throws {
        // Every file below TestImages/ (subfolders too) is named in one of its READMEs.
        let root = TestPaths.testImages.path
        var readmes = "", files: [String] = []
        for path in try FileManager.default.subpathsOfDirectory(atPath: root) {
            var isFolder: ObjCBool = false
            FileManager.default.fileExists(atPath: root + "/" + path, isDirectory: &isFolder)
            if isFolder.boolValue { continue }
            if path.hasSuffix("README.md") {
                readmes += try String(contentsOfFile: root + "/" + path, encoding: .utf8)
            } else {
                files.append(path)
            }
        }
        #expect(!files.isEmpty)
        for file in files {
            let name = file.split(separator: "/").last.map(String.init) ?? file
            #expect(readmes.contains("`\(name)`"), "\(file) is not in a TestImages README")
        }
    }
}
