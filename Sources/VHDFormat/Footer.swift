/// The 512-byte hard disk footer at the end of every VHD, copied to offset 0 of dynamic and
/// differencing disks. All fields big-endian.
public struct Footer: Hashable, Sendable, ChecksummedStructure {
    /// Size of the footer in bytes.
    public static let size = 512
    /// Size of the short footer some old images end with (file size 512n + 511): the last
    /// reserved byte is missing.
    public static let legacySize = 511
    /// Offset 0: "conectix".
    public static let cookie: UInt64 = 0x636F_6E65_6374_6978
    /// Offset 12: version 1.0, the only one there is.
    public static let currentFormatVersion: UInt32 = 0x0001_0000
    /// Offset 8, bit 1: the specification says "reserved, must be set".
    public static let reservedFeatureBit: UInt32 = 0x2
    /// Offset 8, bit 0: the disk is a candidate for deletion on shutdown.
    public static let temporaryFeatureBit: UInt32 = 0x1
    /// Offset 16 of a fixed disk: no dynamic header (all ones).
    public static let noDataOffset: UInt64 = .max

    /// Offset 8: feature flags (``reservedFeatureBit``, ``temporaryFeatureBit``).
    public var features: UInt32
    /// Offset 12: major version in the high 16 bits, minor in the low.
    public var formatVersion: UInt32
    /// Offset 16: absolute file offset of the dynamic disk header; all ones for fixed disks.
    public var dataOffset: UInt64
    /// Offset 24: creation time.
    public var timestamp: VHDTimestamp
    /// Offset 28: the application that made the image ("qemu", "win ", "vpc ", "tap\0", ...).
    public var creatorApplication: FourCharacterCode
    /// Offset 32: that application's version, major in the high 16 bits, minor in the low.
    public var creatorVersion: UInt32
    /// Offset 36: "Wi2k" or "Mac ".
    public var creatorHostOS: FourCharacterCode
    /// Offset 40: the size in bytes when the disk was created.
    public var originalSize: UInt64
    /// Offset 48: the virtual size in bytes.
    public var currentSize: UInt64
    /// Offset 56: cylinders (u16), heads (u8), sectors per track (u8).
    public var geometry: DiskGeometry
    /// Offset 60: fixed, dynamic or differencing; parsing refuses any other value.
    public var diskType: DiskType
    /// Offset 64: as stored, which need not be right; see ``computedChecksum``.
    public var checksum: UInt32
    /// Offset 68: the disk's identity, which a differencing child records as its parent's
    /// (``DynamicHeader/parentUniqueId``).
    public var uniqueId: VHDUUID
    /// Offset 84: 1 when the disk belongs to a virtual machine in a saved state.
    public var savedState: UInt8
    /// Offsets 85..<512: reserved, zero in a conforming image. Kept so that serializing gives
    /// back the bytes that were parsed (blktap keeps a "hidden" flag in byte 85).
    public var reserved: [UInt8]

    /// Makes a footer from field values; the defaults are those of a new, conforming image.
    ///
    /// The checksum is stored as given: call ``ChecksummedStructure/withComputedChecksum()`` before
    /// ``serialized()`` to write a valid footer.
    ///
    /// - Parameters:
    ///   - features: footer offset 8: feature flags; ``reservedFeatureBit`` by default, which the
    ///     specification says must be set.
    ///   - formatVersion: footer offset 12; ``currentFormatVersion`` (1.0) by default.
    ///   - dataOffset: footer offset 16: absolute file offset of the dynamic disk header, or
    ///     ``noDataOffset`` for a fixed disk.
    ///   - timestamp: footer offset 24: the creation time.
    ///   - creatorApplication: footer offset 28: the application that made the image, e.g.
    ///     ``FourCharacterCode/vhdtool``.
    ///   - creatorVersion: footer offset 32: that application's version, major in the high 16 bits,
    ///     minor in the low.
    ///   - creatorHostOS: footer offset 36, e.g. ``FourCharacterCode/windows``.
    ///   - originalSize: footer offset 40: the size in bytes when the disk was created.
    ///   - currentSize: footer offset 48: the virtual size in bytes.
    ///   - geometry: footer offset 56: cylinders, heads and sectors per track, e.g.
    ///     ``DiskGeometry/init(forSizeInBytes:)``.
    ///   - diskType: footer offset 60.
    ///   - checksum: footer offset 64, stored as given; 0 by default.
    ///   - uniqueId: footer offset 68: the disk's identity, which a child names as its parent.
    ///   - savedState: footer offset 84: 1 when a virtual machine's saved state depends on the disk,
    ///     otherwise 0.
    ///   - reserved: offsets 85..<512: reserved bytes, zero by default; only the first 427 are written.
    public init(
        features: UInt32 = Footer.reservedFeatureBit, formatVersion: UInt32 = Footer.currentFormatVersion,
        dataOffset: UInt64, timestamp: VHDTimestamp, creatorApplication: FourCharacterCode,
        creatorVersion: UInt32, creatorHostOS: FourCharacterCode, originalSize: UInt64,
        currentSize: UInt64, geometry: DiskGeometry, diskType: DiskType, checksum: UInt32 = 0,
        uniqueId: VHDUUID, savedState: UInt8 = 0, reserved: [UInt8] = [UInt8](repeating: 0, count: 427)
    ) {
        self.features = features
        self.formatVersion = formatVersion
        self.dataOffset = dataOffset
        self.timestamp = timestamp
        self.creatorApplication = creatorApplication
        self.creatorVersion = creatorVersion
        self.creatorHostOS = creatorHostOS
        self.originalSize = originalSize
        self.currentSize = currentSize
        self.geometry = geometry
        self.diskType = diskType
        self.checksum = checksum
        self.uniqueId = uniqueId
        self.savedState = savedState
        self.reserved = reserved
    }

