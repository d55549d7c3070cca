import Foundation
import SystemPackage
import TestSupport
import Testing
import VHD
import VHDFormat

/// Differencing chains two and three deep, built byte by byte, read through our reader and
/// through vhdimount.
struct ChainTests {
    static let blockSize: UInt32 = 2 << 20
    static let virtualSize: UInt64 = 5 << 20 + 1536  // a partial last block

    static func uuid(_ n: UInt64) -> VHDUUID { VHDUUID(high: 0x7668_6474_0000_4000, low: 0x8000_0000_0000_0000 | n) }

    /// Builds a chain of `depth` disks (a dynamic base and differencing children) with seeded
    /// random writes in each, and returns the path of the top one and the expected content.
    ///
    /// `alignment` (in sectors) aligns writes: libvhdi reads sector bitmaps a byte (8 sectors) at a time,
    /// so the comparison with vhdimount writes whole 4 KiB runs; our own tests write any sector.
    static func makeChain(depth: Int, in folder: TemporaryFolder, seed: UInt64, alignment: Int = 1) throws -> (top: String, content: [UInt8]) {
        var random = SeededGenerator(seed: seed)
        var content = [UInt8](repeating: 0, count: Int(virtualSize))
        var parent: (fileName: String, uniqueId: VHDUUID)?
        var top = ""
        for level in 0..<depth {
            var builder = TestDiskBuilder(virtualSize: virtualSize, blockSize: blockSize, uniqueId: uuid(UInt64(level + 1)), parent: parent)
            for _ in 0..<12 {
                let sectorCount = Int.random(in: 1...600, using: &random) / alignment * alignment + alignment  // some span blocks
                let sector = Int.random(in: 0...(Int(virtualSize) / 512 - sectorCount), using: &random) / alignment * alignment
                let byte = UInt8(level * 16 + 1) &+ UInt8.random(in: 0...15, using: &random)
                let bytes = [UInt8](repeating: byte, count: sectorCount * 512)
                builder.write(bytes, at: UInt64(sector) * 512)
                content.replaceSubrange(sector * 512..<(sector + sectorCount) * 512, with: bytes)
            }
            let name = "layer\(level).vhd"
            try builder.write(to: folder.file(name))
            parent = (name, uuid(UInt64(level + 1)))
            top = folder.file(name)
        }
        return (top, content)
    }

    @Test(arguments: [1, 2, 3])
    func chainReadsAsTheLayersWereWritten(depth: Int) throws {
        let folder = try TemporaryFolder()
        let (top, content) = try Self.makeChain(depth: depth, in: folder, seed: UInt64(depth))
        try Disk.withOpened(at: FilePath(top)) { disk in
            #expect(disk.layers.count == depth)
            #expect(firstDifference(try disk.read(at: 0, count: content.count), content) == nil)
            // Extents resolve to the layer that holds each byte, and only data is read.
            var rebuilt = [UInt8](repeating: 0, count: content.count)
            for extent in try disk.extents() where extent.isData {
                let bytes = try disk.read(at: extent.start, count: Int(extent.length))
                rebuilt.replaceSubrange(Int(extent.start)..<Int(extent.end), with: bytes)
            }
            #expect(firstDifference(rebuilt, content) == nil)
        }
    }

    @Test func chainReadsAsVhdimountReadsIt() throws {
        for depth in [2, 3] {
            let folder = try TemporaryFolder()
            let (top, content) = try Self.makeChain(depth: depth, in: folder, seed: 100 + UInt64(depth), alignment: 8)
            guard let theirs = try ExternalTool.vhdimountRead(top, layerCount: depth) else { return }
            #expect(firstDifference(theirs, content) == nil, "vhdimount disagrees with the model for depth \(depth)")
            let ours = try Disk.withOpened(at: FilePath(top)) { try $0.read(at: 0, count: content.count) }
            #expect(firstDifference(ours, theirs) == nil)
        }
    }

