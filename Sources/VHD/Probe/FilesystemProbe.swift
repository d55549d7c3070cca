/// Recognizes the filesystem of a partition from its first bytes, as blkid does, reading at
/// most two small pieces: the first 4 KiB and the 1 KiB around offset 64 KiB.
///
/// Signatures (offsets from the partition's start):
/// - NTFS "NTFS    ", exFAT "EXFAT   ", BitLocker "-FVE-FS-": the OEM name at 3.
/// - FAT: a boot sector (0x55AA at 510) whose BIOS parameter block is consistent; FAT12, 16
///   or 32 by its cluster count, as Microsoft's FAT specification defines the type.
/// - ext2/3/4: 0xEF53 at 1024 + 56 (superblock); ext4 with any ext4-only feature, ext3 with a
///   journal, else ext2.
/// - XFS "XFSB" at 0. Btrfs "_BHRfS_M" at 65536 + 64.
/// - Linux swap "SWAPSPACE2" or "SWAP-SPACE" in the last 10 bytes of the first page (4 KiB or
///   64 KiB pages; 8 and 16 KiB pages are not looked for).
/// - LVM physical volume: "LABELONE" at the start of one of the first four sectors, with
///   "LVM2 001" 24 bytes further.
/// - UFS: the superblock's magic (fs_magic, 1372 bytes into it) 0x011954 (UFS1, superblock at
///   8 KiB) or 0x19540119 (UFS2, at 64 KiB), in either byte order.
/// - ZFS: an uberblock's magic 0x00BAB10C (either byte order) in one of the first slots of the
///   uberblock array, 128 KiB into the first vdev label (1 KiB slots, or 4 KiB with ashift 12).
enum FilesystemProbe {
    static let headSize = 4096
    /// The second piece: the last sector of a 64 KiB page (swap) and the sector of the Btrfs superblock.
    static let tailOffset: UInt64 = 65536 - 512
    static let tailSize = 1024

    /// The filesystem in `[start, start + size)` of the disk; unknown when the partition is
    /// too small to hold a signature or lies partly outside the disk.
    static func probe(_ reader: inout BoundedReader, start: UInt64, size: UInt64) throws(VHDError) -> Filesystem {
        guard size >= 512, let head = try reader.read(at: start, count: Int(min(size, UInt64(headSize)))) else { return .unknown }
        if let found = recognize(head: head) { return found }
        if size >= 8192 + 1376, let magic = try reader.read(at: start + 8192 + 1372, count: 4), isMagic(magic, 0x0001_1954) {
            return .ufs1
        }
        guard size >= tailOffset + UInt64(tailSize), let tail = try reader.read(at: start + tailOffset, count: tailSize) else {
            return .unknown
        }
        if let found = recognize(tail: tail) { return found }
        if size >= 65536 + 1376, let magic = try reader.read(at: start + 65536 + 1372, count: 4), isMagic(magic, 0x1954_0119) {
            return .ufs2
        }
        let uberblocks = 128 << 10
        if size >= UInt64(uberblocks + 16384), let slots = try reader.read(at: start + UInt64(uberblocks), count: 16384) {
            for slot in stride(from: 0, to: slots.count, by: 1024) where isMagic(Array(slots[slot..<(slot + 8)]), 0x00BA_B10C) {
                return .zfs
            }
        }
        return .unknown
    }

    /// Whether `bytes` hold `magic` as a little- or big-endian integer of their length.
    static func isMagic(_ bytes: [UInt8], _ magic: UInt64) -> Bool {
        var little: UInt64 = 0
        var big: UInt64 = 0
        for (index, byte) in bytes.enumerated() {
            little |= UInt64(byte) << (8 * UInt64(index))
            big = big << 8 | UInt64(byte)
        }
        return little == magic || big == magic
    }

    /// Signatures in the first 4 KiB.
    static func recognize(head bytes: [UInt8]) -> Filesystem? {
        if bytes.hasASCII("NTFS    ", at: 3) { return .ntfs }
        if bytes.hasASCII("-FVE-FS-", at: 3) { return .bitlocker }
        if bytes.hasASCII("EXFAT   ", at: 3) { return .exfat }
        if bytes.hasASCII("XFSB", at: 0) { return .xfs }
        if let ext = extVariant(bytes) { return ext }
        if bytes.hasASCII("SWAPSPACE2", at: 4086) || bytes.hasASCII("SWAP-SPACE", at: 4086) { return .swap }
        for sector in 0..<4 where bytes.hasASCII("LABELONE", at: sector * 512) && bytes.hasASCII("LVM2 001", at: sector * 512 + 24) {
            return .lvm
        }
        return fatVariant(bytes)
    }

