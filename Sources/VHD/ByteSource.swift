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
}

extension ByteSource {
    /// Reads `count` bytes at `offset` into a new array, after checking the range is in bounds.
    func bytes(at offset: Int64, count: Int) throws(VHDError) -> [UInt8] {
        guard count >= 0, offset >= 0, offset <= sizeInBytes, Int64(count) <= sizeInBytes - offset else {
            throw VHDError(path: name, .unexpectedEndOfFile(offset: offset, needed: count))
        }
        var result = [UInt8](repeating: 0, count: count)
        let outcome: Result<Void, VHDError> = result.withUnsafeMutableBytes { buffer in
            do throws(VHDError) {
                return .success(try read(into: buffer, at: offset))
            } catch {
                return .failure(error)
            }
        }
        try outcome.get()
        return result
    }
}

/// Bytes in memory, seen as an image file.
public struct MemoryByteSource: ByteSource, Sendable {
    public var name: String
    public var contents: [UInt8]

    public init(name: String = "<memory>", contents: [UInt8]) {
        self.name = name
        self.contents = contents
    }

    public var sizeInBytes: Int64 { Int64(contents.count) }

    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(VHDError) {
        guard offset >= 0, offset <= sizeInBytes, Int64(buffer.count) <= sizeInBytes - offset else {
            throw VHDError(path: name, .unexpectedEndOfFile(offset: offset, needed: buffer.count))
        }
        contents.withUnsafeBytes { source in
            buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[Int(offset)..<(Int(offset) + buffer.count)]))
        }
    }
}
