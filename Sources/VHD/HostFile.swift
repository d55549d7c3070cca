import SystemPackage

/// An open file of the host's filesystem, read with positional reads (no shared cursor).
public struct HostFile: ByteSource {
    public let descriptor: FileDescriptor
    public let path: FilePath
    public let sizeInBytes: Int64

    public var name: String { path.string }

    /// Opens `path` read-only for the duration of `body`.
    ///
    /// - Throws: ``VHDError`` if the file cannot be opened or its size read; whatever `body` throws.
    public static func withOpened<R>(at path: FilePath, _ body: (HostFile) throws -> R) throws -> R {
        let descriptor: FileDescriptor
        do {
            descriptor = try FileDescriptor.open(path, .readOnly, options: [.closeOnExec])
        } catch {
            throw VHDError(path: path.string, .io(call: "open", offset: nil, errno: error as? Errno ?? .ioError))
        }
        return try descriptor.closeAfter {
            let size: Int64
            do {
                size = try descriptor.seek(offset: 0, from: .end)
            } catch {
                throw VHDError(path: path.string, .io(call: "lseek", offset: nil, errno: error as? Errno ?? .ioError))
            }
            return try body(HostFile(descriptor: descriptor, path: path, sizeInBytes: size))
        }
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(VHDError) {
        var done = 0
        while done < buffer.count {
            let count: Int
            do {
                count = try descriptor.read(
                    fromAbsoluteOffset: offset + Int64(done),
                    into: UnsafeMutableRawBufferPointer(rebasing: buffer[done...]), retryOnInterrupt: true)
            } catch {
                throw VHDError(path: name, .io(call: "pread", offset: offset + Int64(done), errno: error as? Errno ?? .ioError))
            }
            guard count > 0 else {
                throw VHDError(path: name, .unexpectedEndOfFile(offset: offset, needed: buffer.count))
            }
            done += count
        }
    }
}
