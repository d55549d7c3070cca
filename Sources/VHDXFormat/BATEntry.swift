/// One 64-bit entry of the VHDX block allocation table: a state in bits 0-2 and the file
/// offset in MiB in bits 20-63.
///
/// The table interleaves payload-block entries with sector-bitmap entries: after every
/// ``VHDXGeometry/chunkRatio`` payload entries comes the entry of the sector-bitmap block
/// covering them.
public struct VHDXBATEntry: Hashable, Sendable {
    /// The state of a payload block.
    public enum PayloadState: UInt8, Sendable, CustomStringConvertible {
        /// Never written: zeros, or the parent's data in a differencing disk.
        case notPresent = 0
        /// Content undefined (after a trim): read as zeros here, as qemu and libvhdi do.
        case undefined = 1
        /// Reads as zeros.
        case zero = 2
        /// Unmapped by the guest: read as zeros (or the parent's data).
        case unmapped = 3
        /// Every sector is stored in this file.
        case fullyPresent = 6
        /// Differencing only: the sector bitmap says which sectors are stored here.
        case partiallyPresent = 7

        /// The state's name in words, e.g. "fully present".
        public var description: String {
            switch self {
            case .notPresent: "not present"
            case .undefined: "undefined"
            case .zero: "zero"
            case .unmapped: "unmapped"
            case .fullyPresent: "fully present"
            case .partiallyPresent: "partially present"
            }
        }
    }

    /// The 64 bits as stored (little-endian in the file).
    public var rawValue: UInt64

    /// Wraps an entry's 64 bits as read from the table.
    ///
    /// - Parameter rawValue: The entry, already converted from little-endian.
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// Builds an entry from a state and a file offset in MiB.
    ///
    /// - Parameters:
    ///   - state: The state to store in bits 0-2; only its low 3 bits are kept.
    ///   - fileOffsetInMiB: Where the block starts in the file, in MiB, stored in bits 20-63;
    ///     it must be below 2^44.
    public init(state: UInt8, fileOffsetInMiB: UInt64) {
        rawValue = UInt64(state & 7) | (fileOffsetInMiB << 20)
    }

    /// Bits 0-2.
    public var stateBits: UInt8 { UInt8(rawValue & 7) }
    /// The payload state, or nil for a value the specification does not define (4, 5).
    public var payloadState: PayloadState? { PayloadState(rawValue: stateBits) }
    /// A sector-bitmap entry's state: 6 present, 0 not present.
    public var sectorBitmapPresent: Bool { stateBits == 6 }
    /// Bits 20-63: where the block starts, in MiB.
    public var fileOffsetInMiB: UInt64 { rawValue >> 20 }
    /// Where the block starts in bytes (fits: 44 bits of MiB is below 2^64).
    public var fileOffset: UInt64 { fileOffsetInMiB << 20 }
    /// Bits 3-19, which must be zero.
    public var reservedBits: UInt64 { (rawValue >> 3) & 0x1_FFFF }

    /// Decodes `count` entries in one pass over `bytes`.
    ///
    /// - Parameters:
    ///   - bytes: The table as stored, 8 bytes per entry, little-endian.
    ///   - count: The number of entries to decode, e.g. ``VHDXGeometry/entryCount``.
    /// - Returns: The entries' raw values, in table order.
    /// - Throws: ``VHDXFormatError/truncated(_:needed:available:)`` if fewer than 8 x `count`
    ///   bytes are there.
    public static func entries(parsing bytes: RawSpan, count: Int) throws(VHDXFormatError) -> [UInt64] {
        let needed = count.multipliedReportingOverflow(by: 8)
        guard count >= 0, !needed.overflow, bytes.byteCount >= needed.partialValue else {
            throw .truncated(.blockAllocationTable, needed: needed.overflow ? .max : needed.partialValue, available: bytes.byteCount)
        }
        return bytes.withUnsafeBytes { buffer in
            [UInt64](unsafeUninitializedCapacity: count) { table, initialized in
                for index in 0..<count {
                    table[index] = UInt64(littleEndian: buffer.loadUnaligned(fromByteOffset: 8 * index, as: UInt64.self))
                }
                initialized = count
            }
        }
    }

    /// Decodes `count` entries from an array.
    public static func entries(parsing bytes: [UInt8], count: Int) throws(VHDXFormatError) -> [UInt64] {
        try entries(parsing: bytes.span.bytes, count: count)
    }

    /// `entries` as stored: 8 bytes each, little-endian.
    public static func serialized(_ entries: [UInt64]) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: entries.count * 8)
        bytes.withUnsafeMutableBytes { buffer in
            for (index, entry) in entries.enumerated() { buffer.storeBytes(of: entry.littleEndian, toByteOffset: 8 * index, as: UInt64.self) }
        }
        return bytes
    }
}

/// The sizes that follow from the file parameters: chunk ratio and table lengths (MS-VHDX 2.5).
public struct VHDXGeometry: Hashable, Sendable {
    /// The size of the virtual disk in bytes (the virtual disk size metadata item).
    public var virtualSize: UInt64
    /// The payload block size in bytes (file parameters): a power of two from 1 MiB to 256 MiB.
    public var blockSize: UInt32
    /// The logical sector size in bytes (the logical sector size metadata item): 512 or 4096.
    public var logicalSectorSize: UInt32
    /// Whether the disk is differencing (the HasParent flag of the file parameters).
    public var hasParent: Bool

    /// Collects the parameters the table's layout depends on.
    ///
    /// - Parameters:
    ///   - virtualSize: The virtual disk size in bytes.
    ///   - blockSize: The payload block size in bytes; must not be zero.
    ///   - logicalSectorSize: The logical sector size in bytes (512 or 4096).
    ///   - hasParent: Whether the disk is differencing.
    public init(virtualSize: UInt64, blockSize: UInt32, logicalSectorSize: UInt32, hasParent: Bool) {
        self.virtualSize = virtualSize
        self.blockSize = blockSize
        self.logicalSectorSize = logicalSectorSize
        self.hasParent = hasParent
    }

    /// Payload blocks covered by one sector-bitmap block: 2^23 x logical sector size / block size.
    public var chunkRatio: Int { Int((UInt64(1) << 23) * UInt64(logicalSectorSize) / UInt64(blockSize)) }
    /// Payload blocks of the virtual disk: ceil(virtual size / block size).
    public var payloadBlockCount: Int { Int((virtualSize + UInt64(blockSize) - 1) / UInt64(blockSize)) }
    /// Sector-bitmap blocks: ceil(payload blocks / chunk ratio).
    public var sectorBitmapBlockCount: Int { (payloadBlockCount + chunkRatio - 1) / chunkRatio }
    /// Entries in the table: a differencing disk has every chunk's sector-bitmap entry, a
    /// dynamic or fixed one only those between payload entries.
    public var entryCount: Int {
        hasParent ? sectorBitmapBlockCount * (chunkRatio + 1)
            : payloadBlockCount + (payloadBlockCount == 0 ? 0 : (payloadBlockCount - 1) / chunkRatio)
    }

    /// The table index of payload block `block`.
    public func payloadEntryIndex(_ block: Int) -> Int { block + block / chunkRatio }
    /// The table index of the sector-bitmap entry covering payload block `block`.
    public func sectorBitmapEntryIndex(forBlock block: Int) -> Int { (block / chunkRatio) * (chunkRatio + 1) + chunkRatio }
}
