import Foundation
import SystemPackage
import TestSupport
import Testing
import VHD

/// The content probe on partition tables written byte by byte: the layouts sfdisk and sgdisk
/// make, then hostile ones. Every hostile table must give warnings, never a trap or a read
/// outside the disk (``MemoryDisk`` throws on one).
struct DiskLayoutProbeTests {
    typealias Builder = PartitionTableBuilder
    static let size = 8 << 20  // 16384 sectors

    /// sgdisk-style: an EFI system partition (FAT32) and an ext4 root.
    static func gptDisk() -> Builder {
        var disk = Builder(sizeInBytes: size)
        disk.writeGPT([
            .init(type: Builder.efiSystem, firstSector: 2048, lastSector: 6143, name: "EFI system partition"),
            .init(type: Builder.linuxFilesystem, firstSector: 6144, lastSector: 16350, name: "root"),
        ])
        disk.writeSignature(.fat32, at: 2048 * 512)
        disk.writeSignature(.ext4, at: 6144 * 512)
        return disk
    }

    @Test func gptWithEFISystemPartitionAndExt4() throws {
        let disk = MemoryDisk(Self.gptDisk().bytes)
        let layout = try DiskLayoutProbe.probe(disk)
        #expect(layout.scheme == .gpt)
        #expect(layout.warnings == [])
        #expect(layout.backupHeaderValid == true)
        #expect(layout.diskIdentifier == Builder.diskGUID)
        #expect(layout.partitions.map(\.index) == [1, 2])
        #expect(layout.partitions.map(\.filesystem) == [.fat32, .ext4])
        #expect(layout.partitions.map(\.type) == [Builder.efiSystem, Builder.linuxFilesystem])
        #expect(layout.partitions.map(\.name) == ["EFI system partition", "root"])
        #expect(layout.partitions[0].start == 2048 * 512 && layout.partitions[0].size == 4096 * 512)
        #expect(layout.suggestedOSType == .linux)
        #expect(layout.suggestedHyperVGeneration == .v2)
        // A few sectors per partition: headers, two 16 KiB arrays, at most 5 KiB per partition.
        #expect(disk.bytesRead <= 1024 + 512 + 2 * 16384 + 2 * 5120 + 5120, "\(disk.bytesRead) bytes read")
    }

    @Test func mbrWithActiveNTFSPartition() throws {
        var builder = Builder(sizeInBytes: Self.size)
        builder.writeBootRecord([
            .init(active: true, type: 0x07, firstSector: 2048, sectorCount: 8192),
            .init(type: 0x27, firstSector: 10240, sectorCount: 4096),
        ])
        builder.writeSignature(.ntfs, at: 2048 * 512)
        builder.writeSignature(.ntfs, at: 10240 * 512)
        let layout = try DiskLayoutProbe.probe(MemoryDisk(builder.bytes))
        #expect(layout.scheme == .mbr)
        #expect(layout.diskIdentifier == "0x12345678")
        #expect(layout.partitions.map(\.type) == ["0x07", "0x27"])
        #expect(layout.partitions.map(\.bootable) == [true, false])
        #expect(layout.partitions.map(\.filesystem) == [.ntfs, .ntfs])
        #expect(layout.partitions.allSatisfy { $0.name == nil })
        #expect(layout.suggestedOSType == .windows)
        #expect(layout.suggestedHyperVGeneration == .v1)
    }

    @Test func noTableAtAll() throws {
        let empty = try DiskLayoutProbe.probe(MemoryDisk(Builder(sizeInBytes: Self.size).bytes))
        #expect(empty.scheme == .none && empty.partitions.isEmpty && empty.filesystem == .unknown)
        #expect(empty.suggestedOSType == nil && empty.suggestedHyperVGeneration == nil)
        var whole = Builder(sizeInBytes: Self.size)
        whole.writeSignature(.xfs, at: 0)
        let xfs = try DiskLayoutProbe.probe(MemoryDisk(whole.bytes))
        #expect(xfs.scheme == .none && xfs.filesystem == .xfs && xfs.suggestedOSType == .linux)
        // A FAT "superfloppy": its boot sector's 0x55AA is not an MBR.
        var floppy = Builder(sizeInBytes: Self.size)
        floppy.writeSignature(.fat16, at: 0)
        #expect(try DiskLayoutProbe.probe(MemoryDisk(floppy.bytes)).filesystem == .fat16)
        // Tiny disks.
        for size in [0, 512, 1024, 1536] {
            #expect(try DiskLayoutProbe.probe(MemoryDisk([UInt8](repeating: 0, count: size))).scheme == .none)
        }
    }

