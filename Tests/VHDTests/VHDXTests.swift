import Crypto
import Foundation
import SystemPackage
import TestSupport
import Testing
import VHD
import VHDXFormat

/// One VHDX of the corpus and what qemu-img and vhdimount read from it (its README).
struct VHDXImage: CustomTestStringConvertible, Sendable {
    var file: String
    /// In TestImages/vhdx (true) or only in the shared corpus (false: its license forbids copying).
    var copied: Bool
    var virtualSize: UInt64
    var rawSHA256: String
    var kind: VHDXLayout.DiskKind
    var testDescription: String { file }

    /// The image's path, or nil when it is only in the shared corpus and that is absent.
    var path: String? {
        copied ? TestPaths.testImage("vhdx/" + file) : TestPaths.corpusImage("vhdx/" + file)
    }
}

let vhdxImages: [VHDXImage] = [
    VHDXImage(file: "coreos-config2-base.vhdx.gz", copied: true, virtualSize: 104_857_600,
              rawSHA256: "afce9cca367ebfa91a673d612bcb6fc32b12a80211207f7a7b1cd3aed3cac19d", kind: .dynamic),
    VHDXImage(file: "qemu-dynamic-64M.vhdx.gz", copied: true, virtualSize: 67_108_864,
              rawSHA256: "e27614daaf74b4d9b94ba85990fcf6272425c9acd7aeed5d0fea95ac5de62dcd", kind: .dynamic),
    VHDXImage(file: "qemu-fixed-8M.vhdx.gz", copied: true, virtualSize: 8_388_608,
              rawSHA256: "322dc930e7f703c8fe13260fd282ab016e7acfef4add6e849bc7518ae067a7ae", kind: .fixed),
    VHDXImage(file: "qemu-dynamic-16M-bs1M.vhdx.gz", copied: true, virtualSize: 16_777_216,
              rawSHA256: "efe1598ca8d9cddc27e4edf5605a42020c2d803cf070efc9d65dc2f0b15833bf", kind: .dynamic),
    VHDXImage(file: "qemu-dynamic-4M-log1M.vhdx.gz", copied: true, virtualSize: 4_194_304,
              rawSHA256: "22f0f3c286d67e745a1524db0ee7cf605ef4108d494cf36092039f8fb155dd25", kind: .dynamic),
    VHDXImage(file: "dissect-dynamic.vhdx.gz", copied: false, virtualSize: 10_485_760,
              rawSHA256: "8e2b5e9265d694b42b81819e3bff29770eff4ed0f4f9f311693ff3dbdc93efac", kind: .dynamic),
]

/// Helpers shared by the VHDX tests.
enum VHDXFixture {
    /// `image` decompressed into `folder` as NAME.vhdx.
    static func unpacked(_ image: String, into folder: TemporaryFolder, as name: String = "disk.vhdx") throws -> String {
        let destination = folder.file(name)
        let gzip = try #require(ExternalTool.find("gzip"))
        let result = try ExternalTool.run(gzip, ["-dc", image], stdoutTo: destination)
        #expect(result.status == 0, "gzip: \(result.stderr)")
        return destination
    }

    static func sha256(_ bytes: [UInt8]) -> String { SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined() }

    static func content(_ path: String) throws -> [UInt8] {
        try Disk.withOpened(at: FilePath(path)) { disk in try disk.read(at: 0, count: Int(disk.virtualSize)) }
    }

    static func layout(_ path: String) throws -> VHDXLayout {
        try DiskImage.withOpened(at: FilePath(path)) { disk in try #require(disk.vhdxLayout) }
    }
}

struct VHDXReadingTests {
    /// The content equals what qemu-img and vhdimount read (the corpus README's sha256), and
    /// the content digest equals the digest of that raw content.
    @Test(arguments: vhdxImages)
    func everyCorpusImageReadsAsQemuAndLibvhdiReadIt(_ image: VHDXImage) throws {
        guard let path = image.path, FileManager.default.fileExists(atPath: path) else {
            Issue.record(Comment(rawValue: TestPaths.corpusMissing))
            return
        }
        let content = try VHDXFixture.content(path)
        #expect(UInt64(content.count) == image.virtualSize)
        #expect(VHDXFixture.sha256(content) == image.rawSHA256)
        let digest = try Disk.withOpened(at: FilePath(path)) { try $0.contentDigest() }
        #expect(digest.description == ContentDigestTests.referenceDigest(content))
        let folder = try TemporaryFolder()
        let unpacked = try VHDXFixture.unpacked(path, into: folder)
        let layout = try VHDXFixture.layout(unpacked)
        #expect(layout.diskKind == image.kind && layout.virtualSize == image.virtualSize)
        #expect(layout.log == .empty && layout.warnings.isEmpty, "\(layout.warnings)")
    }

