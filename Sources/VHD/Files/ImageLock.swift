import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The locks QEMU takes on an image file, taken the same way so that vhdtool and
/// QEMU/qemu-img/qemu-io exclude each other in both directions.
///
/// QEMU's file-posix driver (`raw_apply_lock_bytes`, `raw_check_lock_bytes` in
/// block/file-posix.c) holds an open file description (OFD) read lock on byte
/// `100 + bit` for each permission it holds and on byte `200 + bit` for each permission it does
/// not share with others; the bits are `BLK_PERM_CONSISTENT_READ` (0), `BLK_PERM_WRITE` (1),
/// `BLK_PERM_WRITE_UNCHANGED` (2) and `BLK_PERM_RESIZE` (3). It then asks (F_OFD_GETLK with a
/// write lock) whether another description locks a byte that conflicts: `200 + bit` for a
/// permission it wants, `100 + bit` for one it does not share. Locks are taken first and
/// checked after, so of two openers racing, at least one sees the other.
///
/// A format driver (vpc) never shares WRITE and RESIZE of the file under it. As measured in
/// /proc/locks with QEMU 7.2: `qemu-io -r` and `qemu-img info` lock bytes 100, 201 and 203;
/// `qemu-io` read-write locks 100, 101, 103, 201 and 203; `-U` (force share) locks only 100.
/// vhdtool locks as they do: a reader (``Mode/shared``) as `qemu-io -r`, a writer
/// (``Mode/exclusive``) as `qemu-io`. So readers coexist, and a writer excludes everyone
/// else, QEMU included.
///
/// OFD locks belong to an open file description: they go when its last descriptor is closed
/// (or the process ends, whatever the signal), and two opens of one file in one process
/// conflict like two processes do.
public enum ImageLock {
    /// How a disk file is locked.
    public enum Mode: Sendable, Equatable {
        /// A reader: reads consistently, shares reading, does not share writing or resizing.
        case shared
        /// A writer: reads, writes and resizes, and shares none of that but reading.
        case exclusive
    }

    /// Who holds the lock that refused us, as the lock bytes tell.
    public enum Holder: Sendable, Equatable {
        /// Another open file holds write permission (a writer: vhdtool, QEMU, qemu-io, qemu-img).
        case writer
        /// Another open file reads the image and shares no writing (a reader).
        case reader
    }

    static let permissionBase: Int64 = 100  // RAW_LOCK_PERM_BASE
    static let sharedBase: Int64 = 200  // RAW_LOCK_SHARED_BASE
    static let consistentRead: Int64 = 0  // BLK_PERM_CONSISTENT_READ = 1 << 0
    static let write: Int64 = 1  // BLK_PERM_WRITE = 1 << 1
    static let resize: Int64 = 3  // BLK_PERM_RESIZE = 1 << 3

    #if os(Linux)
    static let getLock: Int32 = 36  // F_OFD_GETLK
    static let setLock: Int32 = 37  // F_OFD_SETLK
    #else
    static let getLock: Int32 = F_GETLK
    static let setLock: Int32 = F_SETLK
    #endif

    /// The permission bits held by `mode`.
    static func held(_ mode: Mode) -> [Int64] {
        mode == .shared ? [consistentRead] : [consistentRead, write, resize]
    }

    /// The permission bits `mode` does not share: writing and resizing, for both modes.
    static let unshared: [Int64] = [write, resize]

