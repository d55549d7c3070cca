import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An open file of the host's filesystem, read with positional reads (no shared cursor).
public struct HostFile: ByteSource, Sendable {
    /// The open descriptor; ``close()`` closes it.
    public let descriptor: FileDescriptor
    /// The path as the caller gave it.
    public let path: FilePath
    /// Size of the file in bytes when it was opened.
    public let sizeInBytes: Int64

    /// The path as text, used in messages.
    public var name: String { path.string }

    /// Opens `path` (read-only unless `writable`), checks that it is a regular file without
    /// blocking, and locks it as QEMU does; the caller closes it with ``close()``.
    ///
    /// The file is opened with O_NONBLOCK, so that a FIFO cannot block the open, and its type
    /// read with fstat(2) before anything else; only then is O_NONBLOCK cleared.
    ///
    /// - Parameters:
    ///   - path: the file to open; a symbolic link is followed.
    ///   - writable: open for reading and writing.
    ///   - lock: lock the file (``ImageLock/Mode/exclusive`` when `writable`, else
    ///     ``ImageLock/Mode/shared``); `false` for files that are no disk (a sidecar) or when the
    ///     caller holds the lock through another descriptor, or asked for no locking.
    ///   - acceptsBlockDevice: also accept a block device: only for a disk the user named
    ///     (never a parent found through a locator).
    /// - Throws: ``VHDError``: the file cannot be opened or its size read,
    ///   ``VHDError/Kind/notARegularFile(_:)`` for a FIFO, socket, folder or device,
    ///   ``VHDError/Kind/notWritable(reason:)`` for `writable` on a file whose mode has no
    ///   write bit (even for root), ``VHDError/Kind/locked(by:)`` when another open file holds
    ///   a conflicting lock.
    public static func open(
        _ path: FilePath, writable: Bool = false, lock: Bool = true, acceptsBlockDevice: Bool = false
    ) throws(VHDError) -> HostFile {
        let descriptor = try SystemCalls.open(
            path, writable ? .readWrite : .readOnly, options: [.closeOnExec, .nonBlocking, FileDescriptor.OpenOptions(rawValue: O_NOCTTY)])
        do throws(VHDError) {
            let status = try descriptor.status(path.string)
            let kind = FileKind(mode: status.st_mode)
            guard kind == .regularFile || (kind == .blockDevice && acceptsBlockDevice) else {
                throw VHDError(path: path.string, .notARegularFile(kind))
            }
            // Root opens a 0444 file for writing all the same; its mode still says "do not".
            if writable && status.st_mode & 0o222 == 0 {
                throw VHDError(path: path.string, .notWritable(reason: "its mode allows no one to write it (chmod u+w to allow it)"))
            }
            try descriptor.clearNonBlocking(path.string)
            if lock { try ImageLock.lock(descriptor, name: path.string, mode: writable ? .exclusive : .shared) }
            let size = try descriptor.sizeByEnd(path.string)
            return HostFile(descriptor: descriptor, path: path, sizeInBytes: size)
        } catch {
            descriptor.closeQuietly()
            throw error
        }
    }

    /// Adopts an open descriptor (e.g. an anonymous temporary file), shown in messages as `path`.
    public static func adopting(_ descriptor: FileDescriptor, path: FilePath) throws(VHDError) -> HostFile {
        HostFile(descriptor: descriptor, path: path, sizeInBytes: try descriptor.sizeByEnd(path.string))
    }

    /// Opens `path` read-only, a regular file locked ``ImageLock/Mode/shared`` unless `lock`
    /// is false, for the duration of `body`.
    ///
    /// - Throws: ``VHDError`` if the file cannot be opened, is no regular file, is locked by a
    ///   writer or its size cannot be read; whatever `body` throws.
    public static func withOpened<R>(at path: FilePath, lock: Bool = true, _ body: (HostFile) throws -> R) throws -> R {
        let file = try Self.open(path, lock: lock)
        defer { file.close() }
        return try body(file)
    }

    /// Closes the descriptor. Errors of close(2) on a read-only file carry no lost data.
    public func close() { descriptor.closeQuietly() }

    /// Fills `buffer` with the bytes at `offset`, with positional reads repeated until it is full.
    ///
    /// - Parameters:
    ///   - buffer: Filled completely.
    ///   - offset: File offset of the first byte.
    /// - Throws: ``VHDError`` on an I/O error (with the call, path and offset) or if the file ends
    ///   before the buffer is full.
    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(VHDError) {
        var done = 0
        while done < buffer.count {
            let count = try SystemCalls.system("pread", name, offset: offset + Int64(done)) {
                try descriptor.read(
                    fromAbsoluteOffset: offset + Int64(done),
                    into: UnsafeMutableRawBufferPointer(rebasing: buffer[done...]), retryOnInterrupt: true)
            }
            guard count > 0 else {
                throw VHDError(path: name, .unexpectedEndOfFile(offset: offset, needed: buffer.count))
            }
            done += count
        }
    }

    /// The stored parts of `range`, found with lseek(SEEK_DATA) and lseek(SEEK_HOLE). A
    /// filesystem without hole support reports everything as stored.
    public func storedRanges(in range: Range<Int64>) throws(VHDError) -> [Range<Int64>] {
        var result: [Range<Int64>] = []
        var position = range.lowerBound
        while position < range.upperBound {
            let dataStart: Int64
            do {
                dataStart = try descriptor.seek(offset: position, from: .data)
            } catch Errno.noSuchAddressOrDevice {
                break  // only a hole from here to the end of the file
            } catch Errno.invalidArgument {
                result.append(position..<range.upperBound)  // no SEEK_DATA on this filesystem
                break
            } catch {
                throw SystemCalls.failure("lseek(SEEK_DATA)", name, offset: position, error as? Errno ?? .ioError)
            }
            if dataStart >= range.upperBound { break }
            let holeStart = try SystemCalls.system("lseek(SEEK_HOLE)", name, offset: dataStart) {
                try descriptor.seek(offset: dataStart, from: .hole)
            }
            let end = min(holeStart, range.upperBound)
            result.append(dataStart..<end)
            position = end
        }
        return result
    }
}

extension FileDescriptor.SeekOrigin {
    // SEEK_DATA and SEEK_HOLE, which swift-system names only on Darwin and FreeBSD.
    #if os(Linux)
    static let data = FileDescriptor.SeekOrigin(rawValue: 3)
    static let hole = FileDescriptor.SeekOrigin(rawValue: 4)
    #else
    static let data = FileDescriptor.SeekOrigin(rawValue: 4)
    static let hole = FileDescriptor.SeekOrigin(rawValue: 3)
    #endif
}
