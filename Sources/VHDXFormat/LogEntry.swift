/// One entry of the VHDX log: a 64-byte header, descriptors, then 4 KiB data sectors.
///
/// Header: 0 signature "loge" · 4 checksum (CRC-32C over the whole entry, ``entryLength``
/// bytes) · 8 entry length (a multiple of 4 KiB) · 12 tail (offset in the log of the
/// sequence's first entry) · 16 sequence number · 24 descriptor count · 28 reserved ·
/// 32 log GUID · 48 flushed file offset · 56 last file offset. Descriptors of 32 bytes follow
/// at 64; header and descriptors fill whole 4 KiB sectors, then one data sector per data
/// descriptor.
public struct VHDXLogEntry: Hashable, Sendable {
    /// "loge" read as a little-endian integer.
    public static let signature: UInt32 = 0x6567_6F6C
    /// Bytes of an entry's header, before the descriptors.
    public static let headerSize = 64
    /// Bytes of a log sector: entries, descriptor areas and data sectors are whole multiples of it.
    public static let sectorSize = 4096

    /// A write the entry makes to the file when it is replayed.
    public enum Descriptor: Hashable, Sendable {
        /// "zero": write `length` zero bytes at `fileOffset` (both multiples of 4 KiB).
        case zero(fileOffset: UInt64, length: UInt64, sequenceNumber: UInt64)
        /// "desc": write 4 KiB at `fileOffset`: `leadingBytes` (8), the data sector's 4084
        /// bytes, `trailingBytes` (4).
        case data(fileOffset: UInt64, leadingBytes: UInt64, trailingBytes: UInt32, sequenceNumber: UInt64)

        static let zeroSignature: UInt32 = 0x6F72_657A  // "zero"
        static let dataSignature: UInt32 = 0x6373_6564  // "desc"
        static let dataSectorSignature: UInt32 = 0x6174_6164  // "data"
    }

    /// The CRC-32C of the whole entry, computed with this field as zero. Stored little-endian at offset 4.
    public var checksum: UInt32
    /// Bytes of the entry, a multiple of 4 KiB. Stored little-endian at offset 8.
    public var entryLength: UInt32
    /// Offset in the log, in bytes, of the first entry of this entry's sequence. Stored little-endian at offset 12.
    public var tail: UInt32
    /// Grows by one from each entry to the next in a sequence. Stored little-endian at offset 16.
    public var sequenceNumber: UInt64
    /// Must equal the header's ``VHDXHeader/logGUID`` for the entry to be replayed. Stored at offset 32.
    public var logGUID: VHDXGUID
    /// The file size that was flushed when the entry was written.
    public var flushedFileOffset: UInt64
    /// The file size the log's writes need.
    public var lastFileOffset: UInt64
    /// The writes, in stored order: descriptors from offset 64, 32 bytes each.
    public var descriptors: [Descriptor]

    /// Bytes of header and descriptors, rounded up to whole 4 KiB sectors.
    public static func descriptorAreaSize(count: Int) -> Int { (headerSize + 32 * count + sectorSize - 1) / sectorSize * sectorSize }

    /// Reads only the header fields (64 bytes), to find entries while scanning the log.
    ///
    /// - Parameter bytes: At least 64 bytes from the start of an entry.
    /// - Returns: The entry length (offset 8), tail (12), sequence number (16), descriptor count
    ///   (24) and log GUID (32).
    /// - Throws: ``VHDXFormatError`` if short or the signature is wrong, or the entry length is
    ///   not a positive multiple of 4 KiB.
    public static func header(parsing bytes: RawSpan) throws(VHDXFormatError) -> (entryLength: UInt32, tail: UInt32, sequenceNumber: UInt64, descriptorCount: UInt32, logGUID: VHDXGUID) {
        guard bytes.byteCount >= headerSize else { throw .truncated(.logEntry, needed: headerSize, available: bytes.byteCount) }
        let found = bytes.littleEndian(UInt32.self, at: 0)
        guard found == signature else { throw .badSignature(.logEntry, found: UInt64(found)) }
        let length = bytes.littleEndian(UInt32.self, at: 8)
        guard length > 0, length % UInt32(sectorSize) == 0 else {
            throw .invalidField(.logEntry, field: "entry length", value: UInt64(length), rule: "it must be a positive multiple of 4 KiB")
        }
        return (length, bytes.littleEndian(UInt32.self, at: 12), bytes.littleEndian(UInt64.self, at: 16),
                bytes.littleEndian(UInt32.self, at: 24), bytes.guid(at: 32))
    }

