/// One of the two VHDX headers, at file offsets 64 KiB and 128 KiB (4 KiB each).
///
/// Offsets: 0 signature "head" · 4 checksum (CRC-32C over the 4 KiB) · 8 sequence number ·
/// 16 file write GUID · 32 data write GUID · 48 log GUID · 64 log version (0) · 66 version (1) ·
/// 68 log length · 72 log offset. The current header is the valid one with the higher
/// sequence number.
public struct VHDXHeader: Hashable, Sendable {
    /// "head" read as a little-endian integer.
    public static let signature: UInt32 = 0x6461_6568
    /// Bytes the header is checksummed over.
    public static let size = 4096
    /// File offsets of the two headers.
    public static let offsets: [Int64] = [64 << 10, 128 << 10]

    /// Stored at offset 4.
    public var checksum: UInt32
    /// The CRC-32C of the bytes parsed (0 for a header built in memory).
    public var computedChecksum: UInt32
    /// Stored at offset 8: the valid header with the larger one is current.
    public var sequenceNumber: UInt64
    /// Changes the first time the file is written after it is opened. Offset 16.
    public var fileWriteGUID: VHDXGUID
    /// Changes when the virtual disk's content is first changed after opening. Offset 32.
    public var dataWriteGUID: VHDXGUID
    /// Not zero when the log may hold entries to replay: the active entries carry it. Offset 48.
    public var logGUID: VHDXGUID
    /// 0 in this version of the format. Offset 64.
    public var logVersion: UInt16
    /// 1 in this version of the format. Offset 66.
    public var version: UInt16
    /// Bytes of the log, a multiple of 1 MiB. Offset 68.
    public var logLength: UInt32
    /// File offset of the log, a multiple of 1 MiB. Offset 72.
    public var logOffset: UInt64

    /// Whether the stored checksum matches the computed one.
    public var checksumIsValid: Bool { checksum == computedChecksum }

    /// Makes a version 1 header with log version 0; ``serialized(padded:)`` computes the checksum.
    ///
    /// - Parameters:
    ///   - sequenceNumber: Orders the two headers: the valid one with the larger number is current.
    ///   - fileWriteGUID: Changed the first time the file is written after it is opened.
    ///   - dataWriteGUID: Changed the first time the virtual disk's content is changed after opening.
    ///   - logGUID: The GUID of the active log entries, or zero when the log is empty.
    ///   - logLength: Bytes of the log, a multiple of 1 MiB.
    ///   - logOffset: File offset of the log in bytes, a multiple of 1 MiB.
    public init(
        sequenceNumber: UInt64, fileWriteGUID: VHDXGUID, dataWriteGUID: VHDXGUID, logGUID: VHDXGUID = .zero,
        logLength: UInt32, logOffset: UInt64
    ) {
        self.sequenceNumber = sequenceNumber
        self.fileWriteGUID = fileWriteGUID
        self.dataWriteGUID = dataWriteGUID
        self.logGUID = logGUID
        logVersion = 0
        version = 1
        self.logLength = logLength
        self.logOffset = logOffset
        checksum = 0
        computedChecksum = 0
    }

    /// Parses a header.
    ///
    /// - Parameters:
    ///   - bytes: At least 4 KiB from the header's file offset.
    ///   - checksumPolicy: `.verify` to refuse a wrong checksum, `.ignore` to record it in
    ///     ``checksum`` and ``computedChecksum`` and go on.
    /// - Throws: ``VHDXFormatError`` if the bytes are short, the signature is wrong, the
    ///   checksum is wrong (unless `checksumPolicy` is `.ignore`), the version is not 1, or the
    ///   log's offset or length is not a multiple of 1 MiB.
    public init(parsing bytes: RawSpan, checksumPolicy: VHDXChecksumPolicy = .verify) throws(VHDXFormatError) {
        guard bytes.byteCount >= Self.size else { throw .truncated(.header, needed: Self.size, available: bytes.byteCount) }
        let found = bytes.littleEndian(UInt32.self, at: 0)
        guard found == Self.signature else { throw .badSignature(.header, found: UInt64(found)) }
        checksum = bytes.littleEndian(UInt32.self, at: 4)
        computedChecksum = CRC32C.checksum(bytes.extracting(0..<Self.size), zeroing: 4)
        if checksumPolicy == .verify && checksum != computedChecksum {
            throw .checksumMismatch(.header, stored: checksum, computed: computedChecksum)
        }
        sequenceNumber = bytes.littleEndian(UInt64.self, at: 8)
        fileWriteGUID = bytes.guid(at: 16)
        dataWriteGUID = bytes.guid(at: 32)
        logGUID = bytes.guid(at: 48)
        logVersion = bytes.littleEndian(UInt16.self, at: 64)
        version = bytes.littleEndian(UInt16.self, at: 66)
        logLength = bytes.littleEndian(UInt32.self, at: 68)
        logOffset = bytes.littleEndian(UInt64.self, at: 72)
        guard version == 1 else { throw .invalidField(.header, field: "version", value: UInt64(version), rule: "only version 1 exists") }
        guard logVersion == 0 else { throw .invalidField(.header, field: "log version", value: UInt64(logVersion), rule: "only log version 0 exists") }
        guard logLength % (1 << 20) == 0 else { throw .invalidField(.header, field: "log length", value: UInt64(logLength), rule: "it must be a multiple of 1 MiB") }
        guard logOffset % (1 << 20) == 0 else { throw .invalidField(.header, field: "log offset", value: logOffset, rule: "it must be a multiple of 1 MiB") }
    }

    /// Parses a header from an array.
    ///
    /// - Parameters:
    ///   - bytes: At least 4 KiB from the header's file offset.
    ///   - checksumPolicy: `.verify` to refuse a wrong checksum, `.ignore` to record it in
    ///     ``checksum`` and ``computedChecksum`` and go on.
    /// - Throws: ``VHDXFormatError`` if the bytes are short, the signature is wrong, the
    ///   checksum is wrong (unless `checksumPolicy` is `.ignore`), the version is not 1, or the
    ///   log's offset or length is not a multiple of 1 MiB.
    public init(parsing bytes: [UInt8], checksumPolicy: VHDXChecksumPolicy = .verify) throws(VHDXFormatError) {
        self = try Self(parsing: bytes.span.bytes, checksumPolicy: checksumPolicy)
    }

    /// The header as stored: 4 KiB with its CRC-32C (the stored ``checksum`` is ignored),
    /// padded with zeros to 64 KiB when `padded`.
    public func serialized(padded: Bool = false) -> [UInt8] {
        var writer = LittleEndianWriter(count: Self.size)
        writer.set(Self.signature, at: 0)
        writer.set(sequenceNumber, at: 8)
        writer.setGUID(fileWriteGUID, at: 16)
        writer.setGUID(dataWriteGUID, at: 32)
        writer.setGUID(logGUID, at: 48)
        writer.set(logVersion, at: 64)
        writer.set(version, at: 66)
        writer.set(logLength, at: 68)
        writer.set(logOffset, at: 72)
        writer.set(CRC32C.checksum(writer.bytes), at: 4)
        return padded ? writer.bytes + [UInt8](repeating: 0, count: (64 << 10) - Self.size) : writer.bytes
    }
}