    @Test func windowsImageHasEveryBlockState() throws {
        let folder = try TemporaryFolder()
        let path = try VHDXFixture.unpacked(TestPaths.testImage("vhdx/coreos-config2-base.vhdx.gz"), into: folder)
        let layout = try VHDXFixture.layout(path)
        #expect(layout.creator == "Microsoft Windows 6.3.9600.16521")
        // The BAT's bytes at 3 MiB: 06 00 40 00.. / 00.. / 02.. / 02.. (the shared corpus README
        // swaps the last three).
        #expect((0..<4).map { layout.payloadEntry($0).payloadState } == [.fullyPresent, .notPresent, .zero, .zero])
        #expect(layout.payloadEntry(0).fileOffset == 4 << 20)
        #expect(layout.blockSize == 32 << 20 && layout.logicalSectorSize == 512 && layout.physicalSectorSize == 4096)
        #expect(layout.currentHeaderIndex == 1)
        let extents = try Disk.withOpened(at: FilePath(path)) { try $0.extents() }
        #expect(extents.filter(\.isData).map(\.length) == [32 << 20])
    }

    @Test func windowsDissectImagePutsMetadataBeforeTheBAT() throws {
        guard let corpus = TestPaths.corpusImage("vhdx/dissect-dynamic.vhdx.gz") else { return }
        let folder = try TemporaryFolder()
        let layout = try VHDXFixture.layout(try VHDXFixture.unpacked(corpus, into: folder))
        #expect(layout.metadataRegion.fileOffset == 2 << 20 && layout.batRegion.fileOffset == 3 << 20)
        #expect(layout.virtualDiskId.description == "788015F0-5E93-4BD2-A5DE-B0CD8459DB11")
    }

    @Test func truncatedVHDXIsRefusedWithAReason() throws {
        guard let path = TestPaths.corpusImage("dissect-dynamic.vhdx.first-1MiB") else { return }
        #expect {
            try DiskImage.withOpened(at: FilePath(path)) { _ in }
        } throws: { error in
            guard let error = error as? VHDError, case let .vhdxLayout(reason) = error.kind else { return false }
            return reason.contains("does not fit in the file")
        }
    }

    @Test func vhdxIsNotWritableInPlace() throws {
        let folder = try TemporaryFolder()
        let path = try VHDXFixture.unpacked(TestPaths.testImage("vhdx/qemu-fixed-8M.vhdx.gz"), into: folder)
        #expect(throws: VHDError.self) { try Disk.withOpened(at: FilePath(path), options: DiskOptions(writable: true)) { _ in } }
    }

    /// Random byte changes in the metadata area (headers, region tables, BAT, metadata) either
    /// are refused with a ``VHDError`` or give a layout whose blocks all lie inside the file.
    @Test func mutatedMetadataNeverTraps() throws {
        let folder = try TemporaryFolder()
        let path = try VHDXFixture.unpacked(TestPaths.testImage("vhdx/qemu-dynamic-16M-bs1M.vhdx.gz"), into: folder)
        let base = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        var random = SeededGenerator(seed: 18)
        let hot = [0..<300, (64 << 10)..<((64 << 10) + 100), (128 << 10)..<((128 << 10) + 100), (192 << 10)..<((192 << 10) + 100),
                   (256 << 10)..<((256 << 10) + 100), (1 << 20)..<((1 << 20) + 128), (2 << 20)..<((2 << 20) + 200),
                   (3 << 20)..<((3 << 20) + 300), ((3 << 20) + (64 << 10))..<((3 << 20) + (64 << 10) + 64)]
        var opened = 0
        for _ in 0..<600 {
            var source = MutatedByteSource(base: base)
            for _ in 0..<Int.random(in: 1...3, using: &random) {
                let range = hot.randomElement(using: &random)!
                source.patches[Int.random(in: range, using: &random)] = UInt8.random(in: 0...255, using: &random)
            }
            if Int.random(in: 0..<10, using: &random) == 0 { source.length = Int.random(in: 0...base.count, using: &random) }
            do {
                let layout = try VHDXLayout(reading: source)
                opened += 1
                for block in 0..<layout.geometry.payloadBlockCount where layout.payloadEntry(block).payloadState == .fullyPresent {
                    #expect(layout.payloadEntry(block).fileOffset < UInt64(source.length))
                }
            } catch {
                continue
            }
        }
        #expect(opened > 0)
    }
}

