import Foundation
import SystemPackage
import TestSupport
import Testing
import VHD
import VHDFormat

/// Merging differencing disks into their ancestors.
struct MergeTests {
    /// Builds a chain of `depth` (sector-granular writes in every layer), merges its top into
    /// `destination` and checks the target against what the top read.
    static func mergeChain(depth: Int, seed: UInt64, intoBase: Bool) throws {
        let folder = try TemporaryFolder()
        let chain = try ChainTests.makeChain(depth: depth, in: folder, seed: seed)
        let target = folder.file(intoBase ? "layer0.vhd" : "layer\(depth - 2).vhd")
        // The chain's size (5 MiB + 1536) is no CHS product: its layers warn so from the start.
        let warningsBefore = try InPlace.warnings(target)
        let summary = try DiskMerge.merge(at: FilePath(chain.top), into: intoBase ? .base : .parent)
        let removedCount = intoBase ? depth - 1 : 1
        #expect(summary.target == target)
        #expect(summary.removed.count == removedCount)
        #expect(!FileManager.default.fileExists(atPath: chain.top))
        let merged = try InPlace.content(target)
        #expect(firstDifference(merged, chain.content) == nil, "seed \(seed)")
        let warningsAfter = try InPlace.warnings(target)
        #expect(warningsAfter == warningsBefore, "seed \(seed)")
        if depth == 2 || intoBase {
            // qemu-img reads such a disk (creator "vhdt") as its CHS size.
            let qemuSize = DiskGeometry(forSizeInBytes: ChainTests.virtualSize).sizeInBytes
            try InPlace.qemuAgrees(InPlace.resized(chain.content, to: Int(qemuSize)), target, in: folder)
        }
    }

    @Test(arguments: 1...4)
    func aChildMergesIntoItsParent(seed: Int) throws {
        try Self.mergeChain(depth: 2, seed: UInt64(seed) * 13, intoBase: false)
        try Self.mergeChain(depth: 3, seed: UInt64(seed) * 17, intoBase: false)
    }

    @Test(arguments: 1...4)
    func aChainCollapsesIntoItsBase(seed: Int) throws {
        try Self.mergeChain(depth: 3, seed: UInt64(seed) * 19, intoBase: true)
    }

    @Test func mergingIntoAMiddleLayerLeavesTheBaseAlone() throws {
        let folder = try TemporaryFolder()
        let chain = try ChainTests.makeChain(depth: 3, in: folder, seed: 99)
        let base = try FileComparison.sha256(folder.file("layer0.vhd"))
        _ = try DiskMerge.merge(at: FilePath(chain.top), into: .ancestor(FilePath(folder.file("layer1.vhd"))))
        let after = try FileComparison.sha256(folder.file("layer0.vhd"))
        #expect(after == base)
        let merged = try InPlace.content(folder.file("layer1.vhd"))
        #expect(firstDifference(merged, chain.content) == nil)
    }

    @Test func zerosInTheChildOverrideTheParent() throws {
        let folder = try TemporaryFolder()
        let model = try ReparentTests.chain(in: folder, seed: 5)
        try Disk.withOpened(at: FilePath(folder.file("child.vhd")), options: DiskOptions(writable: true)) { disk in
            try disk.write([UInt8](repeating: 0, count: 6 << 20), at: 0)
        }
        let parentHoldsData = try InPlace.content(folder.file("base.vhd")).contains(where: { $0 != 0 })
        #expect(parentHoldsData && model.count == 6 << 20)
        _ = try DiskMerge.merge(at: FilePath(folder.file("child.vhd")))
        let merged = try InPlace.content(folder.file("base.vhd"))
        #expect(merged == [UInt8](repeating: 0, count: 6 << 20))
    }