    @Test(arguments: Filesystem.allCases)
    func everySignatureIsRecognized(_ filesystem: Filesystem) throws {
        var builder = Builder(sizeInBytes: Self.size)
        builder.writeBootRecord([.init(type: 0x83, firstSector: 2048, sectorCount: 14336)])
        builder.writeSignature(filesystem, at: 2048 * 512)
        let layout = try DiskLayoutProbe.probe(MemoryDisk(builder.bytes))
        #expect(layout.partitions.map(\.filesystem) == [filesystem])
    }

    /// FreeBSD: UFS or FreeBSD partition types suggest Azure's OS type "linux", detail FreeBSD.
    @Test func freeBSDDisksSuggestLinuxWithTheDetail() throws {
        var builder = Builder(sizeInBytes: Self.size)
        builder.writeBootRecord([.init(type: 0xA5, firstSector: 2048, sectorCount: 14336)])
        builder.writeSignature(.ufs2, at: 2048 * 512)
        let layout = try DiskLayoutProbe.probe(MemoryDisk(builder.bytes))
        #expect(layout.partitions.map(\.filesystem) == [.ufs2])
        #expect(layout.suggestedOSType == .linux && layout.suggestedOSDetail == "FreeBSD")
        // A ZFS pool alone says Linux-like, not which system.
        var zfs = Builder(sizeInBytes: Self.size)
        zfs.writeSignature(.zfs, at: 0)
        let pool = try DiskLayoutProbe.probe(MemoryDisk(zfs.bytes))
        #expect(pool.filesystem == .zfs && pool.suggestedOSType == .linux && pool.suggestedOSDetail == nil)
    }

    @Test func applePartitionMapIsRead() throws {
        var builder = Builder(sizeInBytes: Self.size)
        builder.set(ascii: "ER", at: 0)
        builder.set(UInt16(512).bigEndian, littleEndianAt: 2)
        for (index, (start, count, name, type)) in [(UInt32(1), UInt32(63), "Apple", "Apple_partition_map"),
                                                     (UInt32(64), UInt32(8000), "disk image", "Apple_HFS")].enumerated() {
            let base = 512 * (index + 1)
            builder.set(ascii: "PM", at: base)
            builder.set(UInt32(2).bigEndian, littleEndianAt: base + 4)
            builder.set(start.bigEndian, littleEndianAt: base + 8)
            builder.set(count.bigEndian, littleEndianAt: base + 12)
            builder.set(ascii: name, at: base + 16)
            builder.set(ascii: type, at: base + 48)
        }
        let layout = try DiskLayoutProbe.probe(MemoryDisk(builder.bytes))
        #expect(layout.scheme == .apm)
        #expect(layout.partitions.map(\.type) == ["Apple_partition_map", "Apple_HFS"])
        #expect(layout.partitions.map(\.start) == [512, 64 * 512] && layout.partitions[1].name == "disk image")
        // A map claiming 1000 entries, with a bad second one, is cut short with warnings.
        builder.set(UInt32(1000).bigEndian, littleEndianAt: 512 + 4)
        builder.set(ascii: "XX", at: 1024)
        let damaged = try DiskLayoutProbe.probe(MemoryDisk(builder.bytes))
        #expect(damaged.partitions.count == 1 && damaged.warnings.count == 2, "\(damaged.warnings)")
    }

    @Test func ext2And3And4AreToldApart() throws {
        for filesystem in [Filesystem.ext2, .ext3, .ext4] {
            var builder = Builder(sizeInBytes: 1 << 20)
            builder.writeSignature(filesystem, at: 0)
            #expect(try DiskLayoutProbe.probe(MemoryDisk(builder.bytes)).filesystem == filesystem)
        }
    }

