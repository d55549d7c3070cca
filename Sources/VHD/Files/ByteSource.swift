import SystemPackage

/// Positional, read-only access to the bytes of an image: a file, or bytes in memory for tests
/// and fuzzing. Everything that parses an image reads through this, with absolute offsets.
public protocol ByteSource {
    /// The name used in messages (the path as the caller gave it).
    var name: String { get }
    /// Size of the source in bytes.
    var sizeInBytes: Int64 { get }
    /// Fills `buffer` with the bytes at `offset`.
    ///
    /// - Throws: ``VHDError`` on an I/O error or if the source ends before the buffer is full.
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(VHDError)
    /// The parts of `range` that the host really stores, in order; the rest are holes that read
    /// as zeros. Sources without holes return `[range]`.
    func storedRanges(in range: Range<Int64>) throws(VHDError) -> [Range<Int64>]
}

extension ByteSource {
    /// The whole of `range`: a source without holes stores everything.
    ///
    /// - Parameter range: File offsets in bytes.
    /// - Returns: `[range]`, or no range when `range` is empty.
    public func storedRanges(in range: Range<Int64>) throws(VHDError) -> [Range<Int64>] {
        range.isEmpty ? [] : [range]
    }
}

extension ByteSource {
    /// Reads `count` bytes at `offset` into a new array, after checking the range is in bounds.
    func bytes(at offset: Int64, count: Int) throws(VHDError) -> [UInt8] {
        guard count >= 0, offset >= 0, offset <= sizeInBytes, Int64(count) <= sizeInBytes - offset else {
            throw VHDError(path: name, .unexpectedEndOfFile(offset: offset, needed: count))
        }
        var result = [UInt8](repeating: 0, count: count)
        try result.withMutableBytes { (buffer) throws(VHDError) in try read(into: buffer, at: offset) }
        return result
    }
}

/// Bytes in memory, seen as an image file.
public struct MemoryByteSource: ByteSource, Sendable {
    /// The name used in messages, "<memory>" by default.
    public var name: String
    /// The bytes of the image, from offset 0.
    public var contents: [UInt8]

    /// Wraps bytes as an image file.
    ///
    /// - Parameters:
    ///   - name: The name used in messages.
    ///   - contents: The bytes of the image.
    public init(name: String = "<memory>", contents: [UInt8]) {
        self.name = name
        self.contents = contents
    }

    /// The number of bytes in ``contents``.
    public var sizeInBytes: Int64 { Int64(contents.count) }

    /// Copies the bytes at `offset` into `buffer`.
    ///
    /// - Parameters:
    ///   - buffer: Filled completely.
    ///   - offset: Offset of the first byte, from 0.
    /// - Throws: ``VHDError`` if the range is not inside ``contents``.
    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(VHDError) {
        guard offset >= 0, offset <= sizeInBytes, Int64(buffer.count) <= sizeInBytes - offset else {
            throw VHDError(path: name, .unexpectedEndOfFile(offset: offset, needed: buffer.count))
        }
        contents.withUnsafeBytes { source in
            buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[Int(offset)..<(Int(offset) + buffer.count)]))
        }
    }
}
