import Foundation
import SystemPackage
import TestSupport
import Testing
import VHD
import VHDFormat

/// Creating disks and converting between raw, fixed and dynamic.
struct WritingTests {
    /// Converts `source` into a new file of `kind` in `folder` and returns its path.
    static func convert(
        _ source: String, to kind: ImageKind, named name: String, in folder: TemporaryFolder,
        size: UInt64? = nil, blockSize: UInt32 = 2 << 20
    ) throws -> String {
        let destination = folder.file(name)
        try Disk.withOpened(at: FilePath(source)) { disk in
            let output = try OutputFile.create(at: FilePath(destination), overwrite: true)
            _ = try DiskConversion.convert(disk, to: kind, output: output, size: size, blockSize: blockSize)
            try output.commit(sync: false)
        }
        return destination
    }

    /// A raw image of `sectorCount` sectors where some blocks hold random runs of non-zero
    /// sectors, the rest zeros.
    static func makeRaw(at path: String, sectorCount: Int, seed: UInt64) throws -> [UInt8] {
        var random = SeededGenerator(seed: seed)
        var bytes = [UInt8](repeating: 0, count: sectorCount * 512)
        for _ in 0..<Int.random(in: 1...30, using: &random) {
            let length = Int.random(in: 1...300, using: &random)
            let start = Int.random(in: 0..<max(1, sectorCount - length), using: &random)
            let value = UInt8.random(in: 1...255, using: &random)
            for sector in start..<min(start + length, sectorCount) {
                // Some sectors keep a single non-zero byte at an edge, to catch off-by-ones.
                if sector % 7 == 0 { bytes[sector * 512 + 511] = value } else {
                    bytes.replaceSubrange(sector * 512..<(sector + 1) * 512, with: repeatElement(value, count: 512))
                }
            }
        }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return bytes
    }

    @Test(arguments: [(UInt64(1), UInt32(2 << 20)), (2, 512 << 10), (3, 2 << 20), (4, 1 << 20), (5, 512 << 10)])
    func rawToDynamicToFixedToRawIsByteIdentical(seed: UInt64, blockSize: UInt32) throws {
        let folder = try TemporaryFolder()
        var random = SeededGenerator(seed: seed)
        let sectorCount = Int.random(in: 1...20_000, using: &random)
        let original = try Self.makeRaw(at: folder.file("source.raw"), sectorCount: sectorCount, seed: seed)
        let dynamic = try Self.convert(folder.file("source.raw"), to: .dynamic, named: "d.vhd", in: folder, blockSize: blockSize)
        let fixed = try Self.convert(dynamic, to: .fixed, named: "f.vhd", in: folder)
        let raw = try Self.convert(fixed, to: .raw, named: "back.raw", in: folder)
        #expect(try Data(contentsOf: URL(fileURLWithPath: raw)) == Data(original))
        // Every intermediate reads the same through the library, strictly validated.
        for path in [dynamic, fixed] {
            let bytes = try Disk.withOpened(at: FilePath(path)) { try $0.read(at: 0, count: original.count) }
            #expect(bytes == original, "\(path)")
        }
    }

    @Test func onlyBlocksWithNonZeroDataAreAllocated() throws {
        let folder = try TemporaryFolder()
        // 50 blocks of 1 MiB; data in blocks 3, 17, 29, 41 and 49 (the last), one sector each.
        var bytes = [UInt8](repeating: 0, count: 50 << 20)
        for block in [3, 17, 29, 41, 49] { bytes[block << 20 + 4096] = 0xAB }
        try Data(bytes).write(to: URL(fileURLWithPath: folder.file("source.raw")))
        let dynamic = try Self.convert(folder.file("source.raw"), to: .dynamic, named: "d.vhd", in: folder, blockSize: 1 << 20)
        let layout = try layout(of: dynamic, checksumPolicy: .verify)
        #expect(layout.dynamic?.allocatedBlockCount == 5)
        let allocated = layout.dynamic!.table.entries.enumerated().filter { $0.element != .max }.map(\.offset)
        #expect(allocated == [3, 17, 29, 41, 49])
        // Each block's data is 4 KiB-aligned in the file, and its bitmap marks the one sector.
        for entry in layout.dynamic!.table.entries where entry != .max {
            #expect((Int(entry) * 512 + 512) % 4096 == 0)
        }
        #expect(layout.warnings.allSatisfy { if case .notAzureReady = $0 { true } else { false } })
        // An allocated but all-zero block of a source is not allocated in the copy.
        let again = try Self.convert(TestPaths.testImage("dynamic-8M.vhd"), to: .dynamic, named: "again.vhd", in: folder)
        #expect(try Self.layoutAllocated(again) == 2)
    }

    static func layoutAllocated(_ path: String) throws -> Int? { try layout(of: path).dynamic?.allocatedBlockCount }

    @Test func sectorBitmapsMarkOnlyNonZeroSectors() throws {
        let folder = try TemporaryFolder()
        var bytes = [UInt8](repeating: 0, count: 2 << 20)
        bytes[512 * 9] = 1  // sector 9
        try Data(bytes).write(to: URL(fileURLWithPath: folder.file("source.raw")))
        let dynamic = try Self.convert(folder.file("source.raw"), to: .dynamic, named: "d.vhd", in: folder)
        try Disk.withOpened(at: FilePath(dynamic)) { disk in
            let extents = try disk.extents()
            #expect(extents.map(\.start) == [0, 512 * 9, 512 * 10])
            #expect(extents.map(\.isData) == [false, true, false])
        }
    }

