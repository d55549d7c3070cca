/// The table at the start of the metadata region (64 KiB) listing the metadata items.
///
/// Header: 0 signature "metadata" · 8 reserved · 10 entry count (at most 2047) · 12 reserved (20).
/// Entries from offset 32, 32 bytes each: 0 item GUID · 16 offset (from the region's start,
/// at least 64 KiB, or 0 with length 0) · 20 length · 24 flags (bit 0 IsUser, bit 1
/// IsVirtualDisk, bit 2 IsRequired) · 28 reserved.
public struct VHDXMetadataTable: Hashable, Sendable {
    /// "metadata" read as a little-endian integer.
    public static let signature: UInt64 = 0x6174_6164_6174_656D
    /// Bytes of the table: 64 KiB at the start of the metadata region.
    public static let size = 64 << 10
    /// The most entries the table can hold.
    public static let maximumEntryCount = 2047

    /// The item id of the file parameters (block size, flags).
    public static let fileParametersGUID = VHDXGUID("CAA16737-FA36-4D43-B3B6-33F0AA44E76B")!
    /// The item id of the virtual disk size.
    public static let virtualDiskSizeGUID = VHDXGUID("2FA54224-CD1B-4876-B211-5DBED83BF4B8")!
    /// The item id of the virtual disk id.
    public static let virtualDiskIdGUID = VHDXGUID("BECA12AB-B2E6-4523-93EF-C309E000C746")!
    /// The item id of the logical sector size.
    public static let logicalSectorSizeGUID = VHDXGUID("8141BF1D-A96F-4709-BA47-F233A8FAAB5F")!
    /// The item id of the physical sector size.
    public static let physicalSectorSizeGUID = VHDXGUID("CDA348C7-445D-4471-9CC9-E9885251C556")!
    /// The item id of the parent locator (differencing disks only).
    public static let parentLocatorGUID = VHDXGUID("A8D35F2D-B30B-454D-ABF7-D3D84834AB0C")!

    /// The system items this reader knows; an unknown item marked required must be refused.
    public static let knownItems: [VHDXGUID: String] = [
        fileParametersGUID: "file parameters", virtualDiskSizeGUID: "virtual disk size",
        virtualDiskIdGUID: "virtual disk id", logicalSectorSizeGUID: "logical sector size",
        physicalSectorSizeGUID: "physical sector size", parentLocatorGUID: "parent locator",
    ]

    /// One 32-byte entry of the table: where an item lies in the metadata region and its flags.
    public struct Entry: Hashable, Sendable {
        /// The item's GUID. Stored at offset 0 of the entry.
        public var itemId: VHDXGUID
        /// Offset from the start of the metadata region.
        public var offset: UInt32
        /// Bytes of the item, 0 for an empty one. Stored little-endian at offset 20 of the entry.
        public var length: UInt32
        /// Whether the item is a user item rather than a system item. Bit 0 of the flags at offset 24.
        public var isUser: Bool
        /// Whether the item is virtual disk metadata (such as the virtual disk size) rather than
        /// metadata of this file (such as the file parameters). Bit 1 of the flags at offset 24.
        public var isVirtualDisk: Bool
        /// Whether a reader that does not know the item must refuse the file. Bit 2 of the flags at offset 24.
        public var isRequired: Bool

        /// Makes an entry from its values, unchecked.
        ///
        /// - Parameters:
        ///   - itemId: The item's GUID.
        ///   - offset: Offset of the item from the start of the metadata region, at least 64 KiB
        ///     (or 0 with `length` 0).
        ///   - length: Bytes of the item.
        ///   - isUser: Whether it is a user item.
        ///   - isVirtualDisk: Whether it describes the virtual disk rather than the file.
        ///   - isRequired: Whether a reader that does not know it must refuse the file.
        public init(itemId: VHDXGUID, offset: UInt32, length: UInt32, isUser: Bool = false, isVirtualDisk: Bool, isRequired: Bool = true) {
            self.itemId = itemId
            self.offset = offset
            self.length = length
            self.isUser = isUser
            self.isVirtualDisk = isVirtualDisk
            self.isRequired = isRequired
        }

