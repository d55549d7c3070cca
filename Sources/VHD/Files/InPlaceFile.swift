import SystemPackage
import VHDFormat

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// How an in-place operation (resize, reparent, merge) opens and writes the disk it changes.
public struct InPlaceOptions: Sendable {
    /// How the disk and its chain are opened (checksum policy, an explicit parent path, ...).
    /// ``DiskOptions/writable`` is set by the operation for the file it changes.
    public var disk: DiskOptions
    /// fsync the file after every step, so that the crash order also holds across a power
    /// loss. Without it a process killed at any point leaves a readable disk (like the write
    /// API), but the kernel may write the steps back in another order.
    public var sync: Bool
    /// Tests: the operation stops (throws ``VHDError/Kind/cancelled``) before its write
    /// number `failBeforeWrite` (from 0), as if the process had been killed there.
    package var failBeforeWrite: Int?

    /// Makes options for an in-place operation.
    ///
    /// - Parameters:
    ///   - disk: How the disk and its chain are opened.
    ///   - sync: Whether to fsync the file after every step.
    public init(disk: DiskOptions = DiskOptions(), sync: Bool = false) {
        self.disk = disk
        self.sync = sync
    }
}

/// A disk file changed in place by a sequence of ordered steps: positional writes, hole
/// punching and truncation, each counted (for crash tests) and, with `sync`, each followed by
/// fsync.
final class InPlaceFile {
    let file: HostFile
    let sync: Bool
    private var remaining: Int?
    /// Number of writes done so far.
    private(set) var writes = 0

    init(_ file: HostFile, options: InPlaceOptions) {
        self.file = file
        sync = options.sync
        remaining = options.failBeforeWrite
    }

    var name: String { file.name }

    private func step() throws(VHDError) {
        if let remaining {
            guard remaining > 0 else { throw VHDError(path: file.name, .cancelled) }
            self.remaining = remaining - 1
        }
        writes += 1
    }

    private func barrier() throws(VHDError) {
        guard sync else { return }
        try file.descriptor.synchronize(file.name)
    }

    /// Writes all of `bytes` at `offset` as one step.
    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(VHDError) {
        try step()
        _ = try SystemCalls.system("pwrite", file.name, offset: offset) { try file.descriptor.writeAll(toAbsoluteOffset: offset, bytes) }
        try barrier()
    }

    func write(_ bytes: [UInt8], at offset: Int64) throws(VHDError) {
        var copy = bytes
        try copy.withMutableBytes { (buffer) throws(VHDError) in try write(UnsafeRawBufferPointer(buffer), at: offset) }
    }

    /// Makes `range` of the file read as zeros: its stored parts (found with SEEK_DATA) are
    /// overwritten with zeros; holes stay holes. One step.
    func zero(_ range: Range<Int64>) throws(VHDError) {
        guard !range.isEmpty else { return }
        try step()
        for stored in try file.storedRanges(in: range) {
            let zeros = [UInt8](repeating: 0, count: 1 << 16)
            var position = stored.lowerBound
            while position < stored.upperBound {
                let count = Int(min(Int64(zeros.count), stored.upperBound - position))
                _ = try SystemCalls.system("pwrite", file.name, offset: position) {
                    try zeros.withUnsafeBytes { buffer in
                        try file.descriptor.writeAll(toAbsoluteOffset: position, UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
                    }
                }
                position += Int64(count)
            }
        }
        try barrier()
    }

    /// Sets the file's size. One step.
    func truncate(to size: Int64) throws(VHDError) {
        try step()
        try file.descriptor.truncate(to: size, file.name)
        try barrier()
    }

    /// Reads `count` bytes at `offset`.
    func read(count: Int, at offset: Int64) throws(VHDError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        try bytes.withMutableBytes { (buffer) throws(VHDError) in try file.read(into: buffer, at: offset) }
        return bytes
    }

    /// The size of the file now.
    func currentSize() throws(VHDError) -> Int64 {
        Int64(try file.descriptor.status(file.name).st_size)
    }
}

extension Disk {
    /// Opens `path` and its chain for the duration of `body`, with typed errors.
    static func withChain<R>(
        at path: FilePath, options: DiskOptions, _ body: (Disk) throws(VHDError) -> R
    ) throws(VHDError) -> R {
        var files: [HostFile] = []
        defer { files.forEach { $0.close() } }
        let disk = try ChainOpener(options: options).open(path) { files.append($0) }
        return try body(disk)
    }

    /// Fills `buffer` with the bytes at `offset` as layer `index` and its ancestors read them
    /// (layer 1: what the disk's parent holds there). Past the end of the chain: zeros.
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64, fromLayer index: Int) throws(VHDError) {
        let end = offset + UInt64(buffer.count)
        try walk(offset..<end, layer: index) { (extent) throws(VHDError) in
            let slice = UnsafeMutableRawBufferPointer(rebasing: buffer[Int(extent.start - offset)..<Int(extent.end - offset)])
            switch extent.source {
            case .zero: slice.initializeMemory(as: UInt8.self, repeating: 0)
            case let .data(layer, hostOffset): try layers[layer].file.read(into: slice, at: hostOffset)
            }
        }
    }

    /// Whether layer `index` and its ancestors hold a non-zero byte in `range`.
    func holdsNonZero(in range: Range<UInt64>, fromLayer index: Int) throws(VHDError) -> UInt64? {
        var found: UInt64?
        var dataExtents: [Extent] = []
        try walk(range, layer: index) { extent in if extent.isData { dataExtents.append(extent) } }
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 4096)
        defer { scratch.deallocate() }
        for extent in dataExtents where found == nil {
            var position = extent.start
            while position < extent.end {
                let count = Int(min(UInt64(scratch.count), extent.end - position))
                let chunk = UnsafeMutableRawBufferPointer(rebasing: scratch[0..<count])
                try read(into: chunk, at: position, fromLayer: index)
                if !ZeroDetection.isZero(UnsafeRawBufferPointer(chunk)) {
                    found = position
                    break
                }
                position += UInt64(count)
            }
        }
        return found
    }
}
