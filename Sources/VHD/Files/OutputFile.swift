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
/// or failed run leaves the destination as it was. The temporary file is created 0600 (it
/// holds image content) and gets the mode of a new file (0666 less the umask), or the one
/// ``keepAttributes(of:)`` gave it, only at the commit; its name is in the process's list of
/// partial files, which a signal handler empties.
///
/// Only a regular file or a symbolic link's name is replaced: a device, FIFO, socket or folder
/// at the destination is refused even when overwriting is asked for, and a symbolic link
/// (dangling or not) counts as an existing destination.
///
/// A class, so that ``commit(sync:)`` and ``discard()`` know whether the descriptor is still
/// open: a descriptor closed twice could close an unrelated file that reused its number.
public final class OutputFile {
    /// Where the file appears when committed.
    public let destination: FilePath
    /// The temporary file written, in the destination's folder.
    public let temporaryPath: FilePath
    /// The temporary file's descriptor, open for writing until the commit or discard.
    public let descriptor: FileDescriptor
    private var isClosed = false
    private var isCommitted = false
    /// Whether ``keepAttributes(of:)`` set the mode (else the commit sets a new file's).
    private var keptAttributes = false
    /// Whether the file has a name (else it is an O_TMPFILE that vanishes when closed).
    private let isNamed: Bool
    /// This file's slot in ``PartialFiles``.
    private let partialSlot: Int?

    init(destination: FilePath, temporaryPath: FilePath, descriptor: FileDescriptor, named: Bool = true) {
        self.destination = destination
        self.temporaryPath = temporaryPath
        self.descriptor = descriptor
        isNamed = named
        partialSlot = named ? PartialFiles.register(temporaryPath.string) : nil
    }

