import SystemPackage
import VHD
import VHDFormat

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
