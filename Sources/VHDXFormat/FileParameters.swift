/// The file parameters metadata item (8 bytes): block size and two flags.
///
/// Offset 0: block size (a power of two from 1 MiB to 256 MiB) · offset 4: flags, bit 0
/// LeaveBlockAllocated (a fixed disk: blocks stay allocated), bit 1 HasParent (differencing).
public struct VHDXFileParameters: Hashable, Sendable {
    /// Bytes of the item: the block size and the flags.
    public static let size = 8
    /// The smallest block size the specification allows: 1 MiB.
    public static let minimumBlockSize: UInt32 = 1 << 20
    /// The largest block size the specification allows: 256 MiB.
    public static let maximumBlockSize: UInt32 = 256 << 20

    /// Bytes of each payload block, a power of two from 1 MiB to 256 MiB. Stored little-endian at offset 0 of the item.
    public var blockSize: UInt32
    /// Whether blocks stay allocated once written, as in a fixed disk. Bit 0 of the flags at offset 4.
    public var leaveBlockAllocated: Bool
    /// Whether the disk is differencing and has a parent locator item. Bit 1 of the flags at offset 4.
    public var hasParent: Bool

    /// Makes file parameters from their values, unchecked.
    ///
    /// - Parameters:
    ///   - blockSize: Bytes of each payload block, a power of two from 1 MiB to 256 MiB.
    ///   - leaveBlockAllocated: Whether blocks stay allocated (a fixed disk).
    ///   - hasParent: Whether the disk is differencing.
    public init(blockSize: UInt32, leaveBlockAllocated: Bool, hasParent: Bool) {
        self.blockSize = blockSize
        self.leaveBlockAllocated = leaveBlockAllocated
        self.hasParent = hasParent
    }

    /// Parses the file parameters item.
    ///
    /// - Parameter bytes: The item's bytes, at least 8.
    /// - Throws: ``VHDXFormatError`` if short or the block size is not a power of two from
    ///   1 MiB to 256 MiB.
    public init(parsing bytes: RawSpan) throws(VHDXFormatError) {
        guard bytes.byteCount >= Self.size else { throw .truncated(.fileParameters, needed: Self.size, available: bytes.byteCount) }
        blockSize = bytes.littleEndian(UInt32.self, at: 0)
        let flags = bytes.littleEndian(UInt32.self, at: 4)
        leaveBlockAllocated = flags & 1 != 0
        hasParent = flags & 2 != 0
        guard blockSize.nonzeroBitCount == 1, (Self.minimumBlockSize...Self.maximumBlockSize).contains(blockSize) else {
            throw .invalidField(.fileParameters, field: "block size", value: UInt64(blockSize), rule: "it must be a power of two from 1 MiB to 256 MiB")
        }
    }

    /// Parses the item from an array.
    ///
    /// - Parameter bytes: The item's bytes, at least 8.
    /// - Throws: ``VHDXFormatError`` if short or the block size is not a power of two from
    ///   1 MiB to 256 MiB.
    public init(parsing bytes: [UInt8]) throws(VHDXFormatError) { self = try Self(parsing: bytes.span.bytes) }

    /// The item as stored: 8 bytes, little-endian.
    ///
    /// - Returns: The block size at offset 0 and the flags at offset 4.
    public func serialized() -> [UInt8] {
        var writer = LittleEndianWriter(count: Self.size)
        writer.set(blockSize, at: 0)
        writer.set(UInt32((leaveBlockAllocated ? 1 : 0) | (hasParent ? 2 : 0)), at: 4)
        return writer.bytes
    }
}

/// The small fixed-size metadata items: virtual disk size (8 bytes), virtual disk id (16),
/// logical and physical sector size (4 each).
public enum VHDXMetadataValue {
    /// The largest virtual size the specification allows: 64 TiB.
    public static let maximumVirtualSize: UInt64 = 64 << 40