    @Test func parentWithAnotherUUIDIsRefusedUnlessAccepted() throws {
        let folder = try TemporaryFolder()
        try TestDiskBuilder(virtualSize: Self.virtualSize, uniqueId: Self.uuid(1)).write(to: folder.file("base.vhd"))
        try TestDiskBuilder(virtualSize: Self.virtualSize, uniqueId: Self.uuid(2), parent: ("base.vhd", Self.uuid(9)))
            .write(to: folder.file("child.vhd"))
        let error = #expect(throws: VHDError.self) { try Disk.withOpened(at: FilePath(folder.file("child.vhd"))) { _ in } }
        #expect(error?.kind == .parentMismatch(
            parent: folder.file("base.vhd"), recorded: Self.uuid(9).description, found: Self.uuid(1).description))
        let layers = try Disk.withOpened(at: FilePath(folder.file("child.vhd")), options: DiskOptions(ignoreParentUUID: true)) { disk in
            (disk.layers.count, disk.chainWarnings.count)
        }
        #expect(layers == (2, 1))
    }

    @Test func explicitParentPathWinsOverTheLocators() throws {
        let folder = try TemporaryFolder()
        var base = TestDiskBuilder(virtualSize: Self.virtualSize, uniqueId: Self.uuid(1))
        base.write([UInt8](repeating: 7, count: 512), at: 0)
        try base.write(to: folder.file("moved-base.vhd"))
        try TestDiskBuilder(virtualSize: Self.virtualSize, uniqueId: Self.uuid(2), parent: ("base.vhd", Self.uuid(1)))
            .write(to: folder.file("child.vhd"))
        #expect(throws: VHDError.self) { try Disk.withOpened(at: FilePath(folder.file("child.vhd"))) { _ in } }
        let first = try Disk.withOpened(
            at: FilePath(folder.file("child.vhd")), options: DiskOptions(parentPath: FilePath(folder.file("moved-base.vhd")))
        ) { try $0.read(at: 0, count: 2) }
        #expect(first == [7, 7])
    }

    @Test func aDiskThatIsItsOwnParentIsACycle() throws {
        let folder = try TemporaryFolder()
        try TestDiskBuilder(virtualSize: Self.virtualSize, uniqueId: Self.uuid(1), parent: ("self.vhd", Self.uuid(1)))
            .write(to: folder.file("self.vhd"))
        let error = #expect(throws: VHDError.self) { try Disk.withOpened(at: FilePath(folder.file("self.vhd"))) { _ in } }
        #expect(error?.kind == .chainCycle(at: folder.file("self.vhd")))
    }

    @Test func twoDisksNamingEachOtherAreACycle() throws {
        let folder = try TemporaryFolder()
        try TestDiskBuilder(virtualSize: Self.virtualSize, uniqueId: Self.uuid(1), parent: ("b.vhd", Self.uuid(2))).write(to: folder.file("a.vhd"))
        try TestDiskBuilder(virtualSize: Self.virtualSize, uniqueId: Self.uuid(2), parent: ("a.vhd", Self.uuid(1))).write(to: folder.file("b.vhd"))
        let error = #expect(throws: VHDError.self) { try Disk.withOpened(at: FilePath(folder.file("a.vhd"))) { _ in } }
        #expect(error?.kind == .chainCycle(at: folder.file("a.vhd")))
    }

    @Test func chainsLongerThanTheLimitAreRefused() throws {
        let folder = try TemporaryFolder()
        let (top, _) = try Self.makeChain(depth: 3, in: folder, seed: 5)
        let error = #expect(throws: VHDError.self) {
            try Disk.withOpened(at: FilePath(top), options: DiskOptions(maximumChainDepth: 2)) { _ in }
        }
        #expect(error?.kind == .chainTooDeep(limit: 2))
    }

    @Test func bytesPastASmallerParentReadAsZeros() throws {
        let folder = try TemporaryFolder()
        var base = TestDiskBuilder(virtualSize: 1 << 20, blockSize: 1 << 20, uniqueId: Self.uuid(1))
        base.write([UInt8](repeating: 3, count: 1 << 20), at: 0)
        try base.write(to: folder.file("base.vhd"))
        try TestDiskBuilder(virtualSize: 3 << 20, blockSize: 1 << 20, uniqueId: Self.uuid(2), parent: ("base.vhd", Self.uuid(1)))
            .write(to: folder.file("child.vhd"))
        try Disk.withOpened(at: FilePath(folder.file("child.vhd"))) { disk in
            let bytes = try disk.read(at: (1 << 20) - 2, count: 4)
            #expect(bytes == [3, 3, 0, 0])
            let extents = try disk.extents()
            #expect(extents.map(\.layer) == [1, 1])  // layer 1 says: past my end
        }
    }
}

/// The first offset where two byte arrays differ, with both bytes, or nil when they are equal:
/// a short failure message for megabyte-sized comparisons.
func firstDifference(_ a: [UInt8], _ b: [UInt8]) -> String? {
    if a.count != b.count { return "sizes \(a.count) and \(b.count)" }
    // memcmp: `==` on megabyte arrays is slow in a debug build.
    if a.withUnsafeBytes({ x in b.withUnsafeBytes { y in a.isEmpty || memcmp(x.baseAddress!, y.baseAddress!, a.count) == 0 } }) { return nil }
    guard let index = a.indices.first(where: { a[$0] != b[$0] }) else { return nil }
    return "offset \(index): \(a[index]) vs \(b[index])"
}
