import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// What a name in the filesystem is, from the file type bits of stat(2).
///
/// Checked before a file is used as a disk or replaced as a destination, so that a FIFO never
/// blocks a command, and a device, a folder or a symbolic link's target is never taken for a
/// file.
public enum FileKind: Sendable, Equatable, CustomStringConvertible {
    /// A regular file (S_IFREG).
    case regularFile
    /// A folder (S_IFDIR).
    case directory
    /// A block device (S_IFBLK), such as a disk or a partition.
    case blockDevice
    /// A character device (S_IFCHR).
    case characterDevice
    /// A named pipe (S_IFIFO).
    case fifo
    /// A Unix domain socket (S_IFSOCK).
    case socket
    /// A symbolic link (S_IFLNK), not followed.
    case symbolicLink

    /// The kind of a file whose `st_mode` is `mode`.
    init(mode: mode_t) {
        switch mode & S_IFMT {
        case S_IFDIR: self = .directory
        case S_IFBLK: self = .blockDevice
        case S_IFCHR: self = .characterDevice
        case S_IFIFO: self = .fifo
        case S_IFSOCK: self = .socket
        case S_IFLNK: self = .symbolicLink
        default: self = .regularFile
        }
    }

    /// The kind of what `path` names itself (a symbolic link is not followed), or nil when
    /// nothing is there.
    ///
    /// - Throws: ``VHDError`` when lstat(2) fails otherwise than with ENOENT.
    public static func of(_ path: FilePath) throws(VHDError) -> FileKind? {
        do throws(VHDError) {
            return FileKind(mode: try SystemCalls.status(of: path, followingLinks: false).st_mode)
        } catch where error.errno == .noSuchFileOrDirectory {
            return nil
        }
    }

    /// "a FIFO (named pipe)", ...
    public var description: String {
        switch self {
        case .regularFile: "a regular file"
        case .directory: "a folder"
        case .blockDevice: "a block device"
        case .characterDevice: "a character device"
        case .fifo: "a FIFO (named pipe)"
        case .socket: "a socket"
        case .symbolicLink: "a symbolic link"
        }
    }
}
