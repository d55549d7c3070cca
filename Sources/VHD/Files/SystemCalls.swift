import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The library's one door to the host's file system: every libc call on a file, a folder or a
/// descriptor that VHD and ImageGallery make goes through here (as swift-system does for its own
/// calls), and so does every I/O error they build.
///
/// Each call is retried while it fails with EINTR and then either returns its value or throws a
/// ``VHDError`` of kind ``VHDError/Kind/io(call:offset:errno:)``: the call, the file as the
/// caller named it (`name`), the offset when there is one, and the `Errno`. Callers that expect
/// a failure (ENOENT, EEXIST) catch it by ``VHDError/errno``. ImageGallery words these errors in
/// its own sentences in one place (`GalleryError.io(_:_:)`).
///
/// Positional reads and writes stay swift-system's (`FileDescriptor.read(fromAbsoluteOffset:)`,
/// `writeAll(toAbsoluteOffset:)`); ``system(_:_:offset:_:)`` turns their errors into the same
/// error. `SystemCallScanTests` fails when a libc file call appears anywhere else.
package enum SystemCalls {
    /// The one way an I/O error is built: `call` failed on the file `name` (at `offset`).
    package static func failure(_ call: String, _ name: String, offset: Int64? = nil, _ errno: Errno) -> VHDError {
        VHDError(path: name, .io(call: call, offset: offset, errno: errno))
    }

    /// Runs `body`, a libc call that returns -1 and sets errno on failure, again while it fails
    /// with EINTR.
    ///
    /// - Throws: ``VHDError`` naming `call`, `name` and `offset` with the call's errno.
    @discardableResult
    package static func checked<T: FixedWidthInteger>(
        _ call: String, _ name: String, offset: Int64? = nil, _ body: () -> T
    ) throws(VHDError) -> T {
        while true {
            let result = body()
            if result != -1 { return result }
            let error = Errno(rawValue: errno)
            if error != .interrupted { throw failure(call, name, offset: offset, error) }
        }
    }

    /// Runs `body`, a swift-system call (which throws an `Errno` and retries EINTR itself),
    /// and words its error like the others.
    package static func system<T>(_ call: String, _ name: String, offset: Int64? = nil, _ body: () throws -> T) throws(VHDError) -> T {
        do {
            return try body()
        } catch {
            throw failure(call, name, offset: offset, error as? Errno ?? .ioError)
        }
    }

    // MARK: Paths

    /// Opens `path` with swift-system's `open`, the error worded as `call` (default "open").
    package static func open(
        _ path: FilePath, _ mode: FileDescriptor.AccessMode, options: FileDescriptor.OpenOptions = [],
        permissions: FilePermissions? = nil, call: String = "open", name: String? = nil
    ) throws(VHDError) -> FileDescriptor {
        try system(call, name ?? path.string) {
            try FileDescriptor.open(path, mode, options: options, permissions: permissions, retryOnInterrupt: true)
        }
    }

    /// stat(2) of `path`, following a symbolic link unless `followingLinks` is false (lstat(2)).
    package static func status(of path: FilePath, followingLinks: Bool = true) throws(VHDError) -> stat {
        var status = stat()
        if followingLinks {
            try checked("stat", path.string) { path.withPlatformString { stat($0, &status) } }
        } else {
            try checked("lstat", path.string) { path.withPlatformString { lstat($0, &status) } }
        }
        return status
    }

    /// stat(2) of `path`, nil when it fails however, for the callers that count a failure as
    /// "no such file" (parent candidates, folder identities).
    package static func statusIfPresent(of path: FilePath) -> stat? {
        do {
            return try status(of: path)
        } catch {
            return nil
        }
    }

    /// Checks access(2) `mode` (R_OK, W_OK, X_OK or F_OK) to `path` for the real user.
    package static func checkAccess(_ path: FilePath, _ mode: Int32) throws(VHDError) {
        try checked("access", path.string) { path.withPlatformString { access($0, mode) } }
    }

    /// Removes the name `path` (unlink(2)).
    package static func remove(_ path: FilePath) throws(VHDError) {
        try checked("unlink", path.string) { path.withPlatformString { unlink($0) } }
    }

    /// Removes the name `path` (unlink(2)) from a signal handler: one async-signal-safe call,
    /// no allocation, no error (there is no one to tell).
    package static func removeInSignalHandler(_ path: UnsafePointer<CChar>) {
        _ = unlink(path)
    }

    /// Renames `source` to `destination` (rename(2)); the error names the destination.
    package static func rename(_ source: FilePath, to destination: FilePath) throws(VHDError) {
        try checked("rename", destination.string) {
            source.withPlatformString { from in destination.withPlatformString { to in renameFile(from, to) } }
        }
    }

    /// Makes the folder `path` (mkdir(2)); false when something is already there.
    @discardableResult
    package static func makeFolder(_ path: FilePath, permissions: mode_t = 0o755) throws(VHDError) -> Bool {
        do throws(VHDError) {
            try checked("mkdir", path.string) { path.withPlatformString { mkdir($0, permissions) } }
            return true
        } catch where error.errno == .fileExists {
            return false
        }
    }

    /// The real path of `path` (realpath(3)): links followed, `.` and `..` resolved.
    package static func realPath(_ path: FilePath) throws(VHDError) -> FilePath {
        while true {
            if let real = path.withPlatformString({ realpath($0, nil) }) {
                defer { free(real) }
                return FilePath(platformString: real)
            }
            let error = Errno(rawValue: errno)
            if error != .interrupted { throw failure("realpath", path.string, error) }
        }
    }

    /// The names in the folder `path` (opendir(3)), "." and ".." left out.
    package static func names(inFolder path: FilePath) throws(VHDError) -> [String] {
        let folder = try open(path, .readOnly, options: [.directory, .closeOnExec])
        defer { folder.closeQuietly() }
        return try folder.names(path.string)
    }

    /// The process's umask, read from /proc/self/status (Linux 4.7+) without changing it:
    /// umask(2) can only be read by setting it, which would race with other threads creating
    /// files. Elsewhere it is set and restored.
    package static func currentUmask() -> mode_t {
        if let text = smallFile("/proc/self/status") {
            for line in text.split(separator: UInt8(ascii: "\n")) where line.starts(with: Array("Umask:".utf8)) {
                let digits = String(decoding: line.dropFirst(6), as: UTF8.self).filter { !$0.isWhitespace }
                if let mask = mode_t(digits, radix: 8) { return mask }
            }
        }
        let mask = umask(0)
        umask(mask)
        return mask
    }

    /// Asks the kernel to back `buffer`'s whole pages with memory in one call before a large read
    /// fills it: a 2 MiB table otherwise takes 512 page faults inside `pread`, about 0.5 ms of a
    /// 1 TiB disk's opening. Only a hint: nothing happens for small buffers, off Linux, or on a
    /// kernel without `MADV_POPULATE_WRITE` (before 5.14), and the read is the same either way.
    package static func prefault(_ buffer: UnsafeMutableRawBufferPointer) {
        #if os(Linux)
        let populateWrite: Int32 = 23  // MADV_POPULATE_WRITE (linux/mman.h), not in every libc's headers
        let pageSize = 4096
        guard buffer.count >= 64 * pageSize, let base = buffer.baseAddress else { return }
        let start = (Int(bitPattern: base) + pageSize - 1) & ~(pageSize - 1)
        let end = (Int(bitPattern: base) + buffer.count) & ~(pageSize - 1)
        guard end > start, let first = UnsafeMutableRawPointer(bitPattern: start) else { return }
        _ = madvise(first, end - start, populateWrite)
        #endif
    }

    /// The first `limit` bytes of a small file such as one of /proc, nil when it cannot be
    /// opened or read (a process that has gone, no /proc).
    package static func smallFile(_ path: FilePath, limit: Int = 4096) -> [UInt8]? {
        do {
            let file = try open(path, .readOnly, options: [.closeOnExec])
            defer { file.closeQuietly() }
            var bytes = [UInt8](repeating: 0, count: limit)
            var count = 0
            while count < limit {
                let read = try bytes.withUnsafeMutableBytes { (buffer) throws(VHDError) in
                    try system("read", path.string) {
                        try file.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[count...]), retryOnInterrupt: true)
                    }
                }
                if read == 0 { break }
                count += read
            }
            return Array(bytes[..<count])
        } catch {
            return nil
        }
    }
}

