// Conveniences for callers that hold bytes in an array rather than a span.

extension Footer {
    /// Parses a footer from an array; see ``init(parsing:checksumPolicy:)-(RawSpan,_)``.
    public init(parsing bytes: [UInt8], checksumPolicy: ChecksumPolicy = .verify) throws(VHDFormatError) {
        self = try Footer(parsing: bytes.span.bytes, checksumPolicy: checksumPolicy)
    }
}

extension DynamicHeader {
    /// Parses a dynamic header from an array; see ``init(parsing:checksumPolicy:)-(RawSpan,_)``.
    public init(parsing bytes: [UInt8], checksumPolicy: ChecksumPolicy = .verify) throws(VHDFormatError) {
        self = try DynamicHeader(parsing: bytes.span.bytes, checksumPolicy: checksumPolicy)
    }
}

extension ParentLocator {
    /// Parses a locator entry from an array.
    public init(parsing bytes: [UInt8]) throws(VHDFormatError) {
        self = try ParentLocator(parsing: bytes.span.bytes)
    }

    /// Decodes the path in `data`; see ``decodePath(_:)-(RawSpan)``.
    public func decodePath(_ data: [UInt8]) -> String? { decodePath(data.span.bytes) }
}

extension BlockAllocationTable {
    /// Decodes a table from an array.
    public init(parsing bytes: [UInt8], entryCount: Int) throws(VHDFormatError) {
        self = try BlockAllocationTable(parsing: bytes.span.bytes, entryCount: entryCount)
    }
}

extension Checksum {
    /// The checksum of a footer held in an array.
    public static func footer(_ bytes: [UInt8]) -> UInt32 { footer(bytes.span.bytes) }
    /// The checksum of a dynamic header held in an array.
    public static func dynamicHeader(_ bytes: [UInt8]) -> UInt32 { dynamicHeader(bytes.span.bytes) }
}