    /// Parses a whole entry and verifies it: checksum, descriptors, and each data sector's
    /// signature and sequence number.
    ///
    /// - Parameter bytes: exactly the entry (``entryLength`` bytes) or more.
    /// - Throws: ``VHDXFormatError`` for any inconsistency: such an entry ends the active sequence.
    public init(parsing bytes: RawSpan) throws(VHDXFormatError) {
        let header = try Self.header(parsing: bytes)
        let length = Int(header.entryLength)
        guard bytes.byteCount >= length else { throw .truncated(.logEntry, needed: length, available: bytes.byteCount) }
        checksum = bytes.littleEndian(UInt32.self, at: 4)
        let computed = CRC32C.checksum(bytes.extracting(0..<length), zeroing: 4)
        guard checksum == computed else { throw .checksumMismatch(.logEntry, stored: checksum, computed: computed) }
        entryLength = header.entryLength
        tail = header.tail
        sequenceNumber = header.sequenceNumber
        logGUID = header.logGUID
        flushedFileOffset = bytes.littleEndian(UInt64.self, at: 48)
        lastFileOffset = bytes.littleEndian(UInt64.self, at: 56)
        let count = Int(header.descriptorCount)
        let area = Self.descriptorAreaSize(count: min(count, length / 32))
        guard count <= length / 32, area <= length else {
            throw .invalidField(.logEntry, field: "descriptor count", value: UInt64(count), rule: "the descriptors must fit in the \(length)-byte entry")
        }
        var descriptors: [Descriptor] = []
        var dataSector = area
        for index in 0..<count {
            let base = Self.headerSize + 32 * index
            let kind = bytes.littleEndian(UInt32.self, at: base)
            let fileOffset = bytes.littleEndian(UInt64.self, at: base + 16)
            let sequence = bytes.littleEndian(UInt64.self, at: base + 24)
            guard sequence == sequenceNumber else {
                throw .invalidField(.logDescriptor, field: "descriptor \(index) sequence number", value: sequence, rule: "it must equal the entry's \(sequenceNumber)")
            }
            guard fileOffset % UInt64(Self.sectorSize) == 0 else {
                throw .invalidField(.logDescriptor, field: "descriptor \(index) file offset", value: fileOffset, rule: "it must be a multiple of 4 KiB")
            }
            switch kind {
            case Descriptor.zeroSignature:
                let zeroLength = bytes.littleEndian(UInt64.self, at: base + 8)
                guard zeroLength % UInt64(Self.sectorSize) == 0 else {
                    throw .invalidField(.logDescriptor, field: "descriptor \(index) zero length", value: zeroLength, rule: "it must be a multiple of 4 KiB")
                }
                descriptors.append(.zero(fileOffset: fileOffset, length: zeroLength, sequenceNumber: sequence))
            case Descriptor.dataSignature:
                guard dataSector + Self.sectorSize <= length else {
                    throw .truncated(.logEntry, needed: dataSector + Self.sectorSize, available: length)
                }
                let sectorSignature = bytes.littleEndian(UInt32.self, at: dataSector)
                guard sectorSignature == Descriptor.dataSectorSignature else { throw .badSignature(.logDataSector, found: UInt64(sectorSignature)) }
                let high = UInt64(bytes.littleEndian(UInt32.self, at: dataSector + 4))
                let low = UInt64(bytes.littleEndian(UInt32.self, at: dataSector + 4092))
                guard high << 32 | low == sequenceNumber else {
                    throw .invalidField(.logDataSector, field: "sequence number", value: high << 32 | low, rule: "it must equal the entry's \(sequenceNumber)")
                }
                descriptors.append(.data(
                    fileOffset: fileOffset, leadingBytes: bytes.littleEndian(UInt64.self, at: base + 8),
                    trailingBytes: bytes.littleEndian(UInt32.self, at: base + 4), sequenceNumber: sequence))
                dataSector += Self.sectorSize
            default:
                throw .badSignature(.logDescriptor, found: UInt64(kind))
            }
        }
        self.descriptors = descriptors
    }