    /// Parses a footer from its 512 bytes (or the 511 of a legacy short footer).
    ///
    /// - Parameters:
    ///   - bytes: the footer's bytes; only the first 512 are read.
    ///   - checksumPolicy: `.verify` rejects a wrong stored checksum; `.ignore` keeps it in
    ///     ``checksum`` for the caller to report.
    /// - Throws: ``VHDFormatError`` if the bytes are short, the cookie is not "conectix", the
    ///   disk type is not fixed, dynamic or differencing, or (when verifying) the checksum is wrong.
    public init(parsing bytes: RawSpan, checksumPolicy: ChecksumPolicy = .verify) throws(VHDFormatError) {
        guard bytes.byteCount >= Footer.legacySize else {
            throw .truncated(.footer, needed: Footer.size, available: bytes.byteCount)
        }
        if bytes.byteCount == Footer.legacySize {
            // The missing last byte is reserved (zero); parse a padded copy.
            let padded = bytes.withUnsafeBytes { Array($0) } + [0]
            self = try Footer(parsingFull: padded.span.bytes, checksumPolicy: checksumPolicy)
        } else {
            self = try Footer(parsingFull: bytes, checksumPolicy: checksumPolicy)
        }
    }

    /// Parses at least 512 bytes.
    private init(parsingFull bytes: RawSpan, checksumPolicy: ChecksumPolicy) throws(VHDFormatError) {
        let cookie = bytes.bigEndian(UInt64.self, at: 0)
        guard cookie == Footer.cookie else { throw .badCookie(.footer, found: cookie) }
        checksum = bytes.bigEndian(UInt32.self, at: 64)
        if checksumPolicy == .verify {
            let computed = Checksum.footer(bytes)
            guard checksum == computed else {
                throw .checksumMismatch(.footer, stored: checksum, computed: computed)
            }
        }
        features = bytes.bigEndian(UInt32.self, at: 8)
        formatVersion = bytes.bigEndian(UInt32.self, at: 12)
        dataOffset = bytes.bigEndian(UInt64.self, at: 16)
        timestamp = VHDTimestamp(rawValue: bytes.bigEndian(UInt32.self, at: 24))
        creatorApplication = FourCharacterCode(rawValue: bytes.bigEndian(UInt32.self, at: 28))
        creatorVersion = bytes.bigEndian(UInt32.self, at: 32)
        creatorHostOS = FourCharacterCode(rawValue: bytes.bigEndian(UInt32.self, at: 36))
        originalSize = bytes.bigEndian(UInt64.self, at: 40)
        currentSize = bytes.bigEndian(UInt64.self, at: 48)
        geometry = DiskGeometry(
            cylinders: bytes.bigEndian(UInt16.self, at: 56), heads: bytes.bigEndian(UInt8.self, at: 58),
            sectorsPerTrack: bytes.bigEndian(UInt8.self, at: 59))
        diskType = try DiskType(validating: bytes.bigEndian(UInt32.self, at: 60))
        uniqueId = bytes.uuid(at: 68)
        savedState = bytes.bigEndian(UInt8.self, at: 84)
        reserved = bytes.bytes(at: 85, count: 427)
    }

    /// The 512 bytes of this footer, with ``checksum`` written as stored.
    public func serialized() -> [UInt8] {
        var writer = ByteWriter(count: Footer.size)
        writer.setBigEndian(Footer.cookie, at: 0)
        writer.setBigEndian(features, at: 8)
        writer.setBigEndian(formatVersion, at: 12)
        writer.setBigEndian(dataOffset, at: 16)
        writer.setBigEndian(timestamp.rawValue, at: 24)
        writer.setBigEndian(creatorApplication.rawValue, at: 28)
        writer.setBigEndian(creatorVersion, at: 32)
        writer.setBigEndian(creatorHostOS.rawValue, at: 36)
        writer.setBigEndian(originalSize, at: 40)
        writer.setBigEndian(currentSize, at: 48)
        writer.setBigEndian(geometry.cylinders, at: 56)
        writer.setBigEndian(geometry.heads, at: 58)
        writer.setBigEndian(geometry.sectorsPerTrack, at: 59)
        writer.setBigEndian(diskType.rawValue, at: 60)
        writer.setBigEndian(checksum, at: 64)
        writer.setUUID(uniqueId, at: 68)
        writer.setBigEndian(savedState, at: 84)
        writer.setBytes(reserved.prefix(427), at: 85)
        return writer.bytes
    }

    /// The checksum a footer's bytes should carry at footer offset 64.
    ///
    /// The specification's rule: the one's complement of the sum of all bytes, with the checksum
    /// field taken as zero.
    ///
    /// - Parameter bytes: the footer's bytes; only the first 512 are summed (511 for a legacy short
    ///   footer).
    /// - Returns: the checksum; compare it with the value stored big-endian at footer offset 64.
    public static func checksum(of bytes: RawSpan) -> UInt32 { Checksum.footer(bytes) }

    /// The creator version as "major.minor", e.g. "5.3" for QEMU's 0x00050003.
    public var creatorVersionText: String { "\(creatorVersion >> 16).\(creatorVersion & 0xFFFF)" }
}
