import Foundation
import SystemPackage
import TestSupport
import Testing
import VHD
import VHDFormat

/// What the copy engine reads and writes: only stored bytes, only non-zero granules, in pieces
/// that respect chunk and block boundaries.
struct CopyEngineTests {
    /// A dynamic disk (2 MiB blocks) with 4 KiB of data written in place: its block is
    /// allocated but the host file holds only that page of it.
    static func diskWithOnePageInABlock(in folder: TemporaryFolder) throws -> (path: String, model: [UInt8]) {
        let path = folder.file("source.vhd")
        let size = 8 << 20
        try WriteAPITests.create(.dynamic, size: UInt64(size), at: path)
        var model = [UInt8](repeating: 0, count: size)
        let page = (0..<4096).map { UInt8(truncatingIfNeeded: $0 * 7 + 1) }
        let offset = (3 << 20) + 8192
        try Disk.withOpened(at: FilePath(path), options: DiskOptions(writable: true)) { disk in
            try disk.write(page, at: UInt64(offset))
            try disk.flush()
        }
        model.replaceSubrange(offset..<(offset + page.count), with: page)
        return (path, model)
    }

    static func convert(_ source: String, to kind: ImageKind, at destination: String, options: CopyOptions = CopyOptions()) throws -> CopySummary {
        try Disk.withOpened(at: FilePath(source)) { disk in
            let output = try OutputFile.create(at: FilePath(destination), overwrite: true)
            let summary = try DiskConversion.convert(disk, to: kind, output: output, options: options)
            try output.commit(sync: false)
            return summary
        }
    }

    static func contents(of path: String) throws -> [UInt8] {
        try Disk.withOpened(at: FilePath(path)) { disk in try disk.read(at: 0, count: Int(disk.virtualSize)) }
    }

    static func hostAllocatedBytes(_ path: String) throws -> Int {
        var status = stat()
        guard stat(path, &status) == 0 else { throw POSIXError(.ENOENT) }
        return Int(status.st_blocks) * 512
    }

