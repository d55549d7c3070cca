/// The checksum of the footer and of the dynamic disk header.
///
/// The specification: the one's complement of the sum of all bytes of the structure, with the
/// checksum field itself taken as zero. Footer field at offset 64, header field at offset 36.
public enum Checksum {
    /// The checksum of `bytes`, skipping the four bytes at `fieldOffset`.
    ///
    /// - Parameters:
    ///   - bytes: the whole structure; every byte is summed except the checksum field.
    ///   - fieldOffset: the offset of the 4-byte checksum field within `bytes`.
    /// - Returns: the one's complement of the byte sum (wrapping in 32 bits).
    public static func compute(_ bytes: RawSpan, checksumFieldAt fieldOffset: Int) -> UInt32 {
        bytes.withUnsafeBytes { buffer in
            var sum: UInt32 = 0
            for (index, byte) in buffer.enumerated()
            where index < fieldOffset || index >= fieldOffset + 4 {
                sum &+= UInt32(byte)
            }
            return ~sum
        }
    }

    /// The checksum of a footer's bytes (the first 512, or 511 for a legacy short footer).
    ///
    /// - Parameter bytes: the footer's bytes; bytes past 512 are ignored.
    /// - Returns: the checksum that belongs at footer offset 64.
    public static func footer(_ bytes: RawSpan) -> UInt32 {
        compute(bytes.extracting(0..<min(bytes.byteCount, Footer.size)), checksumFieldAt: 64)
    }

    /// The checksum of a dynamic disk header's 1024 bytes.
    ///
    /// - Parameter bytes: the header's bytes; bytes past 1024 are ignored.
    /// - Returns: the checksum that belongs at header offset 36.
    public static func dynamicHeader(_ bytes: RawSpan) -> UInt32 {
        compute(bytes.extracting(0..<min(bytes.byteCount, DynamicHeader.size)), checksumFieldAt: 36)
    }
}

/// Whether a parser rejects a structure whose stored checksum is wrong.
///
/// Real images with wrong checksums exist; `inspect` reads them and reports, operations that
/// trust the structure refuse them unless the user says otherwise.
public enum ChecksumPolicy: Sendable, Equatable {
    /// Reject a structure whose stored checksum differs from the computed one.
    case verify
    /// Keep the stored checksum as it is and parse the rest, for the caller to report.
    case ignore
}

/// A structure with a checksum field: the footer and the dynamic header.
public protocol ChecksummedStructure {
    /// The checksum as stored, which need not be right.
    var checksum: UInt32 { get set }
    /// The structure's bytes, with ``checksum`` written as stored.
    func serialized() -> [UInt8]
    /// The checksum of the structure's bytes (the checksum field taken as zero).
    static func checksum(of bytes: RawSpan) -> UInt32
}

extension ChecksummedStructure {
    /// The checksum these field values should carry.
    public var computedChecksum: UInt32 {
        var copy = self
        copy.checksum = 0
        return Self.checksum(of: copy.serialized().span.bytes)
    }

    /// Whether the stored ``checksum`` is right.
    public var checksumIsValid: Bool { checksum == computedChecksum }

    /// This structure with ``checksum`` set to the right value.
    public func withComputedChecksum() -> Self {
        var copy = self
        copy.checksum = computedChecksum
        return copy
    }
}