    /// The virtual disk size item: a multiple of the logical sector size, at most 64 TiB.
    ///
    /// - Parameters:
    ///   - bytes: The item's bytes, at least 8: the size stored little-endian at offset 0.
    ///   - logicalSectorSize: The logical sector size in bytes the size must be a multiple of.
    /// - Returns: The virtual disk size in bytes.
    /// - Throws: ``VHDXFormatError`` if short, zero, above 64 TiB or not a whole number of sectors.
    public static func virtualDiskSize(parsing bytes: RawSpan, logicalSectorSize: UInt32) throws(VHDXFormatError) -> UInt64 {
        guard bytes.byteCount >= 8 else { throw .truncated(.metadataItem, needed: 8, available: bytes.byteCount) }
        let size = bytes.littleEndian(UInt64.self, at: 0)
        guard size > 0, size <= maximumVirtualSize, size % UInt64(logicalSectorSize) == 0 else {
            throw .invalidField(.metadataItem, field: "virtual disk size", value: size,
                                rule: "it must be a whole number of \(logicalSectorSize)-byte sectors, from 1 sector to 64 TiB")
        }
        return size
    }

    /// A sector size item (logical or physical): 512 or 4096.
    ///
    /// - Parameters:
    ///   - bytes: The item's bytes, at least 4: the size stored little-endian at offset 0.
    ///   - field: The item's name, used in the error message.
    /// - Returns: The sector size in bytes: 512 or 4096.
    /// - Throws: ``VHDXFormatError`` if short or the size is neither 512 nor 4096.
    public static func sectorSize(parsing bytes: RawSpan, field: String) throws(VHDXFormatError) -> UInt32 {
        guard bytes.byteCount >= 4 else { throw .truncated(.metadataItem, needed: 4, available: bytes.byteCount) }
        let size = bytes.littleEndian(UInt32.self, at: 0)
        guard size == 512 || size == 4096 else {
            throw .invalidField(.metadataItem, field: field, value: UInt64(size), rule: "it must be 512 or 4096")
        }
        return size
    }

    /// The virtual disk id item (the SCSI page 83 identifier).
    ///
    /// - Parameter bytes: The item's bytes, at least 16.
    /// - Returns: The GUID stored at offset 0 of the item.
    /// - Throws: ``VHDXFormatError`` if fewer than 16 bytes are given.
    public static func virtualDiskId(parsing bytes: RawSpan) throws(VHDXFormatError) -> VHDXGUID {
        guard bytes.byteCount >= 16 else { throw .truncated(.metadataItem, needed: 16, available: bytes.byteCount) }
        return bytes.guid(at: 0)
    }

    /// See ``virtualDiskSize(parsing:logicalSectorSize:)-(RawSpan,_)``.
    public static func virtualDiskSize(parsing bytes: [UInt8], logicalSectorSize: UInt32) throws(VHDXFormatError) -> UInt64 {
        try virtualDiskSize(parsing: bytes.span.bytes, logicalSectorSize: logicalSectorSize)
    }

    /// Parses a sector size item (logical or physical) from an array.
    ///
    /// - Parameters:
    ///   - bytes: The item's bytes, at least 4.
    ///   - field: The item's name, used in the error message.
    /// - Returns: The sector size in bytes: 512 or 4096.
    /// - Throws: ``VHDXFormatError`` if short or the size is neither 512 nor 4096.
    public static func sectorSize(parsing bytes: [UInt8], field: String) throws(VHDXFormatError) -> UInt32 {
        try sectorSize(parsing: bytes.span.bytes, field: field)
    }

    /// Parses the virtual disk id item from an array.
    ///
    /// - Parameter bytes: The item's bytes, at least 16.
    /// - Returns: The GUID stored at offset 0 of the item.
    /// - Throws: ``VHDXFormatError`` if fewer than 16 bytes are given.
    public static func virtualDiskId(parsing bytes: [UInt8]) throws(VHDXFormatError) -> VHDXGUID {
        try virtualDiskId(parsing: bytes.span.bytes)
    }

    /// Little-endian bytes of an integer item.
    public static func serialized<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        withUnsafeBytes(of: value.littleEndian) { Array($0) }
    }
}