        /// The item's name if it is a system item this reader knows.
        public var knownName: String? { VHDXMetadataTable.knownItems[itemId] }
    }

    /// The entries in stored order, from offset 32 of the table.
    public var entries: [Entry]

    /// Makes a table from its entries, unchecked.
    ///
    /// - Parameter entries: At most 2047 entries, each item listed once.
    public init(entries: [Entry]) { self.entries = entries }

    /// The system item with `guid`, if listed.
    public func entry(_ guid: VHDXGUID) -> Entry? { entries.first { $0.itemId == guid && !$0.isUser } }

    /// Parses the table.
    ///
    /// - Parameter bytes: At least 64 KiB from the start of the metadata region.
    /// - Throws: ``VHDXFormatError`` if the bytes are short, the signature is wrong, there are
    ///   more than 2047 entries, an item is listed twice, or an item starts inside the table.
    public init(parsing bytes: RawSpan) throws(VHDXFormatError) {
        guard bytes.byteCount >= Self.size else { throw .truncated(.metadataTable, needed: Self.size, available: bytes.byteCount) }
        let found = bytes.littleEndian(UInt64.self, at: 0)
        guard found == Self.signature else { throw .badSignature(.metadataTable, found: found) }
        let count = bytes.littleEndian(UInt16.self, at: 10)
        guard count <= Self.maximumEntryCount else {
            throw .invalidField(.metadataTable, field: "entry count", value: UInt64(count), rule: "at most 2047 entries fit")
        }
        var entries: [Entry] = []
        for index in 0..<Int(count) {
            let base = 32 + 32 * index
            let flags = bytes.littleEndian(UInt32.self, at: base + 24)
            let entry = Entry(
                itemId: bytes.guid(at: base), offset: bytes.littleEndian(UInt32.self, at: base + 16),
                length: bytes.littleEndian(UInt32.self, at: base + 20),
                isUser: flags & 1 != 0, isVirtualDisk: flags & 2 != 0, isRequired: flags & 4 != 0)
            guard !entries.contains(where: { $0.itemId == entry.itemId && $0.isUser == entry.isUser }) else {
                throw .duplicateEntry(.metadataTable, entry.itemId)
            }
            guard entry.length == 0 || entry.offset >= UInt32(Self.size) else {
                throw .invalidField(.metadataTable, field: "offset of item \(entry.itemId)", value: UInt64(entry.offset), rule: "items start at or after 64 KiB")
            }
            entries.append(entry)
        }
        self.entries = entries
    }

    /// Parses the table from an array.
    ///
    /// - Parameter bytes: At least 64 KiB from the start of the metadata region.
    /// - Throws: ``VHDXFormatError`` if the bytes are short, the signature is wrong, there are
    ///   more than 2047 entries, an item is listed twice, or an item starts inside the table.
    public init(parsing bytes: [UInt8]) throws(VHDXFormatError) { self = try Self(parsing: bytes.span.bytes) }

    /// The table as stored: 64 KiB.
    public func serialized() -> [UInt8] {
        var writer = LittleEndianWriter(count: Self.size)
        writer.set(Self.signature, at: 0)
        writer.set(UInt16(entries.count), at: 10)
        for (index, entry) in entries.enumerated() {
            let base = 32 + 32 * index
            writer.setGUID(entry.itemId, at: base)
            writer.set(entry.offset, at: base + 16)
            writer.set(entry.length, at: base + 20)
            let flags = (entry.isUser ? 1 : 0) | (entry.isVirtualDisk ? 2 : 0) | (entry.isRequired ? 4 : 0)
            writer.set(UInt32(flags), at: base + 24)
        }
        return writer.bytes
    }
}
