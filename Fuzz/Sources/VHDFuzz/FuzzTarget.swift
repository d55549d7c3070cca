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
    static let skeletonOffsets: [Int] = [0, 64 << 10, 128 << 10, 192 << 10, 256 << 10, 1 << 20, 2 << 20, (2 << 20) + (64 << 10), 3 << 20, (3 << 20) + (64 << 10)]

    /// Opens the input's VHDX skeleton in memory (with its log replayed), reports it as
    /// `inspect` does and plans its repair.
    static func openVHDXSkeleton(_ bytes: [UInt8]) {
        var file = [UInt8](repeating: 0, count: 5 << 20)
        for (index, offset) in skeletonOffsets.enumerated() {
            let piece = bytes.dropFirst(index * 4096).prefix(4096)
            file.replaceSubrange(offset..<(offset + piece.count), with: piece)
        }
        let source = MemoryByteSource(name: "skeleton", contents: file)
        if let layout = try? VHDXLayout(reading: source) {
            _ = VHDXInspectionReport(layout: layout, path: "skeleton", includeTable: true)
        }
        _ = try? DiskRepair.plan(source)
    }

    /// What `vhdtool inspect --json --bat` and `repair --dry-run` do, from memory.
    static func inspect(_ bytes: [UInt8]) {
        let source = MemoryByteSource(name: "input", contents: bytes)
        for policy in [ChecksumPolicy.verify, .ignore] {
            guard let layout = try? VHDLayout(reading: source, options: OpenOptions(checksumPolicy: policy)) else { continue }
            _ = InspectionReport(layout: layout, path: "input", includeTable: true)
        }
        _ = try? DiskRepair.plan(source)
    }

    /// Opens the input as a file (a differencing disk gets the fixed parent), walks the whole
    /// extent map, reads the first and last 64 KiB and the start of up to 64 data extents, and
    /// probes the partitions and filesystems.
    static func readThroughTheExtentMap(_ bytes: [UInt8]) {
        guard let path = inputFile.write(bytes) else { return }
        let options = DiskOptions(open: OpenOptions(checksumPolicy: .ignore), parentPath: parentFile, ignoreParentUUID: true)
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
}
