// Big-endian field access over untrusted bytes. Parsers check a structure's length once,
// then read named offsets; an offset out of range here is a bug in this module, not bad input.

extension RawSpan {
    /// Reads a big-endian integer at `offset`; traps if the range is outside the span.
    @inline(__always)
    func bigEndian<T: FixedWidthInteger & BitwiseCopyable>(_: T.Type, at offset: Int) -> T {
        T(bigEndian: unsafeLoadUnaligned(fromByteOffset: offset, as: T.self))
    }

    /// Reads a little-endian integer at `offset`; traps if the range is outside the span.
    @inline(__always)
    func littleEndian<T: FixedWidthInteger & BitwiseCopyable>(_: T.Type, at offset: Int) -> T {
        T(littleEndian: unsafeLoadUnaligned(fromByteOffset: offset, as: T.self))
    }

    /// Copies `count` bytes starting at `offset` into an array.
    func bytes(at offset: Int, count: Int) -> [UInt8] {
        extracting(offset..<(offset + count)).withUnsafeBytes { Array($0) }
    }
}

/// A fixed-size byte buffer that serializers fill field by field at named offsets.
struct ByteWriter {
    private(set) var bytes: [UInt8]

    init(count: Int, filler: UInt8 = 0) {
        bytes = [UInt8](repeating: filler, count: count)
    }

    mutating func setBigEndian<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        withUnsafeBytes(of: value.bigEndian) { source in
            for (index, byte) in source.enumerated() { bytes[offset + index] = byte }
        }
    }

    mutating func setBytes(_ source: some Collection<UInt8>, at offset: Int) {
        bytes.replaceSubrange(offset..<(offset + source.count), with: source)
    }
}