    /// Signatures in the piece read at ``tailOffset``.
    static func recognize(tail bytes: [UInt8]) -> Filesystem? {
        if bytes.hasASCII("SWAPSPACE2", at: 502) || bytes.hasASCII("SWAP-SPACE", at: 502) { return .swap }
        if bytes.hasASCII("_BHRfS_M", at: 512 + 64) { return .btrfs }
        return nil
    }

    /// ext2, ext3 or ext4 from the superblock at 1024, as blkid tells them apart.
    static func extVariant(_ bytes: [UInt8]) -> Filesystem? {
        let superblock = 1024
        guard bytes.count >= superblock + 1024, bytes.littleEndian(UInt16.self, at: superblock + 56) == 0xEF53 else { return nil }
        let compatible = bytes.littleEndian(UInt32.self, at: superblock + 92)
        let incompatible = bytes.littleEndian(UInt32.self, at: superblock + 96)
        let readOnlyCompatible = bytes.littleEndian(UInt32.self, at: superblock + 100)
        // Incompatible features ext3 lacks: extents 0x40, 64bit 0x80, mmp 0x100, flex_bg 0x200,
        // ea_inode 0x400, dirdata 0x1000, csum_seed 0x2000, largedir 0x4000, inline_data 0x8000.
        let ext4Incompatible: UInt32 = 0xF7C0
        // Read-only features ext3 lacks: huge_file 0x8, gdt_csum 0x10, dir_nlink 0x20,
        // extra_isize 0x40, quota 0x100, bigalloc 0x200, metadata_csum 0x400.
        let ext4ReadOnly: UInt32 = 0x778
        if incompatible & ext4Incompatible != 0 || readOnlyCompatible & ext4ReadOnly != 0 { return .ext4 }
        let hasJournal: UInt32 = 0x4
        return compatible & hasJournal != 0 ? .ext3 : .ext2
    }

    /// FAT12, FAT16 or FAT32 from a consistent BIOS parameter block, by cluster count
    /// (Microsoft's rule: under 4085 clusters FAT12, under 65525 FAT16, else FAT32).
    static func fatVariant(_ bytes: [UInt8]) -> Filesystem? {
        guard bytes.count >= 512, bytes[510] == 0x55, bytes[511] == 0xAA else { return nil }
        guard bytes[0] == 0xEB || bytes[0] == 0xE9 else { return nil }  // a jump instruction
        let bytesPerSector = UInt64(bytes.littleEndian(UInt16.self, at: 11))
        let sectorsPerCluster = UInt64(bytes[13])
        let reservedSectors = UInt64(bytes.littleEndian(UInt16.self, at: 14))
        let fatCount = UInt64(bytes[16])
        let rootEntries = UInt64(bytes.littleEndian(UInt16.self, at: 17))
        let totalSectors16 = UInt64(bytes.littleEndian(UInt16.self, at: 19))
        let fatSize16 = UInt64(bytes.littleEndian(UInt16.self, at: 22))
        let totalSectors32 = UInt64(bytes.littleEndian(UInt32.self, at: 32))
        let fatSize32 = UInt64(bytes.littleEndian(UInt32.self, at: 36))
        guard [512, 1024, 2048, 4096].contains(bytesPerSector), sectorsPerCluster > 0,
              sectorsPerCluster & (sectorsPerCluster - 1) == 0, reservedSectors > 0, fatCount > 0
        else { return nil }
        let fatSize = fatSize16 != 0 ? fatSize16 : fatSize32
        let totalSectors = totalSectors16 != 0 ? totalSectors16 : totalSectors32
        let rootSectors = (rootEntries * 32 + bytesPerSector - 1) / bytesPerSector
        let metadataSectors = reservedSectors + fatCount * fatSize + rootSectors  // all fields are small: no overflow
        guard fatSize > 0, totalSectors > metadataSectors else { return nil }
        let clusters = (totalSectors - metadataSectors) / sectorsPerCluster
        if clusters < 4085 { return .fat12 }
        if clusters < 65525 { return .fat16 }
        return .fat32
    }
}