    @Test func logicalPartitionsInAnExtendedPartition() throws {
        var builder = Builder(sizeInBytes: Self.size)
        builder.writeBootRecord([
            .init(active: true, type: 0x83, firstSector: 2048, sectorCount: 2048),
            .init(type: 0x05, firstSector: 4096, sectorCount: 12288),
        ])
        // EBR 1 at 4096: logical 5 at +2048, next EBR at extended + 6144.
        builder.writeBootRecord([
            .init(type: 0x82, firstSector: 2048, sectorCount: 2048),
            .init(type: 0x05, firstSector: 6144, sectorCount: 6144),
        ], sector: 4096)
        builder.writeBootRecord([.init(type: 0x83, firstSector: 2048, sectorCount: 2048)], sector: 4096 + 6144)
        builder.writeSignature(.swap, at: (4096 + 2048) * 512)
        builder.writeSignature(.ext4, at: (4096 + 6144 + 2048) * 512)
        let layout = try DiskLayoutProbe.probe(MemoryDisk(builder.bytes))
        #expect(layout.partitions.map(\.index) == [1, 2, 5, 6])
        let sectors: [UInt64] = [2048, 4096, 6144, 12288]
        #expect(layout.partitions.map(\.start) == sectors.map { $0 * 512 })
        #expect(layout.partitions.map(\.filesystem) == [.unknown, .unknown, .swap, .ext4])
        #expect(layout.warnings == [], "an extended partition holding its logical ones is no overlap")
        #expect(layout.suggestedOSType == .linux && layout.suggestedHyperVGeneration == .v1)
    }

    @Test func anExtendedChainThatLoopsStops() throws {
        var builder = Builder(sizeInBytes: Self.size)
        builder.writeBootRecord([.init(type: 0x0F, firstSector: 4096, sectorCount: 8192)])
        // The EBR's "next" points at itself.
        builder.writeBootRecord([
            .init(type: 0x83, firstSector: 2048, sectorCount: 1024), .init(type: 0x05, firstSector: 0, sectorCount: 8192),
        ], sector: 4096)
        let layout = try DiskLayoutProbe.probe(MemoryDisk(builder.bytes))
        #expect(layout.partitions.map(\.index) == [1, 5])
        #expect(layout.warnings.contains { $0.contains("points back") })
    }

    // MARK: Hostile GPTs

    @Test func aHugeEntryCountIsRefusedAndTheBackupUsed() throws {
        var builder = Self.gptDisk()
        builder.set(UInt32.max, littleEndianAt: 512 + 80)
        builder.resealGPTHeader(at: 1)
        let disk = MemoryDisk(builder.bytes)
        let layout = try DiskLayoutProbe.probe(disk)
        #expect(layout.warnings.contains { $0.contains("primary GPT header is unusable") && $0.contains("4294967295 entries") })
        #expect(layout.warnings.contains { $0.contains("read from the backup") })
        #expect(layout.partitions.map(\.filesystem) == [.fat32, .ext4])
        #expect(disk.bytesRead < 64 << 10)
    }

    @Test func bothHeadersHostileLeaveNoPartitions() throws {
        var builder = Self.gptDisk()
        for sector in [UInt64(1), builder.sectorCount - 1] {
            builder.set(UInt32(0x0100_0000), littleEndianAt: Int(sector) * 512 + 80)  // 16 Mi entries
            builder.resealGPTHeader(at: sector)
        }
        let layout = try DiskLayoutProbe.probe(MemoryDisk(builder.bytes))
        #expect(layout.scheme == .gpt && layout.partitions.isEmpty && layout.backupHeaderValid == false)
        #expect(layout.warnings.count >= 2)
    }

    @Test func damagedCRCsAreCaught() throws {
        var header = Self.gptDisk()
        header.bytes[512 + 40] ^= 1  // first usable sector, CRC not updated
        let fromBackup = try DiskLayoutProbe.probe(MemoryDisk(header.bytes))
        #expect(fromBackup.warnings.contains { $0.contains("CRC32") } && fromBackup.partitions.count == 2)
        var entries = Self.gptDisk()
        entries.bytes[1024 + 56] ^= 1  // a name byte of the primary array
        let fromBackupArray = try DiskLayoutProbe.probe(MemoryDisk(entries.bytes))
        #expect(fromBackupArray.warnings.contains { $0.contains("entry array's CRC32") })
        #expect(fromBackupArray.partitions.map(\.name) == ["EFI system partition", "root"])
        var backup = Self.gptDisk()
        backup.bytes[backup.bytes.count - 512 + 40] ^= 1
        let damagedBackup = try DiskLayoutProbe.probe(MemoryDisk(backup.bytes))
        #expect(damagedBackup.backupHeaderValid == false && damagedBackup.partitions.count == 2)
    }

