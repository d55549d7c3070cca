/// What the content probe reads from: virtual bytes by offset. ``Disk`` is one; tests use
/// bytes in memory.
public protocol VirtualByteReader {
    /// The size of the virtual disk in bytes.
    var virtualSize: UInt64 { get }
    /// Reads `count` virtual bytes at `offset`.
    ///
    /// The probe asks only for ranges inside ``virtualSize``.
    ///
    /// - Parameters:
    ///   - offset: the virtual byte offset of the first byte.
    ///   - count: the number of bytes to read.
    /// - Returns: exactly `count` bytes.
    /// - Throws: ``VHDError`` when the read fails.
    func read(at offset: UInt64, count: Int) throws(VHDError) -> [UInt8]
}

extension Disk: VirtualByteReader {}

/// A reader that refuses, instead of reading, anything not wholly inside the disk: every
/// offset the probe reads comes from the disk itself and is untrusted.
struct BoundedReader {
    let source: any VirtualByteReader
    /// Bytes read so far (the probe promises a few sectors per partition).
    private(set) var bytesRead = 0

    init(_ source: any VirtualByteReader) { self.source = source }

    var virtualSize: UInt64 { source.virtualSize }

    /// The `count` bytes at `offset`, or nil when any of them lies outside the disk.
    mutating func read(at offset: UInt64, count: Int) throws(VHDError) -> [UInt8]? {
        guard count >= 0, Self.fits(offset, UInt64(count), within: source.virtualSize) else { return nil }
        bytesRead += count
        return try source.read(at: offset, count: count)
    }

    /// Whether `[offset, offset + length)` lies inside `[0, limit)`, without overflowing.
    static func fits(_ offset: UInt64, _ length: UInt64, within limit: UInt64) -> Bool {
        let (end, overflow) = offset.addingReportingOverflow(length)
        return !overflow && end <= limit
    }
}

/// An offset in bytes from a sector number, or nil when it does not fit in 64 bits.
func byteOffset(sector: UInt64) -> UInt64? {
    let (bytes, overflow) = sector.multipliedReportingOverflow(by: 512)
    return overflow ? nil : bytes
}

// Little-endian fields of on-disk structures found inside the disk (MBR, GPT, superblocks).
// Unlike VHD's own big-endian structures, these come in buffers of whatever length was read,
// so a field past the end reads as zero instead of trapping.
extension Array where Element == UInt8 {
    func littleEndian<T: FixedWidthInteger>(_: T.Type, at offset: Int) -> T {
        let size = MemoryLayout<T>.size
        guard offset >= 0, offset <= count - size else { return 0 }
        var value: T = 0
        for index in (0..<size).reversed() { value = value << 8 | T(self[offset + index]) }
        return value
    }

    /// Whether the ASCII text `text` is stored at `offset`.
    func hasASCII(_ text: String, at offset: Int) -> Bool {
        let expected = Array(text.utf8)
        guard offset >= 0, offset <= count - expected.count else { return false }
        return self[offset..<(offset + expected.count)].elementsEqual(expected)
    }
}
