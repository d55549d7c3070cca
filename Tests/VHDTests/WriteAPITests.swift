import Foundation
import SystemPackage
import TestSupport
import Testing
import VHD
import VHDFormat

/// Writing virtual bytes in place into fixed, dynamic and differencing disks.
struct WriteAPITests {
    static func create(_ kind: ImageKind, size: UInt64, at path: String, blockSize: UInt32 = 2 << 20) throws {
        let output = try OutputFile.create(at: FilePath(path), overwrite: true)
        if kind == .fixed {
            try DiskCreation.createFixed(size: size, output: output)
        } else {
            try DiskCreation.createDynamic(size: size, blockSize: blockSize, output: output)
        }
        try output.commit(sync: false)
    }

    /// Applies seeded random writes (aligned to `alignment` bytes) to the disk at `path` and to
    /// `model`, checking the disk against the model as it goes and after reopening.
    static func writeRandomly(_ path: String, model: inout [UInt8], seed: UInt64, count: Int = 30, alignment: Int = 1) throws {
        var random = SeededGenerator(seed: seed)
        let size = model.count
        try Disk.withOpened(at: FilePath(path), options: DiskOptions(writable: true)) { disk in
            for round in 0..<count {
                let length = Int.random(in: 1...(round % 10 == 0 ? 1 << 20 : 70_000), using: &random) / alignment * alignment + alignment
                let offset = Int.random(in: 0...(size - min(length, size)), using: &random) / alignment * alignment
                let count = min(length, size - offset)
                let value: UInt8 = round % 7 == 0 ? 0 : UInt8.random(in: 1...255, using: &random)
                let bytes = [UInt8](repeating: value, count: count)
                try disk.write(bytes, at: UInt64(offset))
                model.replaceSubrange(offset..<(offset + count), with: bytes)
                if round % 15 == 0 {
                    #expect(firstDifference(try disk.read(at: 0, count: size), model) == nil, "round \(round)")
                }
            }
            try disk.flush()
        }
        let reread = try Disk.withOpened(at: FilePath(path)) { disk in
            #expect(disk.layers[0].layout?.warnings.allSatisfy { if case .notAzureReady = $0 { true } else { false } } ?? true)
            return try disk.read(at: 0, count: size)
        }
        #expect(firstDifference(reread, model) == nil, "after reopening \(path)")
    }

    @Test(arguments: [(ImageKind.dynamic, UInt64(11)), (.fixed, 12), (.dynamic, 13)])
    func randomWritesReadBack(kind: ImageKind, seed: UInt64) throws {
        let folder = try TemporaryFolder()
        let size = 9 << 20 + 3584  // a partial last block
        try Self.create(kind, size: UInt64(size), at: folder.file("disk.vhd"), blockSize: seed == 13 ? 512 << 10 : 2 << 20)
        var model = [UInt8](repeating: 0, count: size)
        try Self.writeRandomly(folder.file("disk.vhd"), model: &model, seed: seed)
        if let qemuImg = ExternalTool.find("qemu-img") {
            try Data(model).write(to: URL(fileURLWithPath: folder.file("model.raw")))
            let compare = try ExternalTool.run(qemuImg, ["compare", "-f", "raw", "-F", "vpc", folder.file("model.raw"), folder.file("disk.vhd")])
            #expect(compare.status == 0, "qemu-img compare: \(compare.stdout)")
        }
    }

    @Test func zerosIntoAnUnallocatedBlockAllocateNothing() throws {
        let folder = try TemporaryFolder()
        try Self.create(.dynamic, size: 8 << 20, at: folder.file("disk.vhd"))
        try Disk.withOpened(at: FilePath(folder.file("disk.vhd")), options: DiskOptions(writable: true)) { disk in
            try disk.write([UInt8](repeating: 0, count: 3 << 20), at: 1 << 20)
            try disk.write([1], at: 5_000_000)  // one byte: a read-modify-write of its sector
        }
        let layout = try layout(of: folder.file("disk.vhd"), checksumPolicy: .verify)
        #expect(layout.dynamic?.table.entries == [.max, .max, 7, .max])  // data at 4096: aligned
        #expect(layout.fileSize == 7 * 512 + 512 + (2 << 20) + 512)
        #expect(layout.warnings.allSatisfy { if case .notAzureReady = $0 { true } else { false } })
    }

    @Test func writesIntoADifferencingChildLeaveTheParentAlone() throws {
        let folder = try TemporaryFolder()
        let size = 6 << 20
        try Self.create(.dynamic, size: UInt64(size), at: folder.file("base.vhd"))
        var model = [UInt8](repeating: 0, count: size)
        try Self.writeRandomly(folder.file("base.vhd"), model: &model, seed: 21, count: 20, alignment: 4096)
        let baseHash = try FileComparison.sha256(folder.file("base.vhd"))
        let output = try OutputFile.create(at: FilePath(folder.file("child.vhd")), overwrite: false)
        try DiskCreation.createDifferencing(parentPath: FilePath(folder.file("base.vhd")), output: output)
        try output.commit(sync: false)
        // 4 KiB-aligned, so that libvhdi (which reads bitmaps 8 sectors at a time) agrees too.
        try Self.writeRandomly(folder.file("child.vhd"), model: &model, seed: 22, count: 40, alignment: 4096)
        #expect(try FileComparison.sha256(folder.file("base.vhd")) == baseHash)
        guard let theirs = try ExternalTool.vhdimountRead(folder.file("child.vhd"), layerCount: 2) else { return }
        #expect(firstDifference(theirs, model) == nil)
    }

    @Test func aDiskOpenedReadOnlyRefusesWrites() throws {
        let folder = try TemporaryFolder()
        try Self.create(.dynamic, size: 1 << 20, at: folder.file("disk.vhd"))
        let error = #expect(throws: VHDError.self) {
            try Disk.withOpened(at: FilePath(folder.file("disk.vhd"))) { try $0.write([1], at: 0) }
        }
        #expect(error?.kind == .notWritable(reason: "it was opened read-only"))
        let outside = #expect(throws: VHDError.self) {
            try Disk.withOpened(at: FilePath(folder.file("disk.vhd")), options: DiskOptions(writable: true)) { try $0.write([1, 2], at: (1 << 20) - 1) }
        }
        #expect(outside?.kind == .outOfRange(offset: (1 << 20) - 1, length: 2, virtualSize: 1 << 20))
    }
}
