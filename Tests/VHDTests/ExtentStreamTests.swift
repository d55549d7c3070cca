import Foundation
import SystemPackage
import TestSupport
import Testing
import VHD

/// The extent map as a stream: the same extents as the arrays of small ranges, and every
/// operation that walks a disk right on a disk whose sector bitmaps alternate bits (a data
/// and a zero extent per sector).
struct ExtentStreamTests {
    /// Extents of `disk` gathered window by window with ``Disk/extents(in:)`` and merged here:
    /// walks that start anywhere, joined again.
    static func windowedExtents(of disk: Disk, window: UInt64) throws -> [Extent] {
        var merged: [Extent] = []
        var start: UInt64 = 0
        while start < disk.virtualSize {
            let end = min(disk.virtualSize, start + window)
            for extent in try disk.extents(in: start..<end) {
                if let last = merged.last, last.end == extent.start, sameKindContinued(last, extent) {
                    merged[merged.count - 1].length += extent.length
                } else {
                    merged.append(extent)
                }
            }
            start = end
        }
        return merged
    }

    static func sameKindContinued(_ a: Extent, _ b: Extent) -> Bool {
        switch (a.source, b.source) {
        case let (.zero(x), .zero(y)): x == y
        case let (.data(x, offset), .data(y, next)): x == y && offset + Int64(a.length) == next
        default: false
        }
    }

    static func streamed(_ disk: Disk) throws -> [Extent] {
        var extents: [Extent] = []
        try disk.forEachExtent { extents.append($0) }
        return extents
    }

    @Test(arguments: validTestImages)
    func streamEqualsWindowedArrays(_ name: String) throws {
        try Disk.withOpened(at: FilePath(TestPaths.testImage(name))) { disk in
            let streamed = try Self.streamed(disk)
            #expect(streamed == (try disk.extents()))
            #expect(streamed == (try Self.windowedExtents(of: disk, window: 1536 * 1024 + 512)))
        }
    }

    /// 1000 blocks of a 2 GiB disk, each bitmap alternating: 4 million extents.
    @Test func fragmentedDiskStreamsEveryExtent() throws {
        let folder = try TemporaryFolder()
        let path = folder.file("fragmented.vhd")
        try FragmentedDisk.create(at: path, virtualSize: 2 << 30, blockCount: 1000)
        try Disk.withOpened(at: FilePath(path)) { disk in
            let streamed = try Self.streamed(disk)
            let data = streamed.filter(\.isData)
            #expect(data.count == 1000 * 2048)
            #expect(data.allSatisfy { $0.length == 512 })
            #expect(streamed.count >= 1000 * 4096 - 1000)
            #expect(streamed == (try Self.windowedExtents(of: disk, window: 3 << 20)))
            for (previous, next) in zip(streamed, streamed.dropFirst()) { #expect(previous.end == next.start) }
            #expect(streamed.last?.end == disk.virtualSize)
        }
    }

    /// Data areas left as holes: the disk reads as zeros everywhere.
    @Test func fragmentedDiskOfHolesMeasuresAndCopiesAsZeros() throws {
        let folder = try TemporaryFolder()
        let path = folder.file("fragmented.vhd")
        try FragmentedDisk.create(at: path, virtualSize: 2 << 30, blockCount: 1000)
        try WriteAPITests.create(.dynamic, size: 2 << 30, at: folder.file("empty.vhd"))
        #expect(try ContentDigestTests.digest(path) == ContentDigestTests.digest(folder.file("empty.vhd")))
        let occupied = try Disk.withOpened(at: FilePath(path)) { try OccupiedSize.measure($0) }
        #expect(occupied.nonZeroBytes == 0)
        #expect(occupied.writtenBytes == 1000 * (1 << 20))
        #expect(occupied.allocatedBytes == 1000 * (2 << 20))
        _ = try CopyEngineTests.convert(path, to: .dynamic, at: folder.file("out.vhd"))
        let copied = try Disk.withOpened(at: FilePath(folder.file("out.vhd"))) { try OccupiedSize.measure($0) }
        #expect(copied.allocatedBytes == 0)
        let raw = try CopyEngineTests.convert(path, to: .raw, at: folder.file("out.raw"))
        // Only the host pages holding a bitmap also hold some of the data area (zeros).
        #expect(raw.bytesRead <= 1000 * 8192 && raw.bytesWritten == 0)
    }

    /// Data areas full of 0xC3: set sectors read 0xC3, clear ones zeros, although the bytes
    /// between are read in one piece.
    @Test(arguments: [4 << 20, 64 << 10, 12 << 10])
    func fragmentedDiskWithDataCopiesTheSectorsItMarks(chunkSize: Int) throws {
        let folder = try TemporaryFolder()
        let path = folder.file("fragmented.vhd")
        let size = 48 << 20  // 24 blocks, 16 allocated: even and odd ones, some adjacent
        try FragmentedDisk.create(at: path, virtualSize: UInt64(size), blockCount: 16, dataByte: 0xC3)
        var model = [UInt8](repeating: 0, count: size)
        for index in 0..<16 {
            let blockIndex = index * 24 / 16
            for sector in 0..<4096 where (sector % 2 == 1) == (blockIndex % 2 == 0) {
                let start = blockIndex * (2 << 20) + sector * 512
                model.replaceSubrange(start..<(start + 512), with: repeatElement(0xC3, count: 512))
            }
        }
        #expect(try CopyEngineTests.contents(of: path) == model)
        let options = CopyOptions(chunkSize: chunkSize)
        for kind in ImageKind.allCases {
            let output = folder.file("out.\(kind)")
            _ = try CopyEngineTests.convert(path, to: kind, at: output, options: options)
            #expect(try CopyEngineTests.contents(of: output) == model, "\(kind)")
        }
        try Data(model).write(to: URL(fileURLWithPath: folder.file("model.raw")))
        let digest = try Disk.withOpened(at: FilePath(path)) { try $0.contentDigest(options: options) }
        #expect(try digest == ContentDigestTests.digest(folder.file("model.raw")))
        let occupied = try Disk.withOpened(at: FilePath(path)) { try OccupiedSize.measure($0, options: options) }
        #expect(occupied.nonZeroBytes == 16 * (1 << 20))
        let blocks = try Disk.withOpened(at: FilePath(path)) { try OccupiedSize.measure($0, granularity: .block, options: options) }
        #expect(blocks.nonZeroBytes == 16 * (2 << 20))
    }
}