    /// qemu-img allocates a block with every bitmap bit set and writes only what it was given:
    /// the extent map shows the whole block as data, the host file holds one page of it.
    @Test func hostHolesInsideAllocatedBlocksAreNotRead() throws {
        guard let qemuImg = ExternalTool.find("qemu-img"), let qemuIO = ExternalTool.find("qemu-io") else {
            if ProcessInfo.processInfo.environment["VHDTOOL_REQUIRE_ORACLES"] == "1" { Issue.record("qemu-img or qemu-io missing") }
            return
        }
        let folder = try TemporaryFolder()
        let source = folder.file("qemu.vhd")
        #expect(try ExternalTool.run(qemuImg, ["create", "-f", "vpc", "-o", "subformat=dynamic", source, "8M"]).status == 0)
        #expect(try ExternalTool.run(qemuIO, ["-f", "vpc", "-c", "write -P 0xab 3080k 4k", source]).status == 0)
        var model = [UInt8](repeating: 0, count: Int(try Disk.withOpened(at: FilePath(source)) { $0.virtualSize }))
        model.replaceSubrange((3080 << 10)..<(3084 << 10), with: repeatElement(0xAB, count: 4096))
        let dataInMap = try Disk.withOpened(at: FilePath(source)) { disk in
            try disk.extents().filter(\.isData).reduce(0) { $0 + $1.length }
        }
        #expect(dataInMap >= 1 << 20, "the extent map shows the whole allocated block as data")

        let raw = try Self.convert(source, to: .raw, at: folder.file("out.raw"))
        // The pages of the host file around the data (qemu's data is not page-aligned there),
        // not the 2 MiB block.
        #expect(raw.bytesRead <= 3 * 4096)
        #expect(raw.bytesWritten == 4096)
        let rawBytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: folder.file("out.raw"))))
        #expect(firstDifference(rawBytes, model) == nil)
    }

    @Test func dynamicOutputWritesOnlyTheBitmapAndNonZeroPages() throws {
        let folder = try TemporaryFolder()
        let (source, model) = try Self.diskWithOnePageInABlock(in: folder)
        let summary = try Self.convert(source, to: .dynamic, at: folder.file("out.vhd"))
        #expect(summary.bytesWritten == 512 + 4096)
        #expect(try Self.hostAllocatedBytes(folder.file("out.vhd")) <= 64 << 10, "the rest of the block is a hole")
        let reread = try Self.contents(of: folder.file("out.vhd"))
        #expect(firstDifference(reread, model) == nil)
        if let qemuImg = ExternalTool.find("qemu-img") {
            let compare = try ExternalTool.run(qemuImg, ["compare", "-f", "vpc", "-F", "vpc", source, folder.file("out.vhd")])
            #expect(compare.status == 0, "qemu-img compare: \(compare.stdout)")
        }
    }

    /// Small chunks and block sizes make pieces end at every kind of boundary: chunk, block,
    /// extent, stored range.
    @Test(arguments: [(ImageKind.raw, 4096), (.dynamic, 4096), (.fixed, 65536), (.dynamic, 3 * 4096)])
    func smallChunksCopyTheSameBytes(kind: ImageKind, chunkSize: Int) throws {
        let folder = try TemporaryFolder()
        let size = 5 << 20 + 1536
        try WriteAPITests.create(.dynamic, size: UInt64(size), at: folder.file("source.vhd"), blockSize: 512 << 10)
        var model = [UInt8](repeating: 0, count: size)
        try WriteAPITests.writeRandomly(folder.file("source.vhd"), model: &model, seed: UInt64(chunkSize), count: 20)
        let summary = try Self.convert(
            folder.file("source.vhd"), to: kind, at: folder.file("out.img"), options: CopyOptions(chunkSize: chunkSize))
        #expect(summary.bytesRead <= UInt64(size))
        let reread = try Self.contents(of: folder.file("out.img"))
        #expect(firstDifference(reread, model) == nil)
    }

    /// A block assembled from pieces smaller than a page (a child's single sector over its
    /// parent) is written page by page: the page must hold zeros around that sector, not what
    /// the block before left in the assembly buffer.
    @Test func assembledBlocksCarryNothingOfTheBlockBefore() throws {
        let folder = try TemporaryFolder()
        let size = 4 << 20
        try WriteAPITests.create(.dynamic, size: UInt64(size), at: folder.file("base.vhd"))
        var model = [UInt8](repeating: 0, count: size)
        let page = [UInt8](repeating: 0xAB, count: 4096)  // block 0: one page, the rest a hole
        try Disk.withOpened(at: FilePath(folder.file("base.vhd")), options: DiskOptions(writable: true)) { disk in
            try disk.write(page, at: 0)
            try disk.flush()
        }
        model.replaceSubrange(0..<4096, with: page)
        let output = try OutputFile.create(at: FilePath(folder.file("child.vhd")), overwrite: false)
        try DiskCreation.createDifferencing(parentPath: FilePath(folder.file("base.vhd")), output: output)
        try output.commit(sync: false)
        let sector = [UInt8](repeating: 0xCD, count: 512)  // block 1: its second sector only
        try Disk.withOpened(at: FilePath(folder.file("child.vhd")), options: DiskOptions(writable: true)) { disk in
            try disk.write(sector, at: UInt64(2 << 20) + 512)
            try disk.flush()
        }
        model.replaceSubrange(((2 << 20) + 512)..<((2 << 20) + 1024), with: sector)

        _ = try Self.convert(folder.file("child.vhd"), to: .dynamic, at: folder.file("out.vhd"))
        #expect(firstDifference(try Self.contents(of: folder.file("out.vhd")), model) == nil)
        // Whatever a reader makes of bitmap bits, the blocks (after the metadata, before the
        // footer: both hold a random UUID) hold the page once and the sector once.
        let file = try [UInt8](Data(contentsOf: URL(fileURLWithPath: folder.file("out.vhd"))))
        let blocks = file[4096..<(file.count - 512)]
        #expect(blocks.count { $0 == 0xAB } == 4096)
        #expect(blocks.count { $0 == 0xCD } == 512)
    }
}
