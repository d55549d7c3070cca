import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A file that appears at its destination only when complete.
///
/// It is written as a temporary file beside the destination (same folder, so the final rename
/// is atomic) and renamed over it by ``commit(sync:)``; ``discard()`` removes it. An interrupted
/// or failed run leaves the destination as it was.
///
/// A class, so that ``commit(sync:)`` and ``discard()`` know whether the descriptor is still
/// open: a descriptor closed twice could close an unrelated file that reused its number.
public final class OutputFile {
    public let destination: FilePath
    public let temporaryPath: FilePath
    public let descriptor: FileDescriptor
    private var isClosed = false
    private var isCommitted = false

    init(destination: FilePath, temporaryPath: FilePath, descriptor: FileDescriptor) {
        self.destination = destination
        self.temporaryPath = temporaryPath
        self.descriptor = descriptor
    }

    /// Creates the temporary file beside `destination`.
    ///
    /// - Parameter overwrite: replace an existing destination; without it an existing file is refused.
    /// - Throws: ``VHDError`` if the destination exists (without `overwrite`) or the file cannot be created.
    public static func create(at destination: FilePath, overwrite: Bool) throws(VHDError) -> OutputFile {
        if !overwrite && access(destination.string, F_OK) == 0 {
            throw VHDError(path: destination.string, .destinationExists)
        }
        let folder = destination.removingLastComponent()
        let base = destination.lastComponent?.string ?? "output"
        for attempt in 0..<100 {
            let suffix = String(UInt32.random(in: 0...UInt32.max), radix: 36)
            let name = ".\(base).\(suffix).vhdtool-partial"
            let temporary = folder.isEmpty ? FilePath(name) : folder.appending(name)
            do {
                let descriptor = try FileDescriptor.open(
                    temporary, .readWrite, options: [.create, .exclusiveCreate, .closeOnExec],
                    permissions: [.ownerReadWrite, .groupRead, .otherRead])
                return OutputFile(destination: destination, temporaryPath: temporary, descriptor: descriptor)
            } catch Errno.fileExists where attempt < 99 {
                continue
            } catch {
                throw VHDError(path: temporary.string, .io(call: "open", offset: nil, errno: error as? Errno ?? .ioError))
            }
        }
        throw VHDError(path: destination.string, .io(call: "open", offset: nil, errno: .fileExists))
    }

    /// Closes the file and renames it over the destination; with `sync`, first flushes the
    /// file and afterwards its folder to stable storage.
    public func commit(sync: Bool) throws(VHDError) {
        if sync && fsync(descriptor.rawValue) != 0 {
            let failure = Errno(rawValue: errno)
            discard()
            throw VHDError(path: temporaryPath.string, .io(call: "fsync", offset: nil, errno: failure))
        }
        do {
            isClosed = true
            try descriptor.close()
        } catch {
            discardPath()
            throw VHDError(path: temporaryPath.string, .io(call: "close", offset: nil, errno: error as? Errno ?? .ioError))
        }
        guard rename(temporaryPath.string, destination.string) == 0 else {
            let failure = Errno(rawValue: errno)
            discardPath()
            throw VHDError(path: destination.string, .io(call: "rename", offset: nil, errno: failure))
        }
        isCommitted = true
        if sync {
            let folder = destination.removingLastComponent()
            let directory: FileDescriptor
            do {
                directory = try FileDescriptor.open(folder.isEmpty ? "." : folder, .readOnly)
            } catch {
                throw VHDError(path: folder.string, .io(call: "open", offset: nil, errno: error as? Errno ?? .ioError))
            }
            defer { try? directory.close() }
            guard fsync(directory.rawValue) == 0 else {
                throw VHDError(path: folder.string, .io(call: "fsync", offset: nil, errno: Errno(rawValue: errno)))
            }
        }
    }

    /// Closes and removes the temporary file; the destination is untouched. After a commit
    /// that got as far as the rename, there is nothing left to discard.
    public func discard() {
        if !isClosed {
            isClosed = true
            try? descriptor.close()
        }
        if !isCommitted { discardPath() }
    }

    private func discardPath() { unlink(temporaryPath.string) }

    /// The most bytes one pwrite is given. Larger writes were measured several times slower
    /// on a Linux VM (a 2 MiB write takes a huge page-cache folio; see Benchmarks/README.md),
    /// and 512 KiB pieces cost nothing elsewhere.
    public static let maximumWriteSize = 512 << 10

    /// Writes all of `bytes` at `offset`, in pieces of at most ``maximumWriteSize``.
    public func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(VHDError) {
        var done = 0
        while done < bytes.count {
            let count = min(Self.maximumWriteSize, bytes.count - done)
            let position = offset + Int64(done)
            do {
                _ = try descriptor.writeAll(toAbsoluteOffset: position, UnsafeRawBufferPointer(rebasing: bytes[done..<(done + count)]))
            } catch {
                throw VHDError(path: destination.string, .io(call: "pwrite", offset: position, errno: error as? Errno ?? .ioError))
            }
            done += count
        }
    }

    /// Writes all of `bytes` at `offset`.
    public func write(_ bytes: [UInt8], at offset: Int64) throws(VHDError) {
        try bytes.span.withUnsafeBytes { (buffer) throws(VHDError) in try write(buffer, at: offset) }
    }

    /// Sets the file's size (growing it with a hole).
    public func resize(to size: Int64) throws(VHDError) {
        guard ftruncate(descriptor.rawValue, off_t(size)) == 0 else {
            throw VHDError(path: destination.string, .io(call: "ftruncate", offset: size, errno: Errno(rawValue: errno)))
        }
    }
}
