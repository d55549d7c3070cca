// Little-endian field access over untrusted bytes (VHDX is little-endian; VHD is big-endian).
// Parsers check a structure's length once, then read named offsets; an offset out of range
// here is a bug in this module, not bad input.

extension RawSpan {
    /// Reads a little-endian integer at `offset`; traps if the range is outside the span.
    @inline(__always)
    func littleEndian<T: FixedWidthInteger & BitwiseCopyable>(_: T.Type, at offset: Int) -> T {
        T(littleEndian: unsafeLoadUnaligned(fromByteOffset: offset, as: T.self))
    }

    /// Copies `count` bytes starting at `offset` into an array.
    func bytes(at offset: Int, count: Int) -> [UInt8] {
        extracting(offset..<(offset + count)).withUnsafeBytes { Array($0) }
    }

    /// Decodes UTF-16LE code units from `offset`, `count` bytes long, stopping at the first NUL.
    /// Unpaired surrogates become U+FFFD.
    func utf16LittleEndian(at offset: Int, count: Int) -> String {
        var units: [UInt16] = []
        units.reserveCapacity(count / 2)
        var index = offset
        while index + 1 < offset + count {
            let unit = littleEndian(UInt16.self, at: index)
            if unit == 0 { break }
            units.append(unit)
            index += 2
        }
        return String(decoding: units, as: UTF16.self)
    }
}

/// A fixed-size byte buffer that serializers fill field by field at named offsets.
struct LittleEndianWriter {
    private(set) var bytes: [UInt8]

    init(count: Int) { bytes = [UInt8](repeating: 0, count: count) }

    mutating func set<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        withUnsafeBytes(of: value.littleEndian) { source in
            for (index, byte) in source.enumerated() { bytes[offset + index] = byte }
        }
    }

    mutating func setBytes(_ source: some Collection<UInt8>, at offset: Int) {
        bytes.replaceSubrange(offset..<(offset + source.count), with: source)
    }

    mutating func setGUID(_ guid: VHDXGUID, at offset: Int) { setBytes(guid.storedBytes, at: offset) }
}

/// `0x1A2B3C4D`: how values read from a file are shown in messages.
func hexText<T: FixedWidthInteger>(_ value: T) -> String {
    let digits = String(value, radix: 16, uppercase: true)
    let width = T.bitWidth / 4
    return "0x" + String(repeating: "0", count: max(0, width - digits.count)) + digits
}

/// Text of a 4- or 8-byte signature as stored (little-endian ASCII), quoted, with non-printable
/// bytes escaped.
func signatureText<T: FixedWidthInteger>(_ value: T) -> String {
    var text = "\""
    withUnsafeBytes(of: value.littleEndian) { bytes in
        for byte in bytes {
            if byte >= 0x20 && byte < 0x7F { text.append(Character(UnicodeScalar(byte))) } else { text += "\\x" + String(byte, radix: 16) }
        }
    }
    return text + "\""
}
