import SystemPackage
import VHD
import VHDFormat
import VHDXFormat

#if canImport(Glibc)
import Glibc
#endif

/// libFuzzer's entry point: one input, every reader. Nothing here may trap, hang or touch
/// memory out of bounds; typed errors are the expected outcome for most inputs.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = [UInt8](UnsafeBufferPointer(start: data, count: size))
    FuzzTarget.parseStructures(bytes)
    FuzzTarget.inspect(bytes)
    FuzzTarget.readThroughTheExtentMap(bytes)
    FuzzTarget.openVHDXSkeleton(bytes)
    return 0
}

/// The program's entry: SwiftPM links an executable's `main` to `<module>_main`, so the
/// target defines that and hands over to libFuzzer's driver (libFuzzer's own `main` is then not
/// linked in).
@_cdecl("VHDFuzz_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    var count = argc
    var arguments: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = argv
    return LLVMFuzzerRunDriver(&count, &arguments, fuzzOneInput)
}

@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ body: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
) -> CInt

enum FuzzTarget {
    /// The parsers of VHDFormat on the first bytes and on the last 512 (where a footer is).
    static func parseStructures(_ bytes: [UInt8]) {
        for policy in [ChecksumPolicy.verify, .ignore] {
            _ = try? Footer(parsing: Array(bytes.prefix(512)), checksumPolicy: policy)
            _ = try? Footer(parsing: Array(bytes.suffix(512)), checksumPolicy: policy)
            _ = try? DynamicHeader(parsing: Array(bytes.prefix(1024)), checksumPolicy: policy)
        }
        if let locator = try? ParentLocator(parsing: Array(bytes.prefix(24))) {
            _ = locator.decodePath(Array(bytes.dropFirst(24)))
        }
        _ = try? BlockAllocationTable(parsing: bytes, entryCount: bytes.count / 4)
        // VHDX structures, each from the start of the input.
        _ = try? VHDXFileIdentifier(parsing: bytes)
        for policy in [VHDXChecksumPolicy.verify, .ignore] {
            _ = try? VHDXHeader(parsing: bytes, checksumPolicy: policy)
            _ = try? VHDXRegionTable(parsing: bytes, checksumPolicy: policy)
        }
        _ = try? VHDXMetadataTable(parsing: bytes)
        _ = try? VHDXFileParameters(parsing: bytes)
        _ = try? VHDXParentLocator(parsing: bytes)
        _ = try? VHDXLogEntry(parsing: bytes)
        _ = try? VHDXBATEntry.entries(parsing: bytes, count: bytes.count / 8)
    }

    /// Where the pieces of a VHDX skeleton input go: the identifier, both headers, both region
    /// tables, the log, the metadata table and items, and the BAT at qemu's offsets. An input is
    /// cut into 4 KiB pieces placed there in a 5 MiB file of zeros (scripts/fuzz-seeds.py makes
    /// seeds of this form from TestImages/vhdx), so that small inputs reach every VHDX reader.
    static let skeletonOffsets: [Int64] = [0, 64 << 10, 128 << 10, 192 << 10, 256 << 10, 1 << 20, 2 << 20, (2 << 20) + (64 << 10), 3 << 20, (3 << 20) + (64 << 10)]

    /// Opens the input's VHDX skeleton in memory (with its log replayed), reports it as
    /// `inspect` does and plans its repair.
    static func openVHDXSkeleton(_ bytes: [UInt8]) {
        var pieces: [(offset: Int64, bytes: [UInt8])] = []
        for (index, offset) in skeletonOffsets.enumerated() where index * 4096 < bytes.count {
            pieces.append((offset, Array(bytes[(index * 4096)..<min(bytes.count, (index + 1) * 4096)])))
        }
        let source = SkeletonByteSource(pieces: pieces)
        if let layout = try? VHDXLayout(reading: source) {
            _ = VHDXInspectionReport(layout: layout, path: "skeleton", includeTable: true)
        }
        _ = try? DiskRepair.plan(source)
        // The same pieces in a sparse 32 MiB file (room for the blocks the seeds' BATs place
        // up to 24 MiB), read as a disk: the VHDX extent map, block reads and parents.
        if let path = skeletonFile.write(pieces, size: skeletonFileSize) { readDisk(at: path) }
    }

    /// The size of the sparse file a skeleton is read from as a disk.
    static let skeletonFileSize: Int64 = 32 << 20

    /// The file a skeleton is written into, sparse, for every input.
    nonisolated(unsafe) static let skeletonFile = ScratchFile(name: "vhdfuzz-skeleton-\(getpid()).vhdx")

    /// What `vhdtool inspect --json --bat` and `repair --dry-run` do, from memory.
    static func inspect(_ bytes: [UInt8]) {
        let source = MemoryByteSource(name: "input", contents: bytes)
        for policy in [ChecksumPolicy.verify, .ignore] {
            guard let layout = try? VHDLayout(reading: source, options: OpenOptions(checksumPolicy: policy)) else { continue }
            _ = InspectionReport(layout: layout, path: "input", includeTable: true)
        }
        _ = try? DiskRepair.plan(source)
    }