    /// Creates the temporary file beside `destination`.
    ///
    /// - Parameters:
    ///   - destination: the path the file gets when committed; the temporary file (mode 0600,
    ///     named `.NAME.RANDOM.vhdtool-partial`) is created in its folder.
    ///   - overwrite: replace an existing regular file or symbolic link (the link
    ///     itself, never its target); without it anything at the destination is refused,
    ///     a dangling symbolic link included.
    /// - Throws: ``VHDError``: ``VHDError/Kind/destinationExists`` (without `overwrite`),
    ///   ``VHDError/Kind/destinationNotReplaceable(_:)`` for a device, FIFO, socket or folder,
    ///   or the file cannot be created.
    public static func create(at destination: FilePath, overwrite: Bool) throws(VHDError) -> OutputFile {
        if let kind = try FileKind.of(destination) {
            guard kind == .regularFile || kind == .symbolicLink else {
                throw VHDError(path: destination.string, .destinationNotReplaceable(kind))
            }
            guard overwrite else { throw VHDError(path: destination.string, .destinationExists) }
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
                    permissions: .ownerReadWrite)
                return OutputFile(destination: destination, temporaryPath: temporary, descriptor: descriptor)
            } catch Errno.fileExists where attempt < 99 {
                continue
            } catch {
                throw SystemCalls.failure("open", temporary.string, error as? Errno ?? .ioError)
            }
        }
        throw SystemCalls.failure("open", destination.string, .fileExists)
    }

    /// Creates an anonymous file (O_TMPFILE, mode 0600) in `folder`, for content that is
    /// written, read back and dropped (the uncompressed image behind a .gz destination): it has
    /// no name, so nothing is left whatever stops the process. It is never committed; in
    /// messages it is `folder/(temporary copy of DESTINATION-NAME)`.
    ///
    /// - Throws: ``VHDError`` when the folder's filesystem has no O_TMPFILE or the open fails.
    public static func createAnonymous(in folder: FilePath, for destination: FilePath) throws(VHDError) -> OutputFile {
        let temporaryFile = FileDescriptor.OpenOptions(rawValue: 0o2020_0000)  // O_TMPFILE (Linux)
        let descriptor = try SystemCalls.open(
            folder, .readWrite, options: [.closeOnExec, temporaryFile], permissions: .ownerReadWrite, call: "open(O_TMPFILE)")
        let name = "(temporary copy of \(destination.lastComponent?.string ?? destination.string))"
        return OutputFile(destination: folder.appending(name), temporaryPath: folder.appending(name), descriptor: descriptor, named: false)
    }

    /// Closes the file and renames it over the destination; with `sync`, first flushes the
    /// file and afterwards its folder to stable storage.
    public func commit(sync: Bool) throws(VHDError) {
        do throws(VHDError) {
            if !keptAttributes { try descriptor.setPermissions(0o666 & ~SystemCalls.currentUmask(), temporaryPath.string) }
            if sync { try descriptor.synchronize(temporaryPath.string) }
        } catch {
                discard()
            throw error
            }
        do throws(VHDError) {
            isClosed = true
            try SystemCalls.system("close", temporaryPath.string) { try descriptor.close() }
            try SystemCalls.rename(temporaryPath, to: destination)
        } catch {
            discardPath()
            throw error
        }
        isCommitted = true
        PartialFiles.unregister(partialSlot)
        if sync {
            let folder = destination.removingLastComponent()
            let directory = try SystemCalls.open(folder.isEmpty ? "." : folder, .readOnly, name: folder.string)
            defer { directory.closeQuietly() }
            try directory.synchronize(folder.string)
        }
    }

    /// Closes and removes the temporary file; the destination is untouched. After a commit
    /// that got as far as the rename, there is nothing left to discard.
    public func discard() {
        if !isClosed {
            isClosed = true
            descriptor.closeQuietly()
        }
        if !isCommitted { discardPath() }
    }

    private func discardPath() {
        if isNamed {
            do {
                try SystemCalls.remove(temporaryPath)
            } catch {
                // Clean-up after another error (or of a file already gone): that error is the one to report.
            }
        }
        PartialFiles.unregister(partialSlot)
    }

    /// Gives the new file the owner, group, mode and extended attributes (ACLs among them)
    /// of `file`, the one it is to replace: fchown first (it clears set-user-ID bits), then
    /// fchmod, then each xattr.
    ///
    /// - Throws: ``VHDError`` when one cannot be set (an xattr the filesystem does not
    ///   support, say), so that the replacement never silently widens who can read the disk.
    public func keepAttributes(of file: HostFile) throws(VHDError) {
        let source = file.descriptor
        let status = try source.status(file.name)
        try descriptor.setOwner(user: status.st_uid, group: status.st_gid, temporaryPath.string)
        try descriptor.setPermissions(status.st_mode & 0o7777, temporaryPath.string)
        keptAttributes = true
        for name in try source.extendedAttributeNames(file.name) {
            let value = try source.extendedAttribute(name, file.name)
            try descriptor.setExtendedAttribute(name, to: value, temporaryPath.string)
        }
    }

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
            _ = try SystemCalls.system("pwrite", destination.string, offset: position) {
                try descriptor.writeAll(toAbsoluteOffset: position, UnsafeRawBufferPointer(rebasing: bytes[done..<(done + count)]))
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
        try descriptor.truncate(to: size, destination.string)
    }
}

extension OutputFile {
    /// Creates the file, runs `body` on it, and commits it when `body` returns; when `body` (or
    /// the commit) throws, the temporary file is removed and the destination is left as it was.
    /// Cancellation is an error like any other (``VHDError/Kind/cancelled``), so a cancelled
    /// run leaves nothing either. This is the way to write a new file: there is no commit or
    /// discard to forget.
    ///
    ///     try OutputFile.withCreated(at: "new.vhd", overwrite: false, sync: true) { output in
    ///         try DiskConversion.convert(disk, to: .fixed, output: output)
    ///     }
    ///
    /// - Parameters:
    ///   - destination: where the file appears when `body` succeeds.
    ///   - overwrite: replace an existing regular file or symbolic link (see ``create(at:overwrite:)``).
    ///   - sync: flush the file, then its folder, to stable storage before returning.
    ///   - body: writes the file through the ``OutputFile`` it is given (which must not outlive it).
    /// - Returns: what `body` returns.
    /// - Throws: ``VHDError``: what ``create(at:overwrite:)``, `body` or the commit throws.
    public static func withCreated<T>(
        at destination: FilePath, overwrite: Bool, sync: Bool, _ body: (OutputFile) throws(VHDError) -> T
    ) throws(VHDError) -> T {
        let output = try create(at: destination, overwrite: overwrite)
        do {
            let result = try body(output)
            try output.commit(sync: sync)
            return result
        } catch {
            output.discard()
            throw error
        }
    }
}
