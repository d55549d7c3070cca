import SystemPackage
import VHD

/// Writes virtual bytes into an existing disk with the library's writer, for CLI tests that
/// need an image changed in place.
package enum ContentWriter {
    package static func write(_ bytes: [UInt8], at offset: UInt64, into path: String) throws {
        try Disk.withOpened(at: FilePath(path), options: DiskOptions(writable: true)) { disk in
            try disk.write(bytes, at: offset)
            try disk.flush()
        }
    }
}
