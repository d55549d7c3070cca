/// A VHDX region table, at file offsets 192 KiB and 256 KiB (64 KiB each, identical copies).
///
/// Header: 0 signature "regi" · 4 checksum (CRC-32C over the 64 KiB) · 8 entry count (at most
/// 2047) · 12 reserved. Entries from offset 16, 32 bytes each: 0 GUID · 16 file offset ·
/// 24 length · 28 flags (bit 0: required). Offsets and lengths are multiples of 1 MiB.
public struct VHDXRegionTable: Hashable, Sendable {
    /// "regi" read as a little-endian integer.
    public static let signature: UInt32 = 0x6967_6572
    /// Bytes of each copy of the table, covered by its checksum: 64 KiB.
    public static let size = 64 << 10
    /// File offsets of the two copies: 192 KiB and 256 KiB.
    public static let offsets: [Int64] = [192 << 10, 256 << 10]
    /// The most entries the table can hold.
    public static let maximumEntryCount = 2047
    /// The BAT region's GUID.
    public static let batGUID = VHDXGUID("2DC27766-F623-4200-9D64-115E9BFD4A08")!
    /// The metadata region's GUID.
    public static let metadataGUID = VHDXGUID("8B7CA206-4790-4B9A-B8FE-575F050F886E")!

    /// One 32-byte entry of the table: a region's GUID, place and flag.
    public struct Entry: Hashable, Sendable {
        /// The region's GUID, e.g. ``VHDXRegionTable/batGUID``. Stored at offset 0 of the entry.
        public var guid: VHDXGUID
        /// File offset of the region, a multiple of 1 MiB, at least 1 MiB.
        public var fileOffset: UInt64
        /// Bytes of the region, a multiple of 1 MiB.
        public var length: UInt32
        /// A reader that does not know a required region must not open the file.
        public var isRequired: Bool

        /// Makes an entry from its values, unchecked.
        ///
        /// - Parameters:
        ///   - guid: The region's GUID.
        ///   - fileOffset: File offset of the region in bytes, a multiple of 1 MiB, at least 1 MiB.
        ///   - length: Bytes of the region, a multiple of 1 MiB.
        ///   - isRequired: Whether a reader that does not know the region must refuse the file.
        public init(guid: VHDXGUID, fileOffset: UInt64, length: UInt32, isRequired: Bool) {
            self.guid = guid
            self.fileOffset = fileOffset
            self.length = length
            self.isRequired = isRequired
        }

        /// The region's file range, or nil if it overflows.
        public var fileRange: Range<UInt64>? {
            let end = fileOffset.addingReportingOverflow(UInt64(length))
            return end.overflow ? nil : fileOffset..<end.partialValue
        }
    }

    /// The CRC-32C stored little-endian at offset 4 (0 for a table built in memory).
    public var checksum: UInt32
    /// The CRC-32C of the bytes parsed (0 for a table built in memory).
    public var computedChecksum: UInt32
    /// The entries in stored order, from offset 16 of the table.
    public var entries: [Entry]

    /// Whether the stored checksum matches the computed one.
    public var checksumIsValid: Bool { checksum == computedChecksum }

    /// Makes a table from its entries, unchecked; ``serialized()`` computes the checksum.
    ///
    /// - Parameter entries: At most 2047 entries, each GUID listed once.
    public init(entries: [Entry]) {
        self.entries = entries
        checksum = 0
        computedChecksum = 0
    }

    /// The entry with `guid`, if listed.
    public func entry(_ guid: VHDXGUID) -> Entry? { entries.first { $0.guid == guid } }

    /// Parses a region table.
    ///
    /// - Parameters:
    ///   - bytes: At least 64 KiB from the table's file offset.
    ///   - checksumPolicy: `.verify` to refuse a wrong checksum, `.ignore` to record it in
    ///     ``checksum`` and ``computedChecksum`` and go on.
    /// - Throws: ``VHDXFormatError`` if the bytes are short, the signature or checksum is wrong,
    ///   there are more than 2047 entries, a GUID is listed twice, or a region is not 1 MiB-aligned.
    public init(parsing bytes: RawSpan, checksumPolicy: VHDXChecksumPolicy = .verify) throws(VHDXFormatError) {
        guard bytes.byteCount >= Self.size else { throw .truncated(.regionTable, needed: Self.size, available: bytes.byteCount) }
        let found = bytes.littleEndian(UInt32.self, at: 0)
        guard found == Self.signature else { throw .badSignature(.regionTable, found: UInt64(found)) }
        checksum = bytes.littleEndian(UInt32.self, at: 4)
        computedChecksum = CRC32C.checksum(bytes.extracting(0..<Self.size), zeroing: 4)
        if checksumPolicy == .verify && checksum != computedChecksum {
            throw .checksumMismatch(.regionTable, stored: checksum, computed: computedChecksum)
        }
        let count = bytes.littleEndian(UInt32.self, at: 8)
        guard count <= Self.maximumEntryCount else {
            throw .invalidField(.regionTable, field: "entry count", value: UInt64(count), rule: "at most 2047 entries fit")
        }
        var entries: [Entry] = []
        for index in 0..<Int(count) {
            let base = 16 + 32 * index
            let entry = Entry(
                guid: bytes.guid(at: base), fileOffset: bytes.littleEndian(UInt64.self, at: base + 16),
                length: bytes.littleEndian(UInt32.self, at: base + 24),
                isRequired: bytes.littleEndian(UInt32.self, at: base + 28) & 1 != 0)
            guard !entries.contains(where: { $0.guid == entry.guid }) else { throw .duplicateEntry(.regionTable, entry.guid) }
            guard entry.fileOffset % (1 << 20) == 0, entry.fileOffset >= 1 << 20 else {
                throw .invalidField(.regionTable, field: "file offset of region \(entry.guid)", value: entry.fileOffset, rule: "it must be a multiple of 1 MiB, at least 1 MiB")
            }
            guard entry.length % (1 << 20) == 0 else {
                throw .invalidField(.regionTable, field: "length of region \(entry.guid)", value: UInt64(entry.length), rule: "it must be a multiple of 1 MiB")
            }
            entries.append(entry)
        }
        self.entries = entries
    }

    /// Parses a region table from an array.
    ///
    /// - Parameters:
    ///   - bytes: At least 64 KiB from the table's file offset.
    ///   - checksumPolicy: `.verify` to refuse a wrong checksum, `.ignore` to record it in
    ///     ``checksum`` and ``computedChecksum`` and go on.
    /// - Throws: ``VHDXFormatError`` if the bytes are short, the signature or checksum is wrong,
    ///   there are more than 2047 entries, a GUID is listed twice, or a region is not 1 MiB-aligned.
    public init(parsing bytes: [UInt8], checksumPolicy: VHDXChecksumPolicy = .verify) throws(VHDXFormatError) {
        self = try Self(parsing: bytes.span.bytes, checksumPolicy: checksumPolicy)
    }

    /// The table as stored: 64 KiB with its CRC-32C.
    public func serialized() -> [UInt8] {
        var writer = LittleEndianWriter(count: Self.size)
        writer.set(Self.signature, at: 0)
        writer.set(UInt32(entries.count), at: 8)
        for (index, entry) in entries.enumerated() {
            let base = 16 + 32 * index
            writer.setGUID(entry.guid, at: base)
            writer.set(entry.fileOffset, at: base + 16)
            writer.set(entry.length, at: base + 24)
            writer.set(UInt32(entry.isRequired ? 1 : 0), at: base + 28)
        }
        writer.set(CRC32C.checksum(writer.bytes), at: 4)
        return writer.bytes
    }
}