    /// Parses an entry from an array.
    ///
    /// - Parameter bytes: The entry's bytes, starting at its header.
    /// - Throws: ``VHDXFormatError`` if the bytes do not hold a valid entry.
    public init(parsing bytes: [UInt8]) throws(VHDXFormatError) { self = try Self(parsing: bytes.span.bytes) }

    /// The 4 KiB a data descriptor writes: its leading 8 bytes, bytes 8..<4092 of its data
    /// sector, its trailing 4 bytes.
    public static func sectorContent(leadingBytes: UInt64, trailingBytes: UInt32, dataSector: RawSpan) -> [UInt8] {
        var content = withUnsafeBytes(of: leadingBytes.littleEndian) { Array($0) }
        content += dataSector.bytes(at: 8, count: 4084)
        content += withUnsafeBytes(of: trailingBytes.littleEndian) { Array($0) }
        return content
    }

    /// The data sectors' positions in the entry, one per data descriptor, in order.
    public var dataSectorOffsets: [Int] {
        var next = Self.descriptorAreaSize(count: descriptors.count)
        var offsets: [Int] = []
        for descriptor in descriptors {
            guard case .data = descriptor else { continue }
            offsets.append(next)
            next += Self.sectorSize
        }
        return offsets
    }

    /// Builds an entry (for tests and for writers): header, descriptors and data sectors, with
    /// its checksum. `writes` are 4 KiB pieces; `zeros` are (offset, length) pairs.
    public static func serialized(
        sequenceNumber: UInt64, logGUID: VHDXGUID, tail: UInt32 = 0, flushedFileOffset: UInt64, lastFileOffset: UInt64,
        writes: [(fileOffset: UInt64, content: [UInt8])], zeros: [(fileOffset: UInt64, length: UInt64)] = []
    ) -> [UInt8] {
        let count = writes.count + zeros.count
        let area = descriptorAreaSize(count: count)
        let length = area + writes.count * sectorSize
        var writer = LittleEndianWriter(count: length)
        writer.set(signature, at: 0)
        writer.set(UInt32(length), at: 8)
        writer.set(tail, at: 12)
        writer.set(sequenceNumber, at: 16)
        writer.set(UInt32(count), at: 24)
        writer.setGUID(logGUID, at: 32)
        writer.set(flushedFileOffset, at: 48)
        writer.set(lastFileOffset, at: 56)
        var index = 0
        for zero in zeros {
            let base = headerSize + 32 * index
            writer.set(Descriptor.zeroSignature, at: base)
            writer.set(zero.length, at: base + 8)
            writer.set(zero.fileOffset, at: base + 16)
            writer.set(sequenceNumber, at: base + 24)
            index += 1
        }
        for (number, write) in writes.enumerated() {
            let base = headerSize + 32 * index
            let content = write.content
            writer.set(Descriptor.dataSignature, at: base)
            writer.setBytes(content[4092..<4096], at: base + 4)
            writer.setBytes(content[0..<8], at: base + 8)
            writer.set(write.fileOffset, at: base + 16)
            writer.set(sequenceNumber, at: base + 24)
            let sector = area + number * sectorSize
            writer.set(Descriptor.dataSectorSignature, at: sector)
            writer.set(UInt32(sequenceNumber >> 32), at: sector + 4)
            writer.setBytes(content[8..<4092], at: sector + 8)
            writer.set(UInt32(truncatingIfNeeded: sequenceNumber), at: sector + 4092)
            index += 1
        }
        writer.set(CRC32C.checksum(writer.bytes), at: 4)
        return writer.bytes
    }
}
