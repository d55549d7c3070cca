/// One of the eight 24-byte parent locator entries at dynamic header offset 576: where the
/// file holds a path to the parent of a differencing disk, and in which encoding.
public struct ParentLocator: Hashable, Sendable {
    /// Size of one entry in bytes.
    public static let size = 24

    /// Entry offset 0: the platform code; ``PlatformCode/none`` marks an unused entry.
    public var platformCode: PlatformCode
    /// Entry offset 4: space reserved for the path. The specification says sectors; Virtual PC
    /// and Hyper-V store bytes. See ``dataSpaceInBytes``.
    public var platformDataSpace: UInt32
    /// Entry offset 8: length of the path in bytes.
    public var platformDataLength: UInt32
    /// Entry offset 12: reserved, zero.
    public var reserved: UInt32
    /// Entry offset 16: absolute file offset of the path.
    public var platformDataOffset: UInt64

    /// Makes an entry from field values, taken as they are.
    ///
    /// - Parameters:
    ///   - platformCode: entry offset 0: the kind of path; ``PlatformCode/none`` for an unused entry.
    ///   - platformDataSpace: entry offset 4: space reserved for the path, in sectors or bytes (see
    ///     ``dataSpaceInBytes``).
    ///   - platformDataLength: entry offset 8: length of the path in bytes.
    ///   - reserved: entry offset 12; zero.
    ///   - platformDataOffset: entry offset 16: absolute file offset of the path.
    public init(
        platformCode: PlatformCode, platformDataSpace: UInt32, platformDataLength: UInt32,
        reserved: UInt32 = 0, platformDataOffset: UInt64
    ) {
        self.platformCode = platformCode
        self.platformDataSpace = platformDataSpace
        self.platformDataLength = platformDataLength
        self.reserved = reserved
        self.platformDataOffset = platformDataOffset
    }

    /// An unused entry (all zero).
    public static let empty = ParentLocator(
        platformCode: .none, platformDataSpace: 0, platformDataLength: 0, platformDataOffset: 0)

    /// Parses one entry from its 24 bytes.
    ///
    /// - Parameter bytes: the entry's bytes; more than 24 are ignored.
    /// - Throws: ``VHDFormatError/truncated(_:needed:available:)`` if fewer bytes are given.
    public init(parsing bytes: RawSpan) throws(VHDFormatError) {
        guard bytes.byteCount >= ParentLocator.size else {
            throw .truncated(.parentLocator, needed: ParentLocator.size, available: bytes.byteCount)
        }
        platformCode = PlatformCode(rawValue: bytes.bigEndian(UInt32.self, at: 0))
        platformDataSpace = bytes.bigEndian(UInt32.self, at: 4)
        platformDataLength = bytes.bigEndian(UInt32.self, at: 8)
        reserved = bytes.bigEndian(UInt32.self, at: 12)
        platformDataOffset = bytes.bigEndian(UInt64.self, at: 16)
    }

    /// The 24 bytes of this entry.
    public func serialized() -> [UInt8] {
        var writer = ByteWriter(count: ParentLocator.size)
        writer.setBigEndian(platformCode.rawValue, at: 0)
        writer.setBigEndian(platformDataSpace, at: 4)
        writer.setBigEndian(platformDataLength, at: 8)
        writer.setBigEndian(reserved, at: 12)
        writer.setBigEndian(platformDataOffset, at: 16)
        return writer.bytes
    }

    /// Whether the entry is unused.
    public var isEmpty: Bool { platformCode == .none }

    /// The reserved space in bytes, read as blktap does: a value under 512 counts sectors
    /// (the specification's unit), anything else counts bytes (what Virtual PC and Hyper-V write).
    public var dataSpaceInBytes: UInt64 {
        platformDataSpace < 512 ? UInt64(platformDataSpace) * 512 : UInt64(platformDataSpace)
    }

    /// Decodes the path stored for this locator.
    ///
    /// W2ku and W2ru hold UTF-16LE (whatever the specification's byte order says, every writer
    /// uses little-endian); MacX holds a UTF-8 file URL. Unpaired surrogates and invalid UTF-8
    /// decode as U+FFFD; trailing NULs are dropped.
    ///
    /// - Parameter data: the ``platformDataLength`` bytes at ``platformDataOffset``.
    /// - Returns: the path, or nil for a platform code whose data is not text ("Mac " aliases,
    ///   unknown codes).
    public func decodePath(_ data: RawSpan) -> String? {
        switch platformCode {
        case .w2ku, .w2ru, .wi2k, .wi2r:
            let unitCount = data.byteCount / 2
            var units: [UInt16] = []
            units.reserveCapacity(unitCount)
            for index in 0..<unitCount { units.append(data.littleEndian(UInt16.self, at: 2 * index)) }
            while units.last == 0 { units.removeLast() }
            return String(decoding: units, as: UTF16.self)
        case .macX:
            var bytes = data.withUnsafeBytes { Array($0) }
            while bytes.last == 0 { bytes.removeLast() }
            return String(decoding: bytes, as: UTF8.self)
        default:
            return nil
        }
    }

    /// Encodes `path` as a W2ku/W2ru locator stores it: UTF-16LE, no terminator.
    ///
    /// - Parameter path: the path, with whatever separators the caller chose.
    /// - Returns: two bytes per UTF-16 code unit, low byte first.
    public static func encodeWindowsPath(_ path: String) -> [UInt8] {
        path.utf16.flatMap { [UInt8(truncatingIfNeeded: $0), UInt8(truncatingIfNeeded: $0 >> 8)] }
    }
}

/// The platform code of a parent locator entry: which kind of path it holds.
public struct PlatformCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The code as stored big-endian at locator entry offset 0: four ASCII bytes (0x5732_6B75 for
    /// "W2ku"), or 0 for an unused entry.
    public var rawValue: UInt32

    /// Makes a platform code from its stored value; codes the specification does not list are kept.
    ///
    /// - Parameter rawValue: the 32-bit value read big-endian at locator entry offset 0.
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Unused entry.
    public static let none = PlatformCode(rawValue: 0)
    /// Deprecated Windows relative path ("Wi2r").
    public static let wi2r = PlatformCode(rawValue: 0x5769_3272)
    /// Deprecated Windows absolute path ("Wi2k").
    public static let wi2k = PlatformCode(rawValue: 0x5769_326B)
    /// Windows relative path, UTF-16 ("W2ru").
    public static let w2ru = PlatformCode(rawValue: 0x5732_7275)
    /// Windows absolute path, UTF-16 ("W2ku").
    public static let w2ku = PlatformCode(rawValue: 0x5732_6B75)
    /// Mac OS alias blob ("Mac ").
    public static let mac = PlatformCode(rawValue: 0x4D61_6320)
    /// Mac OS X file URL, UTF-8 ("MacX").
    public static let macX = PlatformCode(rawValue: 0x4D61_6358)

    /// The four characters, e.g. "W2ku"; "none" for an unused entry.
    public var description: String {
        self == .none ? "none" : FourCharacterCode(rawValue: rawValue).description
    }
}