/// libc's `struct stat`, named where swift-system's `FileDescriptor.stat()` does not hide it.
package typealias FileStatus = stat

// dup(2), reached from outside FileDescriptor, whose own methods hide it.
private func duplicateDescriptor(_ descriptor: Int32) -> Int32 {
    dup(descriptor)
}

// rename(3), reached from outside SystemCalls, whose own rename(_:to:) hides it.
private func renameFile(_ source: UnsafePointer<CChar>, _ destination: UnsafePointer<CChar>) -> Int32 {
    rename(source, destination)
}

extension VHDError {
    /// The `Errno` of a failed system call, nil for any other error.
    package var errno: Errno? {
        if case let .io(_, _, errno) = kind { return errno }
        return nil
    }
}

// MARK: Descriptors

extension FileDescriptor {
    /// Closes the descriptor, ignoring close(2)'s error: for read-only files and folders, whose
    /// close loses no data, and for clean-up after another error.
    package func closeQuietly() {
        do {
            try close()
        } catch {
            // Nothing was written through it, or a first error is being reported already.
        }
    }

    /// fstat(2) of the open file `name`.
    package func status(_ name: String) throws(VHDError) -> FileStatus {
        var status = FileStatus()
        try SystemCalls.checked("fstat", name) { fstat(rawValue, &status) }
        return status
    }

