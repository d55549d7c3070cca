import SystemPackage
import VHDFormat
import VHDXFormat

/// Why an image could not be opened, read or trusted: what was found, where, in which file.
public struct VHDError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file the problem is in, as the caller named it.
    public var path: String
    /// What went wrong, with the values found.
    public var kind: Kind

    /// An error about the file at `path`.
    public init(path: String, _ kind: Kind) {
        self.path = path
        self.kind = kind
    }

    /// What went wrong. Each case carries what was found and where; ``VHDError/description``
    /// words it in one sentence, in the library's own terms (no command-line flags).
    public enum Kind: Sendable, Equatable {
        /// A system call failed.
        case io(call: String, offset: Int64?, errno: Errno)
        /// The file ended before `offset + needed` bytes.
        case unexpectedEndOfFile(offset: Int64, needed: Int)
        /// A structure's bytes are malformed; `offset` is where the structure starts in the file.
        case format(VHDFormatError, offset: Int64)
        /// A checksum is wrong and the caller did not accept bad checksums.
        case checksumRefused(Structure, offset: Int64, stored: UInt32, computed: UInt32)
        /// Neither the end of the file nor its start holds a VHD footer.
        case notAVHD(reason: String)
        /// The file is a disk image of a format this project does not read.
        case unsupportedFormat(String)
        /// The dynamic header does not fit in the file.
        case headerOutsideFile(offset: UInt64, fileSize: Int64)
        /// The block size is not a power of two from 512 bytes to 256 MiB.
        case invalidBlockSize(UInt32)
        /// The BAT has fewer entries than the virtual size needs.
        case tableTooSmall(entries: UInt32, needed: UInt64)
        /// The BAT does not fit in the file.
        case tableOutsideFile(offset: UInt64, sizeInBytes: UInt64, fileSize: Int64)
        /// A block's bitmap and data do not fit in the file before its footer.
        case blockOutsideFile(blockIndex: Int, offset: UInt64, end: UInt64, limit: Int64)
        /// Two BAT entries claim overlapping bytes of the file.
        case blocksOverlap(blockIndex: Int, otherBlockIndex: Int, offset: UInt64)
        /// A block claims bytes that hold a footer, the header, the BAT or a locator.
        case blockOverlapsMetadata(blockIndex: Int, offset: UInt64, metadata: String)
        /// A fixed disk's file is shorter than its virtual size plus the footer.
        case fixedDiskTruncated(virtualSize: UInt64, dataBytesInFile: Int64)
        /// A parent locator's path lies outside the file or is absurdly long.
        case locatorOutsideFile(index: Int, offset: UInt64, length: UInt32, fileSize: Int64)
        /// A parent locator claims a path longer than 64 KiB.
        case locatorTooLong(index: Int, length: UInt32)
        /// No candidate path for a differencing disk's parent exists.
        case parentNotFound(name: String, tried: [String])
        /// The parent's footer UUID is not the one the child recorded.
        case parentMismatch(parent: String, recorded: String, found: String)
        /// A chain leads back to a file already in it.
        case chainCycle(at: String)
        /// A chain longer than the limit.
        case chainTooDeep(limit: Int)
        /// A virtual range outside the disk.
        case outOfRange(offset: UInt64, length: Int, virtualSize: UInt64)
        /// The output exists and overwriting was not asked for.
        case destinationExists
        /// Source and destination are the same file.
        case sameFile(source: String)
        /// The user interrupted the operation.
        case cancelled
        /// A virtual size we do not create: zero, not whole sectors, or over 2040 GiB.
        case invalidSize(UInt64)
        /// A block size we do not create (not a power of two from 512 KiB to 256 MiB).
        case invalidNewBlockSize(UInt64)
        /// The disk cannot be written: why.
        case notWritable(reason: String)
        /// A smaller virtual size would cut off non-zero data.
        case shrinkWouldLoseData(newSize: UInt64, dataAt: UInt64)
        /// A compressed stream is corrupt.
        case compressedDataCorrupt(reason: String)
        /// `repair` cannot tell what is right: why.
        case cannotRepair(reason: String)
        /// A tag sidecar file exists but holds no record this version reads.
        case tagUnreadable(reason: String)
        /// The image has no tag sidecar.
        case untagged(sidecar: String)
        /// An operation (resize, compact, merge, reparent) does not apply to this disk: why.
        case refused(operation: String, reason: String)
        /// An operation was refused for a reason its `force` parameter overrides (a merge that
        /// other children depend on, a reparent onto a parent with another UUID): why.
        case refusedUnlessForced(operation: String, reason: String)
        /// Another open file (another process, or another open in this one) holds a lock on
        /// the image that conflicts with ours (see ``ImageLock``).
        case locked(by: ImageLock.Holder)
        /// A file was expected but the name is something else (a FIFO, a device, a folder...).
        case notARegularFile(FileKind)
        /// The destination exists and is not something vhdtool replaces, even when asked to.
        case destinationNotReplaceable(FileKind)
        /// A size that no file can have (beyond 2^63 - 1 bytes with what goes after it).
        case sizeBeyondFileLimit(UInt64)
        /// A VHDX structure's bytes are malformed; `offset` is where it starts in the file.
        case vhdxFormat(VHDXFormatError, offset: Int64)
        /// A VHDX's structures do not fit together or in the file: why.
        case vhdxLayout(reason: String)
    }

    /// One sentence: the file, what was found and where.
    public var description: String {
        let name = path
        switch kind {
        case let .io(call, offset, errno):
            let place = offset.map { " at offset \($0)" } ?? ""
            return "'\(call)' failed\(place) in \(name): \(errno.description)"
        case let .unexpectedEndOfFile(offset, needed):
            return "\(name) ended before \(needed) bytes could be read at offset \(offset)"
        case let .format(error, offset):
            return "\(name): \(error) (structure at offset \(offset))"
        case let .checksumRefused(structure, offset, stored, computed):
            return "\(name): \(structure) checksum at offset \(offset + (structure == .footer ? 64 : 36)) "
                + "is \(hexText(stored)) but the bytes sum to \(hexText(computed))"
        case let .notAVHD(reason):
            return "\(name) is not a VHD: \(reason)"
        case let .unsupportedFormat(format):
            return "\(name) is a \(format) image, which this library does not read (it reads VHD, VHDX and raw images)"
        case let .headerOutsideFile(offset, fileSize):
            return "\(name): the footer puts the dynamic disk header at offset \(offset), "
                + "but 1024 bytes there do not fit in the file of \(fileSize) bytes"
        case let .invalidBlockSize(size):
            return "\(name): block size \(size) is not a power of two from 512 bytes to 256 MiB"
        case let .tableTooSmall(entries, needed):
            return "\(name): the block allocation table has \(entries) entries but the virtual size needs \(needed)"
        case let .tableOutsideFile(offset, size, fileSize):
            return "\(name): the block allocation table (\(size) bytes at offset \(offset)) "
                + "does not fit in the file of \(fileSize) bytes"
        case let .blockOutsideFile(index, offset, end, limit):
            return "\(name): block \(index) occupies bytes \(offset)..<\(end) of the file, "
                + "past the end of its data area at \(limit)"
        case let .blocksOverlap(index, other, offset):
            return "\(name): blocks \(other) and \(index) overlap in the file (block \(index) starts at offset \(offset))"
        case let .blockOverlapsMetadata(index, offset, metadata):
            return "\(name): block \(index) at offset \(offset) overlaps the \(metadata)"
        case let .fixedDiskTruncated(virtualSize, available):
            return "\(name): a fixed disk of \(virtualSize) bytes needs that many bytes before its footer, "
                + "but the file holds only \(available)"
        case let .locatorOutsideFile(index, offset, length, fileSize):
            return "\(name): parent locator \(index) points at \(length) bytes at offset \(offset), "
                + "outside the file of \(fileSize) bytes"
        case let .locatorTooLong(index, length):
            return "\(name): parent locator \(index) claims a path of \(length) bytes (at most 65536 are allowed)"
        case let .parentNotFound(parentName, tried):
            return "\(name): its parent \"\(parentName)\" was not found; tried "
                + tried.map { "'\($0)'" }.joined(separator: ", ")
        case let .parentMismatch(parent, recorded, found):
            return "\(name) records parent UUID \(recorded) but \(parent) has UUID \(found)"
        case let .chainCycle(path):
            return "\(name): the chain of parents loops back to \(path)"
        case let .chainTooDeep(limit):
            return "\(name): the chain of parents is longer than \(limit) disks"
        case let .invalidSize(size):
            return "\(name.isEmpty ? "" : name + ": ")a virtual size of \(size) bytes is not possible: "
                + "it must be a whole number of 512-byte sectors, more than 0 and at most 2040 GiB"
        case let .invalidNewBlockSize(size):
            return "\(name.isEmpty ? "" : name + ": ")a block size of \(size) bytes is not possible: "
                + "it must be a power of two from 512 KiB to 256 MiB (Hyper-V uses 2 MiB)"
        case let .notWritable(reason):
            return "\(name) cannot be written: \(reason)"
        case let .shrinkWouldLoseData(newSize, dataAt):
            return "\(name): a virtual size of \(newSize) bytes would cut off data (non-zero bytes at offset \(dataAt))"
        case .destinationExists:
            return "\(name) exists"
        case let .sameFile(source):
            return "\(name) is the same file as the source \(source)"
        case .cancelled:
            return "interrupted; \(name) was left as it was"
        case let .refused(operation, reason):
            return "\(name): cannot \(operation): \(reason)"
        case let .refusedUnlessForced(operation, reason):
            return "\(name): cannot \(operation) unless forced: \(reason)"
        case let .locked(holder):
            let who = holder == .writer
                ? "another program (QEMU, qemu-img, qemu-io or vhdtool) has it open for writing"
                : "another program (QEMU, qemu-img, qemu-io or vhdtool) is reading it"
            return "\(name) is locked: \(who), and nothing was changed"
        case let .notARegularFile(kind):
            let rule = kind == .blockDevice ? " (a block device is read only when named as the disk itself)" : ""
            return "\(name) is \(kind), not a regular file\(rule)"
        case let .destinationNotReplaceable(kind):
            return "\(name) is \(kind); only a regular file (or a symbolic link's name) is replaced"
        case let .sizeBeyondFileLimit(size):
            return "\(name.isEmpty ? "" : name + ": ")a size of \(size) bytes does not fit in a file (at most \(Int64.max) bytes)"
        case let .compressedDataCorrupt(reason):
            return "\(name): the compressed data is corrupt (\(reason))"
        case let .cannotRepair(reason):
            return "\(name) was not repaired: \(reason)"
        case let .untagged(sidecar):
            return "\(name) has no tag (\(sidecar) does not exist)"
        case let .tagUnreadable(reason):
            return "\(name) is not a usable tag record: \(reason)"
        case let .vhdxFormat(error, offset):
            return "\(name): \(error) (structure at offset \(offset))"
        case let .vhdxLayout(reason):
            return "\(name) is not a usable VHDX: \(reason)"
        case let .outOfRange(offset, length, virtualSize):
            return "\(name): \(length) bytes at virtual offset \(offset) are outside the disk of \(virtualSize) bytes"
        }
    }
}

/// `0x1A2B3C4D`.
func hexText(_ value: UInt32) -> String {
    let digits = String(value, radix: 16, uppercase: true)
    return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
}