    /// Writes the input into a file and reads it as a disk (``readDisk(at:)``).
    static func readThroughTheExtentMap(_ bytes: [UInt8]) {
        guard let path = inputFile.write(bytes) else { return }
        readDisk(at: path)
    }

    /// Opens the disk at `path` (a differencing disk gets the fixed parent), walks its extent
    /// map, reads the first and last 64 KiB and the start of up to 64 data extents, and probes
    /// the partitions and filesystems.
    static func readDisk(at path: FilePath) {
        // Gzip input is decompressed before it is read: at most 1 MiB of it, or a few KiB of
        // compressed zeros would cost every input a second of inflating.
        let options = DiskOptions(
            open: OpenOptions(checksumPolicy: .ignore), parentPath: parentFile, ignoreParentUUID: true,
            maximumDecompressedSize: 1 << 20)
        _ = try? Disk.withOpened(at: path, options: options) { disk in
            let extents = try disk.extents()
            let size = disk.virtualSize
            var reads: [Range<UInt64>] = [0..<min(size, 65536), (size - min(size, 65536))..<size]
            for extent in extents.prefix(64) where extent.isData {
                reads.append(extent.start..<min(extent.end, extent.start + 4096))
            }
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 16)
            defer { buffer.deallocate() }
            for range in reads where !range.isEmpty {
                try disk.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<Int(range.count)]), at: range.lowerBound)
            }
            // The partition tables and filesystem signatures inside, all untrusted.
            _ = try? DiskLayoutProbe.probe(disk)
        }
    }

    /// One file rewritten for every input, in memory (/dev/shm) when there is one.
    nonisolated(unsafe) static let inputFile = ScratchFile(name: "vhdfuzz-input-\(getpid())")

    /// A 64 KiB fixed VHD, parent of every differencing input.
    static let parentFile: FilePath = {
        let scratch = ScratchFile(name: "vhdfuzz-parent-\(getpid()).vhd")
        var bytes = (0..<65536).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        bytes += NewDiskMetadata.footer(type: .fixed, size: 65536).serialized()
        return scratch.write(bytes) ?? FilePath("/nonexistent")
    }()
}

/// A file in /dev/shm (or /tmp), truncated and rewritten for each input.
final class ScratchFile {
    let path: FilePath
    init(name: String) {
        let folder = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp"
        path = FilePath("\(folder)/\(name)")
    }

    func write(_ bytes: [UInt8]) -> FilePath? {
        guard let descriptor = try? FileDescriptor.open(path, .writeOnly, options: [.create, .truncate], permissions: .ownerReadWrite)
        else { return nil }
        defer { try? descriptor.close() }
        guard (try? descriptor.writeAll(bytes)) != nil else { return nil }
        return path
    }

    /// Writes `pieces` at their offsets into a file of `size` bytes that is otherwise a hole.
    func write(_ pieces: [(offset: Int64, bytes: [UInt8])], size: Int64) -> FilePath? {
        guard let descriptor = try? FileDescriptor.open(path, .writeOnly, options: [.create, .truncate], permissions: .ownerReadWrite)
        else { return nil }
        defer { try? descriptor.close() }
        for piece in pieces {
            guard (try? descriptor.writeAll(toAbsoluteOffset: piece.offset, piece.bytes)) != nil else { return nil }
        }
        guard (try? descriptor.resize(to: size)) != nil else { return nil }
        return path
    }
}

/// A 5 MiB file of zeros holding a few pieces (a VHDX skeleton), read without building the
/// 5 MiB: allocating and copying that for every input cost more than all the parsing.
struct SkeletonByteSource: ByteSource {
    let pieces: [(offset: Int64, bytes: [UInt8])]
    var name: String { "skeleton" }
    var sizeInBytes: Int64 { 5 << 20 }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(VHDError) {
        guard offset >= 0, offset <= sizeInBytes, Int64(buffer.count) <= sizeInBytes - offset else {
            throw VHDError(path: name, .unexpectedEndOfFile(offset: offset, needed: buffer.count))
        }
        buffer.initializeMemory(as: UInt8.self, repeating: 0)
        let wanted = offset..<(offset + Int64(buffer.count))
        for piece in pieces {
            let stored = piece.offset..<(piece.offset + Int64(piece.bytes.count))
            let common = stored.clamped(to: wanted)
            guard !common.isEmpty else { continue }
            piece.bytes.withUnsafeBytes { source in
                let from = Int(common.lowerBound - piece.offset)
                let to = Int(common.lowerBound - offset)
                UnsafeMutableRawBufferPointer(rebasing: buffer[to..<(to + common.count)])
                    .copyMemory(from: UnsafeRawBufferPointer(rebasing: source[from..<(from + common.count)]))
            }
        }
    }
}
