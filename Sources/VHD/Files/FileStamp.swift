import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A file's size and modification time: when both are unchanged, its content is taken as
/// unchanged (as make and rsync do); when either differs, the content must be looked at.
public struct FileStamp: Codable, Sendable, Equatable {
    /// The file's name, for people (the comparison ignores it: images move).
    public var name: String
    /// The file's size in bytes.
    public var size: Int64
    /// Modification time in nanoseconds since 1970-01-01T00:00:00Z.
    public var modifiedNanoseconds: Int64

    /// Makes a stamp from its parts.
    ///
    /// - Parameters:
    ///   - name: The file's name, for people.
    ///   - size: The file's size in bytes.
    ///   - modifiedNanoseconds: Modification time in nanoseconds since 1970-01-01T00:00:00Z.
    public init(name: String, size: Int64, modifiedNanoseconds: Int64) {
        self.name = name
        self.size = size
        self.modifiedNanoseconds = modifiedNanoseconds
    }

    /// The stamp of the file at `path` (by name, so that a gzip-compressed image is stamped,
    /// not its decompressed temporary copy).
    public init(_ path: FilePath) throws(VHDError) {
        let status = try SystemCalls.status(of: path)
        #if canImport(Darwin)
        let time = status.st_mtimespec
        #else
        let time = status.st_mtim
        #endif
        self.init(
            name: path.lastComponent?.string ?? path.string, size: Int64(status.st_size),
            modifiedNanoseconds: Int64(time.tv_sec) &* 1_000_000_000 &+ Int64(time.tv_nsec))
    }

    /// Same size and modification time.
    public func matches(_ other: FileStamp) -> Bool {
        size == other.size && modifiedNanoseconds == other.modifiedNanoseconds
    }

    /// How long after its last modification a stamp can be trusted. Filesystems keep
    /// modification times to a clock tick (Linux: a few milliseconds; FAT: 2 seconds), so a
    /// file stamped within that time of a write can be written again without its time changing
    /// (git's "racily clean" problem).
    public static let settleNanoseconds: Int64 = 2_000_000_000

    /// Whether this stamp, taken at `stampedAtNanoseconds`, can stand for the content: the
    /// file had not been modified for ``settleNanoseconds`` when it was taken.
    public func isSettled(stampedAtNanoseconds: Int64) -> Bool {
        modifiedNanoseconds <= stampedAtNanoseconds - Self.settleNanoseconds
    }

    /// The current time in nanoseconds since 1970-01-01T00:00:00Z.
    public static func nowNanoseconds() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Int64(time.tv_sec) &* 1_000_000_000 &+ Int64(time.tv_nsec)
    }
}
