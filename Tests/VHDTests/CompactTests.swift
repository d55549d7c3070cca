import Foundation
import SystemPackage
import TestSupport
import Testing
import VHD
import VHDFormat

/// Compacting dynamic and differencing disks.
struct CompactTests {
    @Test(arguments: 1...8)
    func randomDynamicDisksKeepTheirContentAndLoseTheirZeroBlocks(seed: UInt64) throws {
        let folder = try TemporaryFolder()
        let path = folder.file("disk.vhd")
        let blockSize: UInt32 = seed % 2 == 0 ? 512 << 10 : 2 << 20
        var model = try InPlace.randomDisk(.dynamic, size: 12 << 20 + 1536, blockSize: blockSize, at: path, seed: seed, writes: 25)
        // Zeros over written blocks: they stay allocated until compacted.
        try Disk.withOpened(at: FilePath(path), options: DiskOptions(writable: true)) { disk in
            try disk.write([UInt8](repeating: 0, count: 3 << 20), at: 4 << 20)
        }
        model.replaceSubrange((4 << 20)..<(7 << 20), with: [UInt8](repeating: 0, count: 3 << 20))
        let before = try layout(of: path, checksumPolicy: .verify)
        let summary = try DiskCompaction.compact(at: FilePath(path))
        let after = try layout(of: path, checksumPolicy: .verify)
        #expect(after.footer.uniqueId == before.footer.uniqueId && after.virtualSize == before.virtualSize)
        #expect(after.dynamic?.blockSize == before.dynamic?.blockSize)
        #expect(summary.newAllocatedBlocks <= summary.oldAllocatedBlocks)
        #expect(summary.newFileSize == after.fileSize && summary.oldFileSize == before.fileSize)
        try InPlace.expectNoWarnings(path)
        #expect(firstDifference(try InPlace.content(path), model) == nil)
        // Every block left holds a non-zero byte.
        let size = UInt64(blockSize)
        for (index, entry) in (after.dynamic?.table.entries ?? []).enumerated() where entry != BlockAllocationTable.unallocated {
            let start = Int(UInt64(index) * size)
            let holdsData = model[start..<min(start + Int(size), model.count)].contains(where: { $0 != 0 })
            #expect(holdsData, "block \(index) is all zeros")
        }
        try InPlace.qemuAgrees(model, path, in: folder)
        // No temporary file is left beside it.
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix("partial") }.isEmpty)
    }

    /// A child's zero sectors stay where the parent holds data and go where it reads zeros.
    @Test(arguments: 1...4)
    func aChildsZerosOverParentDataStay(seed: UInt64) throws {
        let folder = try TemporaryFolder()
        var model = try ReparentTests.chain(in: folder, seed: seed * 101)
        let child = folder.file("child.vhd")
        var random = SeededGenerator(seed: seed)
        try Disk.withOpened(at: FilePath(child), options: DiskOptions(writable: true)) { disk in
            for _ in 0..<8 {
                let offset = Int.random(in: 0..<(model.count / 4096 - 64), using: &random) * 4096
                let count = Int.random(in: 1...64, using: &random) * 4096
                try disk.write([UInt8](repeating: 0, count: count), at: UInt64(offset))
                model.replaceSubrange(offset..<(offset + count), with: [UInt8](repeating: 0, count: count))
            }
        }
        let parent = try InPlace.content(folder.file("base.vhd"))
        let beforeChild = try layout(of: child)
        _ = try DiskCompaction.compact(at: FilePath(child))
        #expect(firstDifference(try InPlace.content(child), model) == nil)
        #expect(try InPlace.content(folder.file("base.vhd")) == parent)
        let afterChild = try layout(of: child, checksumPolicy: .verify)
        #expect(afterChild.dynamic?.header.parentUniqueId == beforeChild.dynamic?.header.parentUniqueId)
        #expect(afterChild.dynamic?.header.parentName == beforeChild.dynamic?.header.parentName)
        #expect(afterChild.dynamic?.locators.map(\.path) == beforeChild.dynamic?.locators.map(\.path))
        #expect(afterChild.footer.uniqueId == beforeChild.footer.uniqueId)
        // Each stored sector changes what the child reads: non-zero, or zero over parent data.
        try Disk.withOpened(at: FilePath(child)) { disk in
            for extent in try disk.extents() where extent.layer == 0 && extent.isData {
                for sector in stride(from: Int(extent.start), to: Int(extent.end), by: 512) {
                    let mine = model[sector..<(sector + 512)].contains(where: { $0 != 0 })
                    let theirs = parent[sector..<(sector + 512)].contains(where: { $0 != 0 })
                    #expect(mine || theirs, "sector at \(sector) changes nothing")
                }
            }
        }
        if let theirs = try ExternalTool.vhdimountRead(child, layerCount: 2) {
            #expect(firstDifference(theirs, model) == nil, "vhdimount")
        }
    }

    @Test func fixedDisksAreRefusedWithAWayOut() throws {
        let folder = try TemporaryFolder()
        try WriteAPITests.create(.fixed, size: 1 << 20, at: folder.file("fixed.vhd"))
        let error = #expect(throws: VHDError.self) { try DiskCompaction.compact(at: FilePath(folder.file("fixed.vhd"))) }
        #expect(error?.description.contains("convert it to a dynamic disk") == true)
    }

    @Test func aStoppedCompactionLeavesTheDiskAsItWas() throws {
        let folder = try TemporaryFolder()
        let path = folder.file("disk.vhd")
        _ = try InPlace.randomDisk(.dynamic, size: 16 << 20, blockSize: 512 << 10, at: path, seed: 4, writes: 20)
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        for stopAfter in [0, 1, 5] {
            let counter = Counter()
            let options = CopyOptions(isCancelled: { counter.next() > stopAfter }, chunkSize: 1 << 20)
            #expect(throws: VHDError.self) { try DiskCompaction.compact(at: FilePath(path), copy: options) }
            #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
            #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["disk.vhd"])
        }
    }
}

/// Counts calls (a cancellation test's clock).
final class Counter: @unchecked Sendable {
    private var count = 0
    func next() -> Int {
        count += 1
        return count
    }
}
