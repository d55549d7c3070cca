/// The 1024-byte dynamic disk header of dynamic and differencing disks, at the file offset the
/// footer's ``Footer/dataOffset`` names (512 in every image seen). All fields big-endian except
/// where noted.
public struct DynamicHeader: Hashable, Sendable, ChecksummedStructure {
    /// Size of the header in bytes.
    public static let size = 1024
    /// Offset 0: "cxsparse".
    public static let cookie: UInt64 = 0x6378_7370_6172_7365
    /// Offset 24: version 1.0.
    public static let currentHeaderVersion: UInt32 = 0x0001_0000
    /// Offset 8: unused, all ones.
    public static let noDataOffset: UInt64 = .max
    /// Number of parent locator entries at offset 576.
    public static let parentLocatorCount = 8
    /// Block size of dynamic disks made by Windows, QEMU and this project: 2 MiB.
    public static let defaultBlockSize: UInt32 = 2 << 20

    /// Offset 8: all ones (the specification reserves it for a next structure that never came).
    public var dataOffset: UInt64
    /// Offset 16: absolute file offset of the block allocation table.
    public var tableOffset: UInt64
    /// Offset 24: version, 0x00010000.
    public var headerVersion: UInt32
    /// Offset 28: number of BAT entries.
    public var maxTableEntries: UInt32
    /// Offset 32: bytes of virtual disk per block (data only, not counting its sector bitmap).
    public var blockSize: UInt32
    /// Offset 36: as stored; see ``computedChecksum``.
    public var checksum: UInt32
    /// Offset 40: the parent footer's ``Footer/uniqueId`` (differencing disks).
    public var parentUniqueId: VHDUUID
    /// Offset 56: the parent file's modification time when the child was made.
    public var parentTimestamp: VHDTimestamp
    /// Offset 60: reserved, zero.
    public var reserved1: UInt32
    /// Offset 64: the parent's file name, 256 UTF-16 code units stored **big-endian**.
    public var parentUnicodeName: [UInt16]
    /// Offset 576: eight locator entries.
    public var parentLocators: [ParentLocator]
    /// Offset 768: reserved, 256 bytes of zero.
    public var reserved2: [UInt8]

    /// Makes a header from field values; the defaults are those of a dynamic disk with no parent.
    ///
    /// The checksum is stored as given: call ``ChecksummedStructure/withComputedChecksum()`` before
    /// ``serialized()`` to write a valid header.
    ///
    /// - Parameters:
    ///   - dataOffset: header offset 8; ``noDataOffset`` (all ones), as the specification asks.
    ///   - tableOffset: header offset 16: absolute file offset of the block allocation table.
    ///   - headerVersion: header offset 24; ``currentHeaderVersion`` (1.0).
    ///   - maxTableEntries: header offset 28: number of BAT entries, one per block.
    ///   - blockSize: header offset 32: bytes of disk data per block, e.g. ``defaultBlockSize``.
    ///   - checksum: header offset 36, stored as given; 0 by default.
    ///   - parentUniqueId: header offset 40: the parent footer's ``Footer/uniqueId``;
    ///     ``VHDUUID/zero`` for a disk with no parent.
    ///   - parentTimestamp: header offset 56: the parent file's modification time; 0 for a disk with
    ///     no parent.
    ///   - reserved1: header offset 60; zero.
    ///   - parentUnicodeName: header offset 64: the parent's file name as UTF-16 code units, NUL-padded;
    ///     only the first 256 are written. ``setParentName(_:)`` fills it from a string.
    ///   - parentLocators: header offset 576: the locator entries; only the first 8 are written,
    ///     missing ones are written as ``ParentLocator/empty``.
    ///   - reserved2: header offset 768: reserved bytes; only the first 256 are written.
    public init(
        dataOffset: UInt64 = DynamicHeader.noDataOffset, tableOffset: UInt64,
        headerVersion: UInt32 = DynamicHeader.currentHeaderVersion, maxTableEntries: UInt32,
        blockSize: UInt32, checksum: UInt32 = 0, parentUniqueId: VHDUUID = .zero,
        parentTimestamp: VHDTimestamp = VHDTimestamp(rawValue: 0), reserved1: UInt32 = 0,
        parentUnicodeName: [UInt16] = [UInt16](repeating: 0, count: 256),
        parentLocators: [ParentLocator] = [ParentLocator](repeating: .empty, count: 8),
        reserved2: [UInt8] = [UInt8](repeating: 0, count: 256)
    ) {
        self.dataOffset = dataOffset
        self.tableOffset = tableOffset
        self.headerVersion = headerVersion
        self.maxTableEntries = maxTableEntries
        self.blockSize = blockSize
        self.checksum = checksum
        self.parentUniqueId = parentUniqueId
        self.parentTimestamp = parentTimestamp
        self.reserved1 = reserved1
        self.parentUnicodeName = parentUnicodeName
        self.parentLocators = parentLocators
        self.reserved2 = reserved2
    }

