import SystemPackage
import VHD

/// Opens a source disk for reading. (Gzip-compressed sources are decompressed first.)
enum SourceDisk {
    static func withOpened<R>(at path: FilePath, options: DiskOptions, _ body: (Disk) throws -> R) throws -> R {
        try Disk.withOpened(at: path, options: options, body)
    }
}