    @Test func partitionsPastTheEndOverlappingOrBackwards() throws {
        var builder = Builder(sizeInBytes: Self.size)
        builder.writeGPT([
            .init(type: Builder.linuxFilesystem, firstSector: 2048, lastSector: 8191),
            .init(type: Builder.linuxFilesystem, firstSector: 8000, lastSector: 9000),  // overlaps 1
            .init(type: Builder.linuxFilesystem, firstSector: 16000, lastSector: 1 << 40),  // far past the end
            .init(type: Builder.linuxFilesystem, firstSector: 12000, lastSector: 11000),  // backwards
            .init(type: Builder.linuxFilesystem, firstSector: UInt64.max - 1, lastSector: UInt64.max),  // overflows
        ])
        let layout = try DiskLayoutProbe.probe(MemoryDisk(builder.bytes))
        #expect(layout.partitions.map(\.index) == [1, 2, 3])
        #expect(layout.warnings.contains("partitions 1 and 2 overlap"))
        #expect(layout.warnings.contains { $0.hasPrefix("partition 3 ends at byte") })
        #expect(layout.warnings.contains { $0.hasPrefix("GPT entry 4 has impossible sectors") })
        #expect(layout.warnings.contains { $0.hasPrefix("GPT entry 5 has impossible sectors") })
    }

    @Test func anEntryArrayOrBackupOutsideTheDisk() throws {
        var builder = Self.gptDisk()
        builder.set(UInt64.max / 256, littleEndianAt: 512 + 72)  // entry array sector
        builder.set(UInt64.max, littleEndianAt: 512 + 32)  // backup sector
        builder.resealGPTHeader(at: 1)
        let layout = try DiskLayoutProbe.probe(MemoryDisk(builder.bytes))
        #expect(layout.warnings.contains { $0.contains("lies past the end of the disk") })
    }

    @Test func mbrPartitionsPastTheEndAreNotRead() throws {
        var builder = Builder(sizeInBytes: Self.size)
        builder.writeBootRecord([
            .init(type: 0x83, firstSector: 2048, sectorCount: 4096),
            .init(type: 0x07, firstSector: 0xFFFF_FF00, sectorCount: 0xFFFF_FFFF),
            .init(type: 0x83, firstSector: 4096, sectorCount: 4096),  // overlaps 1
        ])
        let layout = try DiskLayoutProbe.probe(MemoryDisk(builder.bytes))
        #expect(layout.partitions.map(\.filesystem) == [.unknown, .unknown, .unknown])
        #expect(layout.warnings.contains("partitions 1 and 3 overlap"))
    }

    /// Random bytes flipped in the tables of a GPT and an MBR disk: the probe answers every
    /// mutant without trapping, reading only inside the disk (MemoryDisk throws otherwise)
    /// and only a bounded amount.
    @Test(.timeLimit(.minutes(2)))
    func mutatedTablesNeverTrapOrReadOutside() throws {
        var mbr = Builder(sizeInBytes: Self.size)
        mbr.writeBootRecord([.init(type: 0x0F, firstSector: 2048, sectorCount: 8192)])
        mbr.writeBootRecord([.init(type: 0x83, firstSector: 1, sectorCount: 100), .init(type: 0x05, firstSector: 200, sectorCount: 300)], sector: 2048)
        var random = SeededGenerator(seed: 0x6A7E)
        for original in [Self.gptDisk().bytes, mbr.bytes] {
            let hot = Array(0..<(34 * 512)) + Array((original.count - 33 * 512)..<original.count) + Array((2048 * 512)..<(2048 * 512 + 512))
            for _ in 0..<1500 {
                var bytes = original
                for _ in 0..<Int.random(in: 1...8, using: &random) {
                    bytes[hot.randomElement(using: &random)!] = UInt8.random(in: 0...255, using: &random)
                }
                let disk = MemoryDisk(bytes)
                _ = try DiskLayoutProbe.probe(disk)
                #expect(disk.bytesRead <= 4 << 20)
            }
        }
    }
}