    /// Parses the header from its 1024 bytes.
    ///
    /// - Parameters:
    ///   - bytes: the header's bytes; only the first 1024 are read.
    ///   - checksumPolicy: `.verify` rejects a wrong stored checksum; `.ignore` keeps it.
    /// - Throws: ``VHDFormatError`` if the bytes are short, the cookie is not "cxsparse" or
    ///   (when verifying) the checksum is wrong. Field values are checked against the file by
    ///   the caller, which knows the file.
    public init(parsing bytes: RawSpan, checksumPolicy: ChecksumPolicy = .verify) throws(VHDFormatError) {
        guard bytes.byteCount >= DynamicHeader.size else {
            throw .truncated(.dynamicHeader, needed: DynamicHeader.size, available: bytes.byteCount)
        }
        let cookie = bytes.bigEndian(UInt64.self, at: 0)
        guard cookie == DynamicHeader.cookie else { throw .badCookie(.dynamicHeader, found: cookie) }
        checksum = bytes.bigEndian(UInt32.self, at: 36)
        if checksumPolicy == .verify {
            let computed = Checksum.dynamicHeader(bytes)
            guard checksum == computed else {
                throw .checksumMismatch(.dynamicHeader, stored: checksum, computed: computed)
            }
        }
        dataOffset = bytes.bigEndian(UInt64.self, at: 8)
        tableOffset = bytes.bigEndian(UInt64.self, at: 16)
        headerVersion = bytes.bigEndian(UInt32.self, at: 24)
        maxTableEntries = bytes.bigEndian(UInt32.self, at: 28)
        blockSize = bytes.bigEndian(UInt32.self, at: 32)
        parentUniqueId = bytes.uuid(at: 40)
        parentTimestamp = VHDTimestamp(rawValue: bytes.bigEndian(UInt32.self, at: 56))
        reserved1 = bytes.bigEndian(UInt32.self, at: 60)
        parentUnicodeName = (0..<256).map { bytes.bigEndian(UInt16.self, at: 64 + 2 * $0) }
        var locators: [ParentLocator] = []
        locators.reserveCapacity(DynamicHeader.parentLocatorCount)
        for index in 0..<DynamicHeader.parentLocatorCount {
            let start = 576 + index * ParentLocator.size
            locators.append(try ParentLocator(parsing: bytes.extracting(start..<(start + ParentLocator.size))))
        }
        parentLocators = locators
        reserved2 = bytes.bytes(at: 768, count: 256)
    }

    /// The 1024 bytes of this header, with ``checksum`` written as stored.
    public func serialized() -> [UInt8] {
        var writer = ByteWriter(count: DynamicHeader.size)
        writer.setBigEndian(DynamicHeader.cookie, at: 0)
        writer.setBigEndian(dataOffset, at: 8)
        writer.setBigEndian(tableOffset, at: 16)
        writer.setBigEndian(headerVersion, at: 24)
        writer.setBigEndian(maxTableEntries, at: 28)
        writer.setBigEndian(blockSize, at: 32)
        writer.setBigEndian(checksum, at: 36)
        writer.setUUID(parentUniqueId, at: 40)
        writer.setBigEndian(parentTimestamp.rawValue, at: 56)
        writer.setBigEndian(reserved1, at: 60)
        for (index, unit) in parentUnicodeName.prefix(256).enumerated() {
            writer.setBigEndian(unit, at: 64 + 2 * index)
        }
        for (index, locator) in parentLocators.prefix(DynamicHeader.parentLocatorCount).enumerated() {
            writer.setBytes(locator.serialized(), at: 576 + index * ParentLocator.size)
        }
        writer.setBytes(reserved2.prefix(256), at: 768)
        return writer.bytes
    }

    /// The checksum a dynamic header's bytes should carry at header offset 36.
    ///
    /// The specification's rule: the one's complement of the sum of all bytes, with the checksum
    /// field taken as zero.
    ///
    /// - Parameter bytes: the header's bytes; only the first 1024 are summed.
    /// - Returns: the checksum; compare it with the value stored big-endian at header offset 36.
    public static func checksum(of bytes: RawSpan) -> UInt32 { Checksum.dynamicHeader(bytes) }

    /// The parent's name: ``parentUnicodeName`` up to its first NUL. Unpaired surrogates
    /// decode as U+FFFD.
    public var parentName: String {
        String(decoding: parentUnicodeName.prefix { $0 != 0 }, as: UTF16.self)
    }

    /// Sets ``parentUnicodeName`` from a name, truncated to 256 UTF-16 code units.
    ///
    /// - Parameter name: the parent's name; the rest of the field is filled with NULs.
    public mutating func setParentName(_ name: String) {
        let units = Array(name.utf16.prefix(256))
        parentUnicodeName = units + [UInt16](repeating: 0, count: 256 - units.count)
    }

    /// Bytes of the sector bitmap in front of each block: one bit per sector, padded to 512.
    public var sectorBitmapSizeInBytes: Int { DynamicHeader.sectorBitmapSize(blockSize: blockSize) }

    /// Bytes of the sector bitmap in front of a block of `blockSize` bytes.
    ///
    /// - Parameter blockSize: bytes of disk data per block.
    /// - Returns: one bit per 512-byte sector, rounded up to whole bytes and then to a multiple
    ///   of 512 (512 for a 2 MiB block).
    public static func sectorBitmapSize(blockSize: UInt32) -> Int {
        let bitmapBytes = (Int(blockSize) / 512 + 7) / 8
        return (bitmapBytes + 511) / 512 * 512
    }
}