    /// Locks the file open as `descriptor` in `mode`, as QEMU does: the lock bytes first, then
    /// a check that no other open file holds a conflicting one. A descriptor already locked
    /// `.shared` may be locked `.exclusive` (an upgrade: its own locks never conflict).
    ///
    /// On a filesystem that has no OFD locks (ENOLCK, EOPNOTSUPP), nothing is locked, as QEMU
    /// then goes on without its locks.
    ///
    /// - Parameters:
    ///   - descriptor: the open image file to lock; the locks belong to its open file
    ///     description and go when its last descriptor is closed.
    ///   - name: the file's name in messages.
    ///   - mode: ``Mode/shared`` for a reader, ``Mode/exclusive`` for a writer.
    /// - Throws: ``VHDError/Kind/locked(by:)`` when another open file (in this process or
    ///   another) holds a conflicting lock; the locks taken are then released again.
    ///   ``VHDError/Kind/io(call:offset:errno:)`` when fcntl fails otherwise.
    public static func lock(_ descriptor: FileDescriptor, name: String, mode: Mode) throws(VHDError) {
        do {
            try apply(descriptor, name: name, byte: permissionBase + consistentRead, type: F_RDLCK)
        } catch {
            // A filesystem without OFD locks (some network filesystems): as QEMU, go on unlocked.
            if case let .io(_, _, failure) = error.kind, failure == .noLocks || failure == .notSupported { return }
            throw error
        }
        for bit in held(mode) { try apply(descriptor, name: name, byte: permissionBase + bit, type: F_RDLCK) }
        for bit in unshared { try apply(descriptor, name: name, byte: sharedBase + bit, type: F_RDLCK) }
        // A conflict is looked at again for a while before it is reported: a child process that
        // another thread of this process is starting holds copies of its descriptors (and with
        // them the locks of files this process has closed since) until it execs, which on a
        // loaded machine can take many milliseconds. A real holder is still there a second later.
        var attempt = 1
        while let conflict = try conflict(descriptor, name: name, mode: mode) {
            guard attempt < conflictAttempts else {
                if mode == .exclusive {
                    // Back to what a reader holds, or nothing: an upgrade refused keeps the reader.
                    for bit in [write, resize] { release(descriptor, byte: permissionBase + bit) }
                }
                throw VHDError(path: name, .locked(by: conflict))
            }
            attempt += 1
            usleep(conflictPauseMicroseconds)
        }
    }

    /// How many times a conflict is looked for before it is reported, and the pause between
    /// two looks: about one second in all.
    static let conflictAttempts = 50
    static let conflictPauseMicroseconds: UInt32 = 20_000

    /// Who holds a lock that conflicts with `mode` on `descriptor`'s file, or nil.
    static func conflict(_ descriptor: FileDescriptor, name: String, mode: Mode) throws(VHDError) -> Holder? {
        // What we do not share must not be held by another: a writer holds 101 and 103.
        for bit in unshared where try isLockedElsewhere(descriptor, name: name, byte: permissionBase + bit) {
            return .writer
        }
        // What we hold must be shared by everyone else: a reader does not share 201 and 203.
        for bit in held(mode) where try isLockedElsewhere(descriptor, name: name, byte: sharedBase + bit) {
            return bit == consistentRead ? .writer : .reader
        }
        return nil
    }

    /// Takes (`F_RDLCK`) or drops (`F_UNLCK`) the OFD lock on one byte.
    static func apply(_ descriptor: FileDescriptor, name: String, byte: Int64, type: Int32) throws(VHDError) {
        var request = flock()
        request.l_type = Int16(type)
        request.l_whence = Int16(SEEK_SET)
        request.l_start = off_t(byte)
        request.l_len = 1
        request.l_pid = 0  // must be 0 for OFD locks
        try descriptor.lockControl(setLock, &request, call: "fcntl(F_OFD_SETLK)", name, offset: byte)
    }

    /// Drops the OFD lock on one byte; failing, it stays until the file is closed.
    static func release(_ descriptor: FileDescriptor, byte: Int64) {
        var request = flock()
        request.l_type = Int16(F_UNLCK)
        request.l_whence = Int16(SEEK_SET)
        request.l_start = off_t(byte)
        request.l_len = 1
        do {
            try descriptor.lockControl(setLock, &request, call: "fcntl(F_OFD_SETLK)", "", offset: byte)
        } catch {
            // The lock stays until the file is closed, which is soon: nothing else to do.
        }
    }

    /// Whether another open file description holds any lock on `byte`.
    static func isLockedElsewhere(_ descriptor: FileDescriptor, name: String, byte: Int64) throws(VHDError) -> Bool {
        var request = flock()
        request.l_type = Int16(F_WRLCK)
        request.l_whence = Int16(SEEK_SET)
        request.l_start = off_t(byte)
        request.l_len = 1
        request.l_pid = 0
        try descriptor.lockControl(getLock, &request, call: "fcntl(F_OFD_GETLK)", name, offset: byte)
        return request.l_type != Int16(F_UNLCK)
    }
}

extension Disk {
    /// Locks the files of `layers` in `mode` through the descriptors this disk holds: how an
    /// operation that opened a chain to read it makes the files it will change exclusive,
    /// without a second open (which would conflict with the first).
    ///
    /// - Throws: ``VHDError/Kind/locked(by:)`` naming the first file another open file holds.
    func lock(layers indices: ClosedRange<Int>, mode: ImageLock.Mode) throws(VHDError) {
        for index in indices {
            try ImageLock.lock(layers[index].file.descriptor, name: layers[index].file.name, mode: mode)
        }
    }
}