    @Test func otherChildrenAreRefusedUnlessForced() throws {
        let folder = try TemporaryFolder()
        let model = try ReparentTests.chain(in: folder, seed: 7)
        let output = try OutputFile.create(at: FilePath(folder.file("sibling.vhd")), overwrite: false)
        try DiskCreation.createDifferencing(parentPath: FilePath(folder.file("base.vhd")), output: output)
        try output.commit(sync: false)
        let error = #expect(throws: VHDError.self) { _ = try DiskMerge.merge(at: FilePath(folder.file("child.vhd"))) }
        let message = error?.description ?? ""
        #expect(message.contains("sibling.vhd"), "\(message)")
        let summary = try DiskMerge.merge(at: FilePath(folder.file("child.vhd")), force: true, removeMerged: false)
        #expect(summary.removed.isEmpty)
        let base = try InPlace.content(folder.file("base.vhd"))
        let child = try InPlace.content(folder.file("child.vhd"))  // kept: still reads the same
        #expect(base == model)
        #expect(child == model)
    }

    @Test func aLargerChildGrowsItsParent() throws {
        let folder = try TemporaryFolder()
        let model = try ReparentTests.chain(in: folder, seed: 8)
        _ = try DiskResize.resize(at: FilePath(folder.file("child.vhd")), to: 10 << 20)
        try Disk.withOpened(at: FilePath(folder.file("child.vhd")), options: DiskOptions(writable: true)) { disk in
            try disk.write([UInt8](repeating: 0x42, count: 8192), at: 9 << 20)
        }
        let expected = InPlace.resized(model, to: 9 << 20) + [UInt8](repeating: 0x42, count: 8192)
            + [UInt8](repeating: 0, count: (1 << 20) - 8192)
        let summary = try DiskMerge.merge(at: FilePath(folder.file("child.vhd")))
        #expect(summary.targetGrownFrom == 6 << 20)
        let merged = try InPlace.content(folder.file("base.vhd"))
        #expect(merged == expected)
    }

    /// Merges `path` into its parent, stopped before write `stop`; whether it completed.
    static func merge(_ path: String, stoppingBefore stop: Int) throws -> Bool {
        var options = InPlaceOptions()
        options.failBeforeWrite = stop
        // Not `catch let error as VHDError where error.kind == .cancelled`: a conditional catch
        // around a typed-throws call, in a function with a `var` local, crashes Swift 6.3.1
        // (signal 11 in SIL pass MandatoryAllocBoxToStack, StackNesting::fixNesting).
        do {
            _ = try DiskMerge.merge(at: FilePath(path), removeMerged: false, options: options)
            return true
        } catch {
            guard error.kind == .cancelled else { throw error }
            return false
        }
    }

    /// One interrupted run: the child reads as before; merging again finishes.
    static func interruptedMerge(stop: Int, base: Data, folder: TemporaryFolder, top: String, content: [UInt8]) throws -> Bool {
        try base.write(to: URL(fileURLWithPath: folder.file("layer0.vhd")))
        if try merge(top, stoppingBefore: stop) { return true }
        let child = try InPlace.content(top)
        #expect(firstDifference(child, content) == nil, "stopped before write \(stop)")
        _ = try DiskMerge.merge(at: FilePath(top), removeMerged: false)
        let merged = try InPlace.content(folder.file("layer0.vhd"))
        #expect(firstDifference(merged, content) == nil, "resumed after \(stop)")
        return false
    }

    /// Stopped before each write into the target, the child still reads as before.
    @Test func anInterruptedMergeLeavesTheChildIntact() throws {
        let folder = try TemporaryFolder()
        let chain = try ChainTests.makeChain(depth: 2, in: folder, seed: 4242)
        let base = try Data(contentsOf: URL(fileURLWithPath: folder.file("layer0.vhd")))
        let stops = try (0..<200).first { stop in
            try Self.interruptedMerge(stop: stop, base: base, folder: folder, top: chain.top, content: chain.content)
        }
        #expect((stops ?? 0) > 2)
    }
}
