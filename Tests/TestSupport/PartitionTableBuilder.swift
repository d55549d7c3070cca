import VHD

/// Builds disks with partition tables and filesystem signatures byte by byte, written the way
/// sfdisk and sgdisk lay them out, with its own CRC32 (not zlib's) so that the probe is checked
/// against an independent implementation.
package struct PartitionTableBuilder {
    package var bytes: [UInt8]

    /// An all-zero disk of `sizeInBytes`.
    package init(sizeInBytes: Int) { bytes = [UInt8](repeating: 0, count: sizeInBytes) }

    package var sectorCount: UInt64 { UInt64(bytes.count / 512) }

    package mutating func set<T: FixedWidthInteger>(_ value: T, littleEndianAt offset: Int) {
        withUnsafeBytes(of: value.littleEndian) { for (index, byte) in $0.enumerated() { bytes[offset + index] = byte } }
    }

    package mutating func set(ascii text: String, at offset: Int) {
        for (index, byte) in text.utf8.enumerated() { bytes[offset + index] = byte }
    }

    // MARK: MBR

    package struct MBREntry {
        package var active: Bool
        package var type: UInt8
        package var firstSector: UInt32
        package var sectorCount: UInt32

        package init(active: Bool = false, type: UInt8, firstSector: UInt32, sectorCount: UInt32) {
            self.active = active
            self.type = type
            self.firstSector = firstSector
            self.sectorCount = sectorCount
        }
    }

    /// Writes a boot record (entries and 0x55AA) into the sector at `sector`.
    package mutating func writeBootRecord(_ entries: [MBREntry], sector: Int = 0, diskSignature: UInt32 = 0x1234_5678) {
        let base = sector * 512
        if sector == 0 { set(diskSignature, littleEndianAt: 440) }
        for (index, entry) in entries.enumerated() {
            let offset = base + 446 + 16 * index
            bytes[offset] = entry.active ? 0x80 : 0
            bytes[offset + 4] = entry.type
            set(entry.firstSector, littleEndianAt: offset + 8)
            set(entry.sectorCount, littleEndianAt: offset + 12)
        }
        bytes[base + 510] = 0x55
        bytes[base + 511] = 0xAA
    }

    // MARK: GPT

    package struct GPTEntry {
        package var type: String
        package var firstSector: UInt64
        package var lastSector: UInt64
        package var name: String
        package var attributes: UInt64

        package init(type: String, firstSector: UInt64, lastSector: UInt64, name: String = "", attributes: UInt64 = 0) {
            self.type = type
            self.firstSector = firstSector
            self.lastSector = lastSector
            self.name = name
            self.attributes = attributes
        }
    }

    package static let efiSystem = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
    package static let linuxFilesystem = "0FC63DAF-8483-4772-8E79-3D69D8477DE4"
    package static let microsoftBasicData = "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7"
    package static let diskGUID = "01234567-89AB-CDEF-0123-456789ABCDEF"

    /// A protective MBR, the primary header and array (sectors 1 and 2..33) and the backup
    /// array and header (the last 33 sectors), 128 entries of 128 bytes, as sgdisk writes.
    package mutating func writeGPT(_ entries: [GPTEntry], entryCount: UInt32 = 128) {
        let last = sectorCount - 1
        writeBootRecord([MBREntry(type: 0xEE, firstSector: 1, sectorCount: UInt32(clamping: last))])
        var array = [UInt8](repeating: 0, count: Int(entryCount) * 128)
        for (index, entry) in entries.enumerated() {
            let base = index * 128
            array.replaceSubrange(base..<(base + 16), with: Self.guidBytes(entry.type))
            array.replaceSubrange((base + 16)..<(base + 32), with: Self.guidBytes("11111111-2222-3333-4444-\(String(format6: index))"))
            Self.put(entry.firstSector, into: &array, at: base + 32)
            Self.put(entry.lastSector, into: &array, at: base + 40)
            Self.put(entry.attributes, into: &array, at: base + 48)
            for (unit, value) in entry.name.utf16.prefix(36).enumerated() { Self.put(value, into: &array, at: base + 56 + unit * 2) }
        }
        let arraySectors = UInt64((array.count + 511) / 512)
        let backupArraySector = last - arraySectors
        bytes.replaceSubrange(1024..<(1024 + array.count), with: array)
        bytes.replaceSubrange(Int(backupArraySector * 512)..<Int(backupArraySector * 512) + array.count, with: array)
        let arrayCRC = Self.crc32(array)
        writeGPTHeader(at: 1, alternate: last, entriesSector: 2, entryCount: entryCount, arrayCRC: arrayCRC, firstUsable: 2 + arraySectors, lastUsable: backupArraySector - 1)
        writeGPTHeader(at: last, alternate: 1, entriesSector: backupArraySector, entryCount: entryCount, arrayCRC: arrayCRC, firstUsable: 2 + arraySectors, lastUsable: backupArraySector - 1)
    }

    /// Writes a header into sector `sector` with a correct CRC32.
    package mutating func writeGPTHeader(
        at sector: UInt64, alternate: UInt64, entriesSector: UInt64, entryCount: UInt32, entrySize: UInt32 = 128, arrayCRC: UInt32,
        firstUsable: UInt64, lastUsable: UInt64
    ) {
        var header = [UInt8](repeating: 0, count: 512)
        for (index, byte) in "EFI PART".utf8.enumerated() { header[index] = byte }
        Self.put(UInt32(0x0001_0000), into: &header, at: 8)
        Self.put(UInt32(92), into: &header, at: 12)
        Self.put(sector, into: &header, at: 24)
        Self.put(alternate, into: &header, at: 32)
        Self.put(firstUsable, into: &header, at: 40)
        Self.put(lastUsable, into: &header, at: 48)
        header.replaceSubrange(56..<72, with: Self.guidBytes(Self.diskGUID))
        Self.put(entriesSector, into: &header, at: 72)
        Self.put(entryCount, into: &header, at: 80)
        Self.put(entrySize, into: &header, at: 84)
        Self.put(arrayCRC, into: &header, at: 88)
        Self.put(Self.crc32(Array(header[0..<92])), into: &header, at: 16)
        bytes.replaceSubrange(Int(sector * 512)..<Int(sector * 512 + 512), with: header)
    }

    /// Recomputes the CRC32 of the header in `sector` after a test changed a field.
    package mutating func resealGPTHeader(at sector: UInt64) {
        let base = Int(sector * 512)
        set(UInt32(0), littleEndianAt: base + 16)
        set(Self.crc32(Array(bytes[base..<(base + 92)])), littleEndianAt: base + 16)
    }

    // MARK: Filesystem signatures

    /// The boot sector or superblock that identifies `filesystem`, written at byte `offset`.
    package mutating func writeSignature(_ filesystem: Filesystem, at offset: Int) {
        switch filesystem {
        case .ntfs: bootSector(oem: "NTFS    ", at: offset)
        case .bitlocker: bootSector(oem: "-FVE-FS-", at: offset)
        case .exfat: bootSector(oem: "EXFAT   ", at: offset)
        case .fat12: fatBootSector(totalSectors: 4000, fatSize: 12, rootEntries: 512, at: offset)
        case .fat16: fatBootSector(totalSectors: 40000, fatSize: 40, rootEntries: 512, at: offset)
        case .fat32: fatBootSector(totalSectors: 140000, fatSize: 1100, rootEntries: 0, at: offset)
        case .ext2, .ext3, .ext4:
            set(UInt16(0xEF53), littleEndianAt: offset + 1024 + 56)
            if filesystem == .ext3 { set(UInt32(0x4), littleEndianAt: offset + 1024 + 92) }
            if filesystem == .ext4 {
                set(UInt32(0x4), littleEndianAt: offset + 1024 + 92)
                set(UInt32(0x2C2), littleEndianAt: offset + 1024 + 96)  // filetype, extents, 64bit, flex_bg
            }
        case .xfs: set(ascii: "XFSB", at: offset)
        case .btrfs: set(ascii: "_BHRfS_M", at: offset + 65536 + 64)
        case .swap: set(ascii: "SWAPSPACE2", at: offset + 4086)
        case .lvm:
            set(ascii: "LABELONE", at: offset + 512)
            set(ascii: "LVM2 001", at: offset + 512 + 24)
        case .ufs1: set(UInt32(0x0001_1954), littleEndianAt: offset + 8192 + 1372)
        case .ufs2: set(UInt32(0x1954_0119), littleEndianAt: offset + 65536 + 1372)
        case .zfs: set(UInt64(0x00BA_B10C), littleEndianAt: offset + (128 << 10) + 2048)  // the third uberblock slot
        case .unknown: break
        }
    }

    private mutating func bootSector(oem: String, at offset: Int) {
        bytes[offset] = 0xEB
        bytes[offset + 1] = 0x52
        bytes[offset + 2] = 0x90
        set(ascii: oem, at: offset + 3)
        bytes[offset + 510] = 0x55
        bytes[offset + 511] = 0xAA
    }

    /// A FAT boot sector with one sector per cluster: the cluster count decides the type.
    private mutating func fatBootSector(totalSectors: UInt32, fatSize: UInt32, rootEntries: UInt16, at offset: Int) {
        bootSector(oem: "mkfs.fat", at: offset)
        set(UInt16(512), littleEndianAt: offset + 11)
        bytes[offset + 13] = 1
        set(UInt16(rootEntries == 0 ? 32 : 1), littleEndianAt: offset + 14)
        bytes[offset + 16] = 2
        set(rootEntries, littleEndianAt: offset + 17)
        if rootEntries == 0 {
            set(totalSectors, littleEndianAt: offset + 32)
            set(fatSize, littleEndianAt: offset + 36)
        } else {
            set(UInt16(clamping: totalSectors), littleEndianAt: offset + 19)
            if totalSectors > 65535 { set(totalSectors, littleEndianAt: offset + 32) }
            set(UInt16(fatSize), littleEndianAt: offset + 22)
        }
    }

    // MARK: Helpers

    /// The 16 bytes of a GUID as GPT stores it (first three fields little-endian).
    package static func guidBytes(_ text: String) -> [UInt8] {
        let hex = Array(text.replacingAll("-", ""))
        var raw: [UInt8] = []
        var index = 0
        while index + 1 < hex.count {
            raw.append(UInt8(String(hex[index...index + 1]), radix: 16) ?? 0)
            index += 2
        }
        guard raw.count == 16 else { return [UInt8](repeating: 0, count: 16) }
        return [raw[3], raw[2], raw[1], raw[0], raw[5], raw[4], raw[7], raw[6]] + raw[8..<16]
    }

    package static func put<T: FixedWidthInteger>(_ value: T, into array: inout [UInt8], at offset: Int) {
        withUnsafeBytes(of: value.littleEndian) { for (index, byte) in $0.enumerated() { array[offset + index] = byte } }
    }

    /// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), bit by bit.
    package static func crc32(_ data: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in data {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }
}

extension String {
    /// "000000000007": twelve hex digits, for the unique GUIDs of test partitions.
    init(format6 value: Int) {
        let digits = String(value, radix: 16)
        self = String(repeating: "0", count: 12 - digits.count) + digits
    }

    func replacingAll(_ target: Character, _ replacement: String) -> String {
        String(self.flatMap { $0 == target ? Array(replacement) : [$0] })
    }
}

/// A disk held in memory, counting what the probe reads.
package final class MemoryDisk: VirtualByteReader {
    package let bytes: [UInt8]
    package private(set) var bytesRead = 0
    package private(set) var readCount = 0

    package init(_ bytes: [UInt8]) { self.bytes = bytes }

    package var virtualSize: UInt64 { UInt64(bytes.count) }

    package func read(at offset: UInt64, count: Int) throws(VHDError) -> [UInt8] {
        guard offset <= virtualSize, UInt64(count) <= virtualSize - offset else {
            // The probe promises never to ask for this; a test that sees it fails loudly.
            throw VHDError(path: "memory", .outOfRange(offset: offset, length: count, virtualSize: virtualSize))
        }
        bytesRead += count
        readCount += 1
        return Array(bytes[Int(offset)..<(Int(offset) + count)])
    }
}
