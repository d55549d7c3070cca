import Foundation
import SystemPackage
import TestSupport
import Testing
import VHD
import VHDFormat

/// Resizing fixed, dynamic and differencing disks in place.
struct ResizeTests {
    /// Random disks grown (sometimes far enough that the BAT needs the first blocks' place),
    /// shrunk to just past their data, and refused a size that would cut data off.
    @Test(arguments: 1...12)
    func randomDisksKeepTheirContent(seed: UInt64) throws {
        var random = SeededGenerator(seed: seed * 7919)
        let folder = try TemporaryFolder()
        let path = folder.file("disk.vhd")
        let kind: ImageKind = seed % 3 == 0 ? .fixed : .dynamic
        let blockSize: UInt32 = seed % 2 == 0 ? 512 << 10 : 2 << 20
        let size = Int.random(in: 1...24, using: &random) << 20 + Int.random(in: 0...2047, using: &random) * 512
        var model = try InPlace.randomDisk(kind, size: size, blockSize: blockSize, at: path, seed: seed)

        // Grow: up to 300 MiB, so that a 512 KiB-block BAT outgrows its sector(s).
        let grown = size + Int.random(in: 1...600, using: &random) * (512 << 10) + Int.random(in: 0...1023, using: &random) * 512
        let summary = try DiskResize.resize(at: FilePath(path), to: UInt64(grown))
        model = InPlace.resized(model, to: grown)
        #expect(summary.newSize == UInt64(grown) && summary.oldSize == UInt64(size))
        try InPlace.expectNoWarnings(path, "")
        #expect(firstDifference(try InPlace.content(path), model) == nil, "after growing to \(grown)")
        let grownLayout = try layout(of: path, checksumPolicy: .verify)
        #expect(grownLayout.virtualSize == UInt64(grown))
        if let dynamic = grownLayout.dynamic {
            #expect(Int(dynamic.header.maxTableEntries) == (grown + Int(blockSize) - 1) / Int(blockSize))
        } else {
            #expect(grownLayout.fileSize == Int64(grown) + 512)
        }
        try InPlace.qemuAgrees(model, path, in: folder)

        // A size that cuts data off is refused and changes nothing.
        let end = InPlace.dataEnd(model)
        if end > 512 {
            let tooSmall = (end - 1) / 512 * 512
            let error = #expect(throws: VHDError.self) { try DiskResize.resize(at: FilePath(path), to: UInt64(tooSmall)) }
            guard case .shrinkWouldLoseData = error?.kind else { Issue.record("\(String(describing: error))"); return }
            #expect(try layout(of: path).virtualSize == UInt64(grown))
        }

        // Shrink to just past the data.
        let shrunk = max(512, (end + 511) / 512 * 512)
        _ = try DiskResize.resize(at: FilePath(path), to: UInt64(shrunk))
        model = InPlace.resized(model, to: shrunk)
        try InPlace.expectNoWarnings(path, "")
        #expect(firstDifference(try InPlace.content(path), model) == nil, "after shrinking to \(shrunk)")
        try InPlace.qemuAgrees(model, path, in: folder)
        if seed % 4 == 1, let theirs = try ExternalTool.vhdimountRead(path, layerCount: 1) {
            #expect(firstDifference(theirs, model) == nil, "vhdimount after shrinking")
        }
    }

    @Test func growingMovesTheBlocksInTheTablesWayAndTheLocators() throws {
        let folder = try TemporaryFolder()
        let base = folder.file("base.vhd")
        var model = try InPlace.randomDisk(.dynamic, size: 4 << 20, blockSize: 512 << 10, at: base, seed: 5, writes: 12)
        let output = try OutputFile.create(at: FilePath(folder.file("child.vhd")), overwrite: false)
        try DiskCreation.createDifferencing(parentPath: FilePath(base), output: output)
        try output.commit(sync: false)
        try WriteAPITests.writeRandomly(folder.file("child.vhd"), model: &model, seed: 6, count: 12, alignment: 4096)
        let before = try layout(of: folder.file("child.vhd"))
        // 1 GiB of 512 KiB blocks: 2048 entries, 16 sectors of table instead of 1.
        let summary = try DiskResize.resize(at: FilePath(folder.file("child.vhd")), to: 1 << 30)
        #expect(summary.movedLocators == 2)
        #expect(summary.movedBlocks >= 1)
        let after = try layout(of: folder.file("child.vhd"), checksumPolicy: .verify)
        #expect(after.dynamic?.locators.map(\.path) == before.dynamic?.locators.map(\.path))
        #expect(after.dynamic?.header.maxTableEntries == 2048)
        model = InPlace.resized(model, to: 1 << 30)
        #expect(firstDifference(try InPlace.content(folder.file("child.vhd")), model) == nil)
        // Past the parent's end the child reads zeros. (vhdimount, libvhdi 20210425, fails
        // with an I/O error reading a child larger than its parent, so it is not asked.)
    }