    /// Flushes the file (or folder) `name` to stable storage (fsync(2)).
    package func synchronize(_ name: String) throws(VHDError) {
        try SystemCalls.checked("fsync", name) { fsync(rawValue) }
    }

    /// Sets the size of the file `name` (ftruncate(2)): growing leaves a hole.
    package func truncate(to size: Int64, _ name: String) throws(VHDError) {
        try SystemCalls.checked("ftruncate", name, offset: size) { ftruncate(rawValue, off_t(size)) }
    }

    /// Reserves `count` bytes from `offset` of the file `name` (posix_fallocate(3)).
    package func allocate(_ count: Int64, at offset: Int64 = 0, _ name: String) throws(VHDError) {
        while true {
            let result = posix_fallocate(rawValue, off_t(offset), off_t(count))  // returns the errno itself
            if result == 0 { return }
            if result != EINTR { throw SystemCalls.failure("posix_fallocate", name, offset: offset, Errno(rawValue: result)) }
        }
    }

    /// Sets the permission bits of the file `name` (fchmod(2)).
    package func setPermissions(_ mode: mode_t, _ name: String) throws(VHDError) {
        try SystemCalls.checked("fchmod", name) { fchmod(rawValue, mode) }
    }

    /// Sets the owner and group of the file `name` (fchown(2)).
    package func setOwner(user: uid_t, group: gid_t, _ name: String) throws(VHDError) {
        try SystemCalls.checked("fchown", name) { fchown(rawValue, user, group) }
    }

    /// Clears O_NONBLOCK, with which a file is opened so that a FIFO cannot block the open.
    package func clearNonBlocking(_ name: String) throws(VHDError) {
        let flags = try SystemCalls.checked("fcntl(F_SETFL)", name) { fcntl(rawValue, F_GETFL) }
        try SystemCalls.checked("fcntl(F_SETFL)", name) { fcntl(rawValue, F_SETFL, flags & ~O_NONBLOCK) }
    }

    /// fcntl(2) with a record lock (`command` is F_OFD_SETLK, F_OFD_GETLK, ...), worded as `call`.
    package func lockControl(_ command: Int32, _ request: inout flock, call: String, _ name: String, offset: Int64?) throws(VHDError) {
        try SystemCalls.checked(call, name, offset: offset) { fcntl(rawValue, command, &request) }
    }

    /// The size of the file `name`, from lseek(2) to its end.
    package func sizeByEnd(_ name: String) throws(VHDError) -> Int64 {
        try SystemCalls.system("lseek", name) { try seek(offset: 0, from: .end) }
    }

    // MARK: Folders (relative to this descriptor)

    /// Opens `entry` in this folder (openat(2)) with `flags` (O_CLOEXEC is added); `path`
    /// names it in messages.
    package func openEntry(_ entry: String, flags: Int32, permissions: mode_t = 0, path: FilePath) throws(VHDError) -> FileDescriptor {
        FileDescriptor(rawValue: try SystemCalls.checked("openat", path.string) { openat(rawValue, entry, flags | O_CLOEXEC, permissions) })
    }

