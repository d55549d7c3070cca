// Conveniences for callers that hold bytes in an array rather than a span.

extension Footer {
    /// Parses a footer from an array; see ``init(parsing:checksumPolicy:)-(RawSpan,_)``.
    ///
    /// - Parameters:
    ///   - bytes: the footer's 512 bytes (or the 511 of a legacy short footer); more are ignored.
    ///   - checksumPolicy: `.verify` rejects a wrong stored checksum; `.ignore` keeps it.
    /// - Throws: ``VHDFormatError`` as the span version does.
    public init(parsing bytes: [UInt8], checksumPolicy: ChecksumPolicy = .verify) throws(VHDFormatError) {
        self = try Footer(parsing: bytes.span.bytes, checksumPolicy: checksumPolicy)
    }
}

extension DynamicHeader {
    /// Parses a dynamic header from an array; see ``init(parsing:checksumPolicy:)-(RawSpan,_)``.
    ///
    /// - Parameters:
    ///   - bytes: the header's 1024 bytes; more are ignored.
    ///   - checksumPolicy: `.verify` rejects a wrong stored checksum; `.ignore` keeps it.
    /// - Throws: ``VHDFormatError`` as the span version does.
    public init(parsing bytes: [UInt8], checksumPolicy: ChecksumPolicy = .verify) throws(VHDFormatError) {
        self = try DynamicHeader(parsing: bytes.span.bytes, checksumPolicy: checksumPolicy)
    }
}

extension ParentLocator {
    /// Parses a locator entry from an array; see ``init(parsing:)-(RawSpan)``.
    ///
    /// - Parameter bytes: the entry's 24 bytes; more are ignored.
    /// - Throws: ``VHDFormatError/truncated(_:needed:available:)`` if fewer bytes are given.
    public init(parsing bytes: [UInt8]) throws(VHDFormatError) {
        self = try ParentLocator(parsing: bytes.span.bytes)
    }

    /// Decodes the path in `data`; see ``decodePath(_:)-(RawSpan)``.
    ///
    /// - Parameter data: the ``platformDataLength`` bytes at ``platformDataOffset``.
    /// - Returns: the path, or nil for a platform code whose data is not text.
    public func decodePath(_ data: [UInt8]) -> String? { decodePath(data.span.bytes) }
}

extension BlockAllocationTable {
    /// Decodes a table from an array; see ``init(parsing:entryCount:)-(RawSpan,_)``.
    ///
    /// - Parameters:
    ///   - bytes: the table as stored, big-endian; bytes past the entries are ignored.
    ///   - entryCount: the number of entries to decode, the header's ``DynamicHeader/maxTableEntries``
    ///     or fewer.
    /// - Throws: ``VHDFormatError/truncated(_:needed:available:)`` if `bytes` holds fewer than
    ///   4 x `entryCount` bytes.
    public init(parsing bytes: [UInt8], entryCount: Int) throws(VHDFormatError) {
        self = try BlockAllocationTable(parsing: bytes.span.bytes, entryCount: entryCount)
    }
}

extension Checksum {
    /// The checksum of a footer held in an array; see ``footer(_:)-(RawSpan)``.
    ///
    /// - Parameter bytes: the footer's bytes; only the first 512 are summed.
    /// - Returns: the checksum that belongs at footer offset 64.
    public static func footer(_ bytes: [UInt8]) -> UInt32 { footer(bytes.span.bytes) }

    /// The checksum of a dynamic header held in an array; see ``dynamicHeader(_:)-(RawSpan)``.
    ///
    /// - Parameter bytes: the header's bytes; only the first 1024 are summed.
    /// - Returns: the checksum that belongs at header offset 36.
    public static func dynamicHeader(_ bytes: [UInt8]) -> UInt32 { dynamicHeader(bytes.span.bytes) }
}
