import Foundation
import SystemPackage
import TestSupport
import Testing
import VHD
import VHDFormat
import VHDXFormat

/// Chains that mix VHD and VHDX both ways: a VHDX child of a VHD, a VHD child of a VHDX, and
/// the three together (base.vhd <- mid.vhdx <- top.vhd). The bases are made and written by
/// qemu-img/qemu-io; qemu makes no mixed chain, so the children are made by the library's
/// writers (a VHDX child's blocks, fully and partially present, patched in by hand here). Each
/// layer's view is compared with content computed here from what was written, byte by byte.
struct VHDXMixedChainTests {
    static let size = 16 << 20
    static let sector = 512

    /// One write: `count` bytes of `byte` at `offset`.
    struct Fill {
        var offset: Int
        var count: Int
        var byte: UInt8
    }

    /// What qemu-io writes into each base (and so what it holds).
    static let baseFills = [
        Fill(offset: 0, count: 2 << 20, byte: 0x11),  // all of block 0
        Fill(offset: (4 << 20) + 512, count: 3584, byte: 0x22),  // sectors 1-7 of block 2
        Fill(offset: size - 4096, count: 4096, byte: 0x33),  // the last 4 KiB (block 7)
    ]

    /// What the library writes into the top VHD child, sector-aligned.
    static let topFills = [
        Fill(offset: 1 << 20, count: 512, byte: 0x66),  // inside block 0: the rest is the chain's
        Fill(offset: (4 << 20) + 1024, count: 512, byte: 0x77),  // sector 2 of block 2
        Fill(offset: 10 << 20, count: 4096, byte: 0x88),  // over zeros
    ]

    static func apply(_ fills: [Fill], to content: inout [UInt8]) {
        for fill in fills { content.replaceSubrange(fill.offset..<(fill.offset + fill.count), with: repeatElement(fill.byte, count: fill.count)) }
    }

    static var baseContent: [UInt8] {
        var content = [UInt8](repeating: 0, count: size)
        apply(baseFills, to: &content)
        return content
    }

    /// A base made by qemu-img (`vhdx`, or `vpc` dynamic with 2 MiB blocks) and written by qemu-io.
    static func qemuBase(_ format: String, at path: String) throws -> Bool {
        guard let qemuImg = ExternalTool.find("qemu-img"), let qemuIO = ExternalTool.find("qemu-io") else { return false }
        let options = format == "vhdx" ? "block_size=2M" : "subformat=dynamic,force_size=on"
        let created = try ExternalTool.run(qemuImg, ["create", "-q", "-f", format, "-o", options, path, "\(size)"])
        #expect(created.status == 0, "\(created.stderr)")
        let writes = baseFills.flatMap { ["-c", "write -q -P \($0.byte) \($0.offset) \($0.count)"] }
        let written = try ExternalTool.run(qemuIO, ["-f", format] + writes + [path])
        #expect(written.status == 0, "\(written.stderr)")
        // qemu reads back what the expectation says it wrote.
        let raw = path + ".raw"
        let converted = try ExternalTool.run(qemuImg, ["convert", "-f", format, "-O", "raw", path, raw])
        #expect(converted.status == 0, "\(converted.stderr)")
        #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: raw))) == baseContent)
        return true
    }

    /// A VHD differencing child of the VHDX `parent`, made by the library's VHD writer, with
    /// `topFills` written through the library's in-place writer.
    static func vhdChild(of parent: String, at path: String) throws {
        let layout = try VHDXFixture.layout(parent)
        let guid = layout.header.dataWriteGUID.storedBytes
        func word(_ bytes: ArraySlice<UInt8>) -> UInt64 { bytes.reduce(0) { $0 << 8 | UInt64($1) } }
        let modified = try FileManager.default.attributesOfItem(atPath: parent)[.modificationDate] as! Date
        let record = DynamicImageWriter.Parent(
            uniqueId: VHDUUID(high: word(guid[0..<8]), low: word(guid[8..<16])),
            timestamp: VHDTimestamp(unixSeconds: Int64(modified.timeIntervalSince1970)),
            absolutePath: parent, relativePath: ".\\" + URL(fileURLWithPath: parent).lastPathComponent)
        let output = try OutputFile.create(at: FilePath(path), overwrite: false)
        var writer = try DynamicImageWriter(output: output, size: layout.virtualSize, parent: record)
        writer.setParentName(URL(fileURLWithPath: parent).lastPathComponent)
        try writer.finish()
        try output.commit(sync: false)
        for fill in topFills {
            try ContentWriter.write([UInt8](repeating: fill.byte, count: fill.count), at: UInt64(fill.offset), into: path)
        }
    }