    /// Makes the folder `entry` in this folder (mkdirat(2)); false when something is already there.
    @discardableResult
    package func makeFolder(_ entry: String, permissions: mode_t = 0o755, path: FilePath) throws(VHDError) -> Bool {
        do throws(VHDError) {
            try SystemCalls.checked("mkdirat", path.string) { mkdirat(rawValue, entry, permissions) }
            return true
        } catch where error.errno == .fileExists {
            return false
        }
    }

    /// Removes `entry` of this folder (unlinkat(2)): a file or link, or with `folder` an empty folder.
    package func removeEntry(_ entry: String, folder: Bool = false, path: FilePath) throws(VHDError) {
        try SystemCalls.checked(folder ? "rmdir" : "unlinkat", path.string) { unlinkat(rawValue, entry, folder ? AT_REMOVEDIR : 0) }
    }

    /// fstatat(2) of `entry` in this folder, never following a symbolic link.
    package func status(ofEntry entry: String, path: FilePath) throws(VHDError) -> FileStatus {
        var status = FileStatus()
        try SystemCalls.checked("fstatat", path.string) { fstatat(rawValue, entry, &status, AT_SYMLINK_NOFOLLOW) }
        return status
    }

    /// Gives the file `entry` of this folder the second name `newName` (linkat(2)), which
    /// fails with EEXIST when `newName` exists.
    package func link(_ entry: String, as newName: String, path: FilePath) throws(VHDError) {
        try SystemCalls.checked("linkat", path.string) { linkat(rawValue, entry, rawValue, newName, 0) }
    }

    /// A second descriptor of the same open file (dup(2)).
    package func duplicate(_ name: String) throws(VHDError) -> FileDescriptor {
        FileDescriptor(rawValue: try SystemCalls.checked("dup", name) { duplicateDescriptor(rawValue) })
    }

    /// The names in this open folder `name` (readdir(3) on a duplicate, from the start), "."
    /// and ".." left out.
    package func names(_ name: String) throws(VHDError) -> [String] {
        let copy = try duplicate(name)
        guard let folder = fdopendir(copy.rawValue) else {
            let error = Errno(rawValue: errno)
            copy.closeQuietly()
            throw SystemCalls.failure("fdopendir", name, error)
        }
        defer { closedir(folder) }
        rewinddir(folder)
        var names: [String] = []
        while let entry = readdir(folder) {
            let entryName = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if entryName != "." && entryName != ".." { names.append(entryName) }
        }
        return names
    }

    // MARK: Extended attributes

    /// The names of the extended attributes of the file `name` (flistxattr(2)); none when the
    /// filesystem or the C library has none.
    package func extendedAttributeNames(_ name: String) throws(VHDError) -> [String] {
        guard let list = ExtendedAttributes.list else { return [] }
        let size: Int
        do throws(VHDError) {
            size = try SystemCalls.checked("flistxattr", name) { list(rawValue, nil, 0) }
        } catch where error.errno == .notSupported {
            return []  // no xattrs on this filesystem: none to keep
        }
        guard size > 0 else { return [] }
        var names = [CChar](repeating: 0, count: size)
        let listed = try SystemCalls.checked("flistxattr", name) { list(rawValue, &names, size) }
        return names[..<listed].split(separator: 0).map {
            $0.withUnsafeBufferPointer { String(decoding: UnsafeRawBufferPointer($0), as: UTF8.self) }
        }
    }

    /// The value of the extended attribute `attribute` of the file `name` (fgetxattr(2)).
    package func extendedAttribute(_ attribute: String, _ name: String) throws(VHDError) -> [UInt8] {
        guard let get = ExtendedAttributes.get else { return [] }
        let call = "fgetxattr(\(attribute))"
        let size = try SystemCalls.checked(call, name) { get(rawValue, attribute, nil, 0) }
        var value = [UInt8](repeating: 0, count: size)
        let read = try SystemCalls.checked(call, name) { get(rawValue, attribute, &value, size) }
        return Array(value[..<read])
    }

    /// Sets the extended attribute `attribute` of the file `name` (fsetxattr(2)).
    package func setExtendedAttribute(_ attribute: String, to value: [UInt8], _ name: String) throws(VHDError) {
        guard let set = ExtendedAttributes.set else { return }
        try SystemCalls.checked("fsetxattr(\(attribute))", name) { set(rawValue, attribute, value, value.count, 0) }
    }
}