    @Test func growingAChildOverItsParentsDataIsRefused() throws {
        let folder = try TemporaryFolder()
        var base = TestDiskBuilder(virtualSize: 8 << 20, uniqueId: ChainTests.uuid(1))
        base.write([UInt8](repeating: 9, count: 4096), at: 7 << 20)
        try base.write(to: folder.file("base.vhd"))
        try TestDiskBuilder(virtualSize: 6 << 20, uniqueId: ChainTests.uuid(2), parent: ("base.vhd", ChainTests.uuid(1)))
            .write(to: folder.file("child.vhd"))
        let error = #expect(throws: VHDError.self) { try DiskResize.resize(at: FilePath(folder.file("child.vhd")), to: 8 << 20) }
        #expect(error?.description.contains("offset 7340032") == true, "\(String(describing: error))")
        _ = try DiskResize.resize(at: FilePath(folder.file("child.vhd")), to: 7 << 20)  // up to the data: fine
        #expect(try InPlace.content(folder.file("child.vhd")) == [UInt8](repeating: 0, count: 7 << 20))
    }

    @Test func aPartialLastBlockGrowsWithZeros() throws {
        let folder = try TemporaryFolder()
        // QEMU-style all-ones bitmap in the last block, whose file space past the old end holds junk.
        var builder = TestDiskBuilder(virtualSize: 3 << 20 + 512, uniqueId: ChainTests.uuid(3))
        builder.write([UInt8](repeating: 4, count: 512), at: 3 << 20)
        var bytes = builder.serialized()
        let blockStart = bytes.count - 512 - (2 << 20)  // the last block's data
        for index in (blockStart + (1 << 20) + 512)..<(bytes.count - 512) { bytes[index] = 0xEE }
        bytes.replaceSubrange((blockStart - 512)..<blockStart, with: [UInt8](repeating: 0xFF, count: 512))
        try Data(bytes).write(to: URL(fileURLWithPath: folder.file("disk.vhd")))
        _ = try DiskResize.resize(at: FilePath(folder.file("disk.vhd")), to: 4 << 20)
        var expected = [UInt8](repeating: 0, count: 4 << 20)
        expected.replaceSubrange((3 << 20)..<((3 << 20) + 512), with: [UInt8](repeating: 4, count: 512))
        #expect(firstDifference(try InPlace.content(folder.file("disk.vhd")), expected) == nil)
    }

    /// Stopped before each of its writes, a resize leaves a disk that opens with the old size
    /// and content or the new.
    @Test(arguments: [(ImageKind.fixed, 40 << 20), (.fixed, 1 << 20), (.dynamic, 300 << 20), (.dynamic, 1 << 20)])
    func anInterruptedResizeLeavesTheOldOrTheNewDisk(kind: ImageKind, newSize: Int) throws {
        let folder = try TemporaryFolder()
        let original = folder.file("original.vhd")
        var model = try InPlace.randomDisk(kind, size: 5 << 20 + 1024, blockSize: 512 << 10, at: original, seed: 77, writes: 10)
        if newSize < model.count {
            try Disk.withOpened(at: FilePath(original), options: DiskOptions(writable: true)) { disk in
                try disk.write([UInt8](repeating: 0, count: model.count - newSize), at: UInt64(newSize))
            }
            model.replaceSubrange(newSize..., with: [UInt8](repeating: 0, count: model.count - newSize))
        }
        let oldModel = model
        let newModel = InPlace.resized(model, to: newSize)
        var sawNew = false
        let writes = try InPlace.interruptEverywhere(original, in: folder, operation: { path, options in
            _ = try DiskResize.resize(at: FilePath(path), to: UInt64(newSize), options: options)
        }, check: { path, stop in
            let content = try InPlace.content(path)
            #expect(content == oldModel || content == newModel, "stopped before write \(stop): \(content.count) bytes")
            if content.count == newSize { sawNew = true }
            // And it resizes from there.
            _ = try DiskResize.resize(at: FilePath(path), to: UInt64(newSize))
            #expect(try InPlace.content(path) == newModel, "resumed after write \(stop)")
            try InPlace.expectNoWarnings(path, "resumed after write \(stop): ")
        })
        #expect(writes >= 3)
        #expect(sawNew || kind == .fixed)
    }
}