    /// Stores blocks in the empty differencing VHDX at `path` by patching its BAT: block 1 fully
    /// present (0x44), block 2 partially present (sectors 0-1 = 0x55 and 8 = 0x56 from this file,
    /// the others from the parent although this file holds 0xEE there), block 7 zero. Returns
    /// the content the child reads given its parent's.
    static func storeVHDXBlocks(in path: String, over parent: [UInt8]) throws -> [UInt8] {
        let layout = try VHDXFixture.layout(path)
        let geometry = layout.geometry
        let blockSize = layout.blockSize
        #expect(blockSize == 2 << 20 && geometry.hasParent, "the child takes the VHD parent's 2 MiB blocks")
        var offset = ((layout.fileSize + (1 << 20) - 1) >> 20) << 20
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        func put(_ bytes: [UInt8], at position: Int64) throws {
            try handle.seek(toOffset: UInt64(position))
            try handle.write(contentsOf: bytes)
        }
        func setEntry(_ index: Int, state: UInt8, at position: Int64) throws {
            let entry = VHDXBATEntry(state: state, fileOffsetInMiB: UInt64(position >> 20)).rawValue
            try put(withUnsafeBytes(of: entry.littleEndian) { Array($0) }, at: Int64(layout.batRegion.fileOffset) + Int64(index) * 8)
        }
        var content = parent
        // Block 1: fully present.
        try put([UInt8](repeating: 0x44, count: blockSize), at: offset)
        try setEntry(geometry.payloadEntryIndex(1), state: VHDXBATEntry.PayloadState.fullyPresent.rawValue, at: offset)
        content.replaceSubrange(blockSize..<(2 * blockSize), with: repeatElement(0x44, count: blockSize))
        offset += Int64(blockSize)
        // Block 2: partially present; its sector bitmap (chunk 0) in a 1 MiB block of its own.
        var data = [UInt8](repeating: 0xEE, count: blockSize)
        var bitmap = [UInt8](repeating: 0, count: 1 << 20)
        for (sectorIndex, byte) in [(0, UInt8(0x55)), (1, 0x55), (8, 0x56)] {
            data.replaceSubrange((sectorIndex * sector)..<((sectorIndex + 1) * sector), with: repeatElement(byte, count: sector))
            let bit = 2 * (blockSize / sector) + sectorIndex
            bitmap[bit / 8] |= 1 << (bit % 8)
            let virtual = 2 * blockSize + sectorIndex * sector
            content.replaceSubrange(virtual..<(virtual + sector), with: repeatElement(byte, count: sector))
        }
        try put(data, at: offset)
        try setEntry(geometry.payloadEntryIndex(2), state: VHDXBATEntry.PayloadState.partiallyPresent.rawValue, at: offset)
        offset += Int64(blockSize)
        try put(bitmap, at: offset)
        try setEntry(geometry.sectorBitmapEntryIndex(forBlock: 2), state: 6, at: offset)  // SB_BLOCK_PRESENT
        // Block 7: zero, whatever the parent holds.
        try setEntry(geometry.payloadEntryIndex(7), state: VHDXBATEntry.PayloadState.zero.rawValue, at: 0)
        content.replaceSubrange((7 * blockSize)..<(8 * blockSize), with: repeatElement(0, count: blockSize))
        return content
    }

    /// Reads `path` through its chain and checks content, digest and the extent map against
    /// `expected`; then the CLI's digest, map, check and convert (raw, fixed VHD and VHDX, each
    /// read back by qemu-img, the VHDX also by vhdimount).
    static func verify(_ path: String, expected: [UInt8], layers: Int, in folder: TemporaryFolder) throws {
        let (content, extents, digest, count) = try Disk.withOpened(at: FilePath(path)) { disk in
            (try disk.read(at: 0, count: Int(disk.virtualSize)), try disk.extents(), try disk.contentDigest(), disk.layers.count)
        }
        #expect(count == layers)
        #expect(content.count == expected.count)
        if let first = content.indices.first(where: { content[$0] != expected[$0] }) {
            Issue.record("\(path) differs from the expected content first at byte \(first): \(content[first]) instead of \(expected[first])")
        }
        #expect(digest.description == ContentDigestTests.referenceDigest(expected))
        // Every non-zero byte lies in a data extent.
        for extent in extents where !extent.isData {
            #expect(expected[Int(extent.start)..<Int(extent.end)].allSatisfy { $0 == 0 }, "\(extent) reads zeros")
        }
        let vhdtool = try #require(ExternalTool.vhdtool, "vhdtool is not built")
        let printed = try ExternalTool.run(vhdtool, ["digest", path])
        #expect(printed.status == 0 && printed.stdout.hasPrefix(digest.description), "\(printed.stderr)")
        #expect(try ExternalTool.run(vhdtool, ["map", path, "--json"]).status == 0)
        let check = try ExternalTool.run(vhdtool, ["check", path])
        #expect(check.status == 0, "check: \(check.stdout)\(check.stderr)")
        let name = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        let raw = folder.file(name + "-flat.raw")
        let converted = try ExternalTool.run(vhdtool, ["convert", path, raw, "-q"])
        #expect(converted.status == 0, "\(converted.stderr)")
        #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: raw))) == expected)
        let qemuImg = ExternalTool.find("qemu-img")
        for (suffix, arguments, qemuFormat) in [("-flat.vhd", ["--to", "fixed"], "vpc"), ("-flat.vhdx", [], "vhdx")] {
            let flat = folder.file(name + suffix)
            let result = try ExternalTool.run(vhdtool, ["convert", path, flat, "-q"] + arguments)
            #expect(result.status == 0, "\(result.stderr)")
            guard let qemuImg else { continue }
            let back = flat + ".raw"
            #expect(try ExternalTool.run(qemuImg, ["convert", "-f", qemuFormat, "-O", "raw", flat, back]).status == 0)
            #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: back))) == expected, "qemu-img reads \(flat)")
        }
        if let mounted = try ExternalTool.vhdimountRead(folder.file(name + "-flat.vhdx"), layerCount: 1) {
            #expect(mounted == expected, "vhdimount reads the flattened VHDX")
        }
    }

