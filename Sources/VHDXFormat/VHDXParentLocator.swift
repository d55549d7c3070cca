/// The parent locator metadata item of a differencing VHDX: a type GUID and key/value pairs.
///
/// Header: 0 locator type GUID (VHDX: B04AEFB7-D19E-4A81-B789-25B8E9445913) · 16 reserved ·
/// 18 key/value count. Entries from offset 20, 12 bytes each: 0 key offset · 4 value offset ·
/// 8 key length · 10 value length (bytes, offsets from the item's start). Keys and values are
/// UTF-16LE without a terminator. Keys: parent_linkage, parent_linkage2, relative_path,
/// volume_path, absolute_win32_path.
public struct VHDXParentLocator: Hashable, Sendable {
    /// The locator type of a VHDX parent: B04AEFB7-D19E-4A81-B789-25B8E9445913.
    public static let vhdxLocatorType = VHDXGUID("B04AEFB7-D19E-4A81-B789-25B8E9445913")!

    /// The kind of parent the keys describe. Stored at offset 0 of the item.
    public var locatorType: VHDXGUID
    /// The pairs in stored order.
    public var entries: [(key: String, value: String)]

    /// Whether two locators have the same type and the same pairs in the same order.
    ///
    /// - Parameters:
    ///   - lhs: A locator.
    ///   - rhs: Another locator.
    /// - Returns: `true` if the type, the keys and the values are equal.
    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.locatorType == rhs.locatorType && lhs.entries.map(\.key) == rhs.entries.map(\.key)
            && lhs.entries.map(\.value) == rhs.entries.map(\.value)
    }

    /// Hashes the type and the pairs in order.
    ///
    /// - Parameter hasher: The hasher to feed.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(locatorType)
        for (key, value) in entries {
            hasher.combine(key)
            hasher.combine(value)
        }
    }

    /// Makes a locator from its pairs.
    ///
    /// - Parameters:
    ///   - locatorType: The kind of parent, by default ``vhdxLocatorType``.
    ///   - entries: The key/value pairs in the order to store them; keys not empty, each once.
    public init(locatorType: VHDXGUID = Self.vhdxLocatorType, entries: [(key: String, value: String)]) {
        self.locatorType = locatorType
        self.entries = entries
    }

    /// The value of `key`, if present.
    public subscript(key: String) -> String? { entries.first { $0.key == key }?.value }

    /// The parent's data write GUID the child was made against ("parent_linkage").
    public var parentLinkage: VHDXGUID? { self["parent_linkage"].flatMap { VHDXGUID(String($0.drop { $0 == "{" }.prefix(36))) } }

    /// Parses the parent locator item.
    ///
    /// - Parameter bytes: The item's bytes.
    /// - Throws: ``VHDXFormatError`` if the item is short, a key or value lies outside it, or a
    ///   key is empty or repeated.
    public init(parsing bytes: RawSpan) throws(VHDXFormatError) {
        guard bytes.byteCount >= 20 else { throw .truncated(.parentLocator, needed: 20, available: bytes.byteCount) }
        locatorType = bytes.guid(at: 0)
        let count = Int(bytes.littleEndian(UInt16.self, at: 18))
        let needed = 20 + 12 * count
        guard bytes.byteCount >= needed else { throw .truncated(.parentLocator, needed: needed, available: bytes.byteCount) }
        var entries: [(key: String, value: String)] = []
        for index in 0..<count {
            let base = 20 + 12 * index
            let keyOffset = Int(bytes.littleEndian(UInt32.self, at: base))
            let valueOffset = Int(bytes.littleEndian(UInt32.self, at: base + 4))
            let keyLength = Int(bytes.littleEndian(UInt16.self, at: base + 8))
            let valueLength = Int(bytes.littleEndian(UInt16.self, at: base + 10))
            guard keyOffset + keyLength <= bytes.byteCount, valueOffset + valueLength <= bytes.byteCount else {
                throw .invalidField(.parentLocator, field: "entry \(index) offsets", value: UInt64(max(keyOffset + keyLength, valueOffset + valueLength)),
                                    rule: "keys and values must lie inside the \(bytes.byteCount)-byte item")
            }
            guard keyLength > 0 else { throw .invalidField(.parentLocator, field: "entry \(index) key length", value: 0, rule: "keys are not empty") }
            let key = Self.decode(bytes, at: keyOffset, count: keyLength)
            guard !entries.contains(where: { $0.key == key }) else {
                throw .invalidField(.parentLocator, field: "entry \(index) key \"\(key)\"", value: UInt64(index), rule: "each key appears once")
            }
            entries.append((key, Self.decode(bytes, at: valueOffset, count: valueLength)))
        }
        self.entries = entries
    }

    /// Parses the item from an array.
    ///
    /// - Parameter bytes: The item's bytes.
    /// - Throws: ``VHDXFormatError`` if the item is short, a key or value lies outside it, or a
    ///   key is empty or repeated.
    public init(parsing bytes: [UInt8]) throws(VHDXFormatError) { self = try Self(parsing: bytes.span.bytes) }

    static func decode(_ bytes: RawSpan, at offset: Int, count: Int) -> String {
        var units: [UInt16] = []
        var index = offset
        while index + 1 < offset + count {
            units.append(bytes.littleEndian(UInt16.self, at: index))
            index += 2
        }
        return String(decoding: units, as: UTF16.self)
    }

    /// The item as stored: header, entries, then the UTF-16LE keys and values.
    public func serialized() -> [UInt8] {
        var header = LittleEndianWriter(count: 20 + 12 * entries.count)
        header.setGUID(locatorType, at: 0)
        header.set(UInt16(entries.count), at: 18)
        var strings: [UInt8] = []
        let stringsStart = 20 + 12 * entries.count
        func append(_ text: String) -> (offset: UInt32, length: UInt16) {
            let offset = UInt32(stringsStart + strings.count)
            for unit in text.utf16 { strings += [UInt8(unit & 0xFF), UInt8(unit >> 8)] }
            return (offset, UInt16(UInt32(stringsStart + strings.count) - offset))
        }
        for (index, entry) in entries.enumerated() {
            let key = append(entry.key)
            let value = append(entry.value)
            header.set(key.offset, at: 20 + 12 * index)
            header.set(value.offset, at: 24 + 12 * index)
            header.set(key.length, at: 28 + 12 * index)
            header.set(value.length, at: 30 + 12 * index)
        }
        return header.bytes + strings
    }
}
