import Foundation
import SystemPackage
import TestSupport
import Testing
import VHD

/// Gzip-compressed images given to the readers: decompressed into an anonymous temporary file
/// (bounded by a limit when one is set), or named as gzip where a reader does not decompress.
struct GzipInputTests {
    static let image = TestPaths.testImage("vhdx/qemu-fixed-8M.vhdx.gz")

    @Test func diskImageReadsACompressedVHDX() throws {
        let layout = try DiskImage.withOpened(at: FilePath(Self.image)) { try #require($0.vhdxLayout) }
        #expect(layout.virtualSize == 8 << 20 && layout.diskKind == .fixed)
        // The name in messages stays the compressed file's.
        let name = try DiskImage.withOpened(at: FilePath(Self.image)) { $0.file.name }
        #expect(name == Self.image)
    }

    @Test func decompressionStopsAtTheLimitSet() throws {
        let limited = DiskOptions(maximumDecompressedSize: 1 << 20)
        #expect {
            try Disk.withOpened(at: FilePath(Self.image), options: limited) { _ in }
        } throws: { error in
            guard let error = error as? VHDError, case .refused = error.kind else { return false }
            return error.description.contains("larger than the limit of 1048576 bytes")
        }
        // The 24 MiB file fits a limit of its size exactly.
        let exact = DiskOptions(maximumDecompressedSize: 24 << 20)
        #expect(try Disk.withOpened(at: FilePath(Self.image), options: exact) { $0.virtualSize } == 8 << 20)
    }

    /// A reader given the compressed bytes themselves says what they are.
    @Test func layoutOfCompressedBytesNamesGzip() throws {
        let folder = try TemporaryFolder()
        let compressed = folder.file("fixed-1M.vhd.gz")
        let result = try ExternalTool.run(try #require(ExternalTool.find("gzip")), ["-c", TestPaths.testImage("fixed-1M.vhd")], stdoutTo: compressed)
        #expect(result.status == 0)
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: compressed)))
        #expect {
            try VHDLayout(reading: MemoryByteSource(name: "fixed-1M.vhd.gz", contents: bytes))
        } throws: { error in
            (error as? VHDError)?.description == "fixed-1M.vhd.gz is not a VHD: it is gzip-compressed; decompress it first (gunzip -k)"
        }
        // Opened as a disk, it is decompressed and reads as the original.
        let original = try Disk.withOpened(at: FilePath(TestPaths.testImage("fixed-1M.vhd"))) { try $0.read(at: 0, count: Int($0.virtualSize)) }
        #expect(try Disk.withOpened(at: FilePath(compressed)) { try $0.read(at: 0, count: Int($0.virtualSize)) } == original)
    }

    /// A fixed VHD whose data starts with the gzip magic is a VHD, not gzip.
    @Test func fixedVHDStartingWithTheMagicIsAVHD() throws {
        let folder = try TemporaryFolder()
        let path = folder.file("magic.vhd")
        try FileManager.default.copyItem(atPath: TestPaths.testImage("fixed-1M.vhd"), toPath: path)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.write(contentsOf: [0x1F, 0x8B, 0x08, 0x00])
        try handle.close()
        #expect(try DiskImage.withOpened(at: FilePath(path)) { $0.format } == .vhd)
        #expect(try Disk.withOpened(at: FilePath(path)) { try $0.read(at: 0, count: 4) } == [0x1F, 0x8B, 0x08, 0x00])
    }
}
