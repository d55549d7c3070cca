/// The file type identifier: the first 64 KiB of every VHDX, "vhdxfile" then the creator.
///
/// Offset 0: signature (8 bytes, "vhdxfile"); offset 8: creator, up to 256 bytes of UTF-16LE
/// text naming the application that created the file (informational only).
public struct VHDXFileIdentifier: Hashable, Sendable {
    /// "vhdxfile" read as a little-endian integer. Stored at offset 0.
    public static let signature: UInt64 = 0x656C_6966_7864_6876
    /// Where the identifier starts in the file.
    public static let offset: Int64 = 0
    /// Bytes parsed: the signature and the creator field.
    public static let size = 8 + 256

    /// The creator application, e.g. "Microsoft Windows 10.0.18363.0". Stored at offset 8.
    public var creator: String

    /// Makes an identifier naming the application that creates the file.
    ///
    /// - Parameter creator: The creator text; ``serialized()`` keeps its first 127 UTF-16 units.
    public init(creator: String) { self.creator = creator }

    /// Parses the identifier from the first bytes of a file.
    ///
    /// - Parameter bytes: At least 264 bytes from file offset 0.
    /// - Throws: ``VHDXFormatError`` if fewer than 264 bytes are given or the signature is wrong.
    public init(parsing bytes: RawSpan) throws(VHDXFormatError) {
        guard bytes.byteCount >= Self.size else { throw .truncated(.fileIdentifier, needed: Self.size, available: bytes.byteCount) }
        let found = bytes.littleEndian(UInt64.self, at: 0)
        guard found == Self.signature else { throw .badSignature(.fileIdentifier, found: found) }
        creator = bytes.utf16LittleEndian(at: 8, count: 256)
    }

    /// Parses the identifier from the first bytes of a file held in an array.
    ///
    /// - Parameter bytes: At least 264 bytes from file offset 0.
    /// - Throws: ``VHDXFormatError`` if fewer than 264 bytes are given or the signature is wrong.
    public init(parsing bytes: [UInt8]) throws(VHDXFormatError) { self = try Self(parsing: bytes.span.bytes) }

    /// The identifier as stored: 64 KiB, zero-padded; a creator longer than 127 UTF-16 units is cut.
    public func serialized() -> [UInt8] {
        var writer = LittleEndianWriter(count: 64 << 10)
        writer.set(Self.signature, at: 0)
        for (index, unit) in creator.utf16.prefix(127).enumerated() { writer.set(unit, at: 8 + 2 * index) }
        return writer.bytes
    }
}