    @Test func growingAddsZerosAndShrinkingPastDataIsRefused() throws {
        let folder = try TemporaryFolder()
        let source = TestPaths.testImage("dynamic-8M.vhd")  // data in its last 2048 bytes
        let grown = try Self.convert(source, to: .dynamic, named: "grown.vhd", in: folder, size: 16 << 20)
        try Disk.withOpened(at: FilePath(grown)) { disk in
            #expect(disk.virtualSize == 16 << 20)
            let data = try disk.read(at: 8_388_608, count: 4)
            let added = try disk.read(at: 8_390_656, count: 4)
            #expect(data == [0xC2, 0xC2, 0xC2, 0xC2])
            #expect(added == [0, 0, 0, 0])
        }
        let error = #expect(throws: VHDError.self) {
            _ = try Self.convert(source, to: .fixed, named: "small.vhd", in: folder, size: 8 << 20)
        }
        #expect(error?.kind == .shrinkWouldLoseData(newSize: 8 << 20, dataAt: 8_388_608))
        // Shrinking over zeros only is allowed.
        let shrunk = try Self.convert(TestPaths.testImage("dynamic-5M-force.vhd"), to: .fixed, named: "s.vhd", in: folder, size: 5_242_880)
        #expect(try layout(of: shrunk).virtualSize == 5_242_880)
    }

    @Test func geometryRuleGivesEveryReaderTheSizeAsked() throws {
        var random = SeededGenerator(seed: 7)
        var sizes: [UInt64] = [512, 1 << 20, 4 << 20, 10 << 20, 127 << 30, 2040 << 30, 10_479_616, 266_334_240 * 512]
        for _ in 0..<300 { sizes.append(UInt64.random(in: 1...(4_278_190_080), using: &random) * 512) }
        for size in sizes {
            let footer = NewDiskMetadata.footer(type: .dynamic, size: size)
            #expect(footer.currentSize == size)
            #expect(QEMUSizeRule.virtualSize(of: footer) == size, "qemu would read another size for \(size)")
            #expect(footer.geometry == .maximum || footer.geometry.sizeInBytes == size)
        }
    }

    @Test func createdDisksOpenStrictlyWithTheirSize() throws {
        let folder = try TemporaryFolder()
        for (name, size) in [("a.vhd", UInt64(512)), ("b.vhd", 3 << 20), ("c.vhd", 2040 << 30)] {
            let fixedOutput = try OutputFile.create(at: FilePath(folder.file("fixed-" + name)), overwrite: false)
            try DiskCreation.createFixed(size: size == 2040 << 30 ? 1 << 20 : size, output: fixedOutput)
            try fixedOutput.commit(sync: true)
            let dynamicOutput = try OutputFile.create(at: FilePath(folder.file("dynamic-" + name)), overwrite: false)
            try DiskCreation.createDynamic(size: size, output: dynamicOutput)
            try dynamicOutput.commit(sync: false)
            let layout = try layout(of: folder.file("dynamic-" + name), checksumPolicy: .verify)
            #expect(layout.virtualSize == size && layout.dynamic?.allocatedBlockCount == 0)
        }
        #expect(throws: VHDError.self) {
            try DiskCreation.createDynamic(size: (2040 << 30) + 512, output: try OutputFile.create(at: FilePath(folder.file("x.vhd")), overwrite: false))
        }
    }

    @Test func differencingChildReadsAsItsParent() throws {
        let folder = try TemporaryFolder()
        let base = try Self.convert(TestPaths.testImage("dynamic-8M.vhd"), to: .dynamic, named: "base.vhd", in: folder)
        let output = try OutputFile.create(at: FilePath(folder.file("child.vhd")), overwrite: false)
        try DiskCreation.createDifferencing(parentPath: FilePath(base), output: output)
        try output.commit(sync: false)
        try Disk.withOpened(at: FilePath(folder.file("child.vhd"))) { disk in
            #expect(disk.layers.count == 2)
            #expect(disk.chainWarnings.isEmpty)
            let dynamic = try #require(disk.layers[0].layout?.dynamic)
            #expect(dynamic.locators.map(\.locator.platformCode) == [.w2ku, .w2ru])
            #expect(dynamic.locators.map(\.path) == [base, ".\\base.vhd"])
            #expect(dynamic.header.parentName == "base.vhd")
            #expect(try disk.read(at: 0, count: 4096) == [UInt8](repeating: 0xC1, count: 4096))
        }
    }
}

/// Stopping a conversion (Ctrl-C in the CLI) leaves no file behind.
struct CancellationTests {
    @Test(arguments: [ImageKind.raw, .fixed, .dynamic])
    func aCancelledConversionLeavesNothing(kind: ImageKind) throws {
        let folder = try TemporaryFolder()
        let destination = folder.file("out.vhd")
        nonisolated(unsafe) var polls = 0
        let options = CopyOptions(isCancelled: {
            polls += 1
            return polls > 1
        })
        let error = #expect(throws: VHDError.self) {
            try Disk.withOpened(at: FilePath(TestPaths.testImage("dynamic-8M.vhd"))) { disk in
                let output = try OutputFile.create(at: FilePath(destination), overwrite: false)
                do {
                    _ = try DiskConversion.convert(disk, to: kind, output: output, options: options)
                    try output.commit(sync: false)
                } catch {
                    output.discard()
                    throw error
                }
            }
        }
        #expect(error?.kind == .cancelled)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).isEmpty)
    }
}