/// A dirty log: read through the replay in memory without writing the file; `repair` writes it.
struct VHDXLogTests {
    /// qemu-dynamic-16M-bs1M with a log entry that makes block 5 fully present at 11 MiB (where
    /// 1 MiB of 0x99 is appended), as a crash after logging the BAT update would leave it.
    static func dirtyImage(in folder: TemporaryFolder) throws -> String {
        let path = try VHDXFixture.unpacked(TestPaths.testImage("vhdx/qemu-dynamic-16M-bs1M.vhdx.gz"), into: folder)
        let layout = try VHDXFixture.layout(path)
        #expect(layout.fileSize == 11 << 20)
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        bytes += [UInt8](repeating: 0x99, count: 1 << 20)
        let batOffset = Int(layout.batRegion.fileOffset)
        var sector = Array(bytes[batOffset..<(batOffset + 4096)])
        let entry = VHDXBATEntry(state: 6, fileOffsetInMiB: 11).rawValue
        withUnsafeBytes(of: entry.littleEndian) { sector.replaceSubrange(40..<48, with: $0) }
        let guid = VHDXGUID.random()
        let log = VHDXLogEntry.serialized(
            sequenceNumber: 10, logGUID: guid, flushedFileOffset: 12 << 20, lastFileOffset: 12 << 20,
            writes: [(fileOffset: UInt64(batOffset), content: sector)])
        var header = layout.header
        header.logGUID = guid
        let logOffset = Int(header.logOffset)
        bytes.replaceSubrange(logOffset..<(logOffset + log.count), with: log)
        let headerOffset = Int(VHDXHeader.offsets[layout.currentHeaderIndex])
        bytes.replaceSubrange(headerOffset..<(headerOffset + 4096), with: header.serialized())
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func dirtyLogIsReplayedInMemoryWithoutWritingTheFile() throws {
        let folder = try TemporaryFolder()
        let path = try Self.dirtyImage(in: folder)
        let before = try FileComparison.sha256(path)
        let layout = try VHDXFixture.layout(path)
        guard case .replayable(entries: 1, sequenceNumber: 10, fileSize: 12 << 20) = layout.log else {
            Issue.record("log: \(layout.log)")
            return
        }
        #expect(layout.payloadEntry(5).payloadState == .fullyPresent)
        let content = try VHDXFixture.content(path)
        #expect(content[(5 << 20)..<(6 << 20)].allSatisfy { $0 == 0x99 })
        #expect(content[0..<4096].allSatisfy { $0 == 0x44 } && content[(3 << 20)..<(4 << 20)].allSatisfy { $0 == 0x55 })
        #expect(try FileComparison.sha256(path) == before)

        // repair writes the replay: the log is then empty and the content the same.
        let changes = try HostFile.withOpened(at: FilePath(path)) { try DiskRepair.plan($0) }
        #expect(changes.count == 3)
        try DiskRepair.apply(changes, to: FilePath(path), backup: FilePath(folder.file("backup")))
        let repaired = try VHDXFixture.layout(path)
        #expect(repaired.log == .empty && repaired.warnings.isEmpty, "\(repaired.warnings)")
        #expect(try VHDXFixture.content(path) == content)
        #expect(try HostFile.withOpened(at: FilePath(path)) { try DiskRepair.plan($0) }.isEmpty)
        // qemu-img (which refuses a dirty log read-only) reads the repaired file the same.
        if let qemuImg = ExternalTool.find("qemu-img") {
            let raw = folder.file("qemu.raw")
            let result = try ExternalTool.run(qemuImg, ["convert", "-f", "vhdx", "-O", "raw", path, raw])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: raw))) == content)
        }
    }

    @Test func logEntryWithAWrongChecksumIsNotReplayed() throws {
        let folder = try TemporaryFolder()
        let path = try Self.dirtyImage(in: folder)
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        let logOffset = Int(try VHDXFixture.layout(path).header.logOffset)
        bytes[logOffset + 5000] ^= 1  // inside the entry's data sector
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let layout = try VHDXFixture.layout(path)
        #expect(layout.log == .noValidEntries)
        #expect(layout.payloadEntry(5).payloadState == .zero)
    }
}
