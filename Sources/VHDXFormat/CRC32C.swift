/// CRC-32C (Castagnoli), the checksum of VHDX headers, region tables and log entries.
///
/// Reflected polynomial 0x82F63B78, initial value 0xFFFFFFFF, final XOR 0xFFFFFFFF; the
/// structure's checksum field is taken as zero while computing. Stored little-endian.
public enum CRC32C {
    static let table: [UInt32] = (0..<256).map { index in
        var crc = UInt32(index)
        for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
        return crc
    }

    /// The CRC-32C of `bytes`, with the four bytes at `zeroing` (the checksum field) read as zero.
    public static func checksum(_ bytes: RawSpan, zeroing field: Int? = nil) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        bytes.withUnsafeBytes { buffer in
            table.withUnsafeBufferPointer { table in
                for index in 0..<buffer.count {
                    var byte = buffer[index]
                    if let field, index >= field && index < field + 4 { byte = 0 }
                    crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8)
                }
            }
        }
        return ~crc
    }

    /// The CRC-32C of an array; see ``checksum(_:zeroing:)-(RawSpan,_)``.
    public static func checksum(_ bytes: [UInt8], zeroing field: Int? = nil) -> UInt32 {
        checksum(bytes.span.bytes, zeroing: field)
    }
}