    @Test func vhdChildOfAVHDXReadsThroughIt() throws {
        let folder = try TemporaryFolder()
        let base = folder.file("base.vhdx")
        guard try Self.qemuBase("vhdx", at: base) else { return }
        let child = folder.file("child.vhd")
        try Self.vhdChild(of: base, at: child)
        var expected = Self.baseContent
        Self.apply(Self.topFills, to: &expected)
        try Self.verify(child, expected: expected, layers: 2, in: folder)
    }

    /// `vhdtool create child.vhd --parent base.vhdx`: the child records the VHDX's data write
    /// GUID, opens through it, and holds what is written into it.
    @Test func createMakesAVHDChildOfAVHDX() throws {
        let folder = try TemporaryFolder()
        let base = folder.file("base.vhdx")
        guard try Self.qemuBase("vhdx", at: base) else { return }
        let child = folder.file("child.vhd")
        let vhdtool = try #require(ExternalTool.vhdtool, "vhdtool is not built")
        let created = try ExternalTool.run(vhdtool, ["create", child, "--parent", base])
        #expect(created.status == 0, "\(created.stderr)")
        let recorded = try DiskImage.withOpened(at: FilePath(child)) { $0.layout?.dynamic?.header.parentUniqueId }
        let guid = try VHDXFixture.layout(base).header.dataWriteGUID.storedBytes
        func word(_ bytes: ArraySlice<UInt8>) -> UInt64 { bytes.reduce(0) { $0 << 8 | UInt64($1) } }
        #expect(recorded == VHDUUID(high: word(guid[0..<8]), low: word(guid[8..<16])))
        for fill in Self.topFills {
            try ContentWriter.write([UInt8](repeating: fill.byte, count: fill.count), at: UInt64(fill.offset), into: child)
        }
        var expected = Self.baseContent
        Self.apply(Self.topFills, to: &expected)
        try Self.verify(child, expected: expected, layers: 2, in: folder)
    }

    @Test func vhdxChildOfAVHDReadsThroughIt() throws {
        let folder = try TemporaryFolder()
        let base = folder.file("base.vhd")
        guard try Self.qemuBase("vpc", at: base) else { return }
        let child = folder.file("child.vhdx")
        let output = try OutputFile.create(at: FilePath(child), overwrite: false)
        try VHDXConversion.createDifferencing(parentPath: FilePath(base), output: output)
        try output.commit(sync: false)
        let expected = try Self.storeVHDXBlocks(in: child, over: Self.baseContent)
        try Self.verify(child, expected: expected, layers: 2, in: folder)
    }

    /// base.vhd (qemu) <- mid.vhdx <- top.vhd: both directions in one chain.
    @Test func threeLayersAlternatingFormatsRead() throws {
        let folder = try TemporaryFolder()
        let base = folder.file("base.vhd")
        guard try Self.qemuBase("vpc", at: base) else { return }
        let mid = folder.file("mid.vhdx")
        let output = try OutputFile.create(at: FilePath(mid), overwrite: false)
        try VHDXConversion.createDifferencing(parentPath: FilePath(base), output: output)
        try output.commit(sync: false)
        var expected = try Self.storeVHDXBlocks(in: mid, over: Self.baseContent)
        let top = folder.file("top.vhd")
        try Self.vhdChild(of: mid, at: top)
        Self.apply(Self.topFills, to: &expected)
        try Self.verify(top, expected: expected, layers: 3, in: folder)
    }
}
