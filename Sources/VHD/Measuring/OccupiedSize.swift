import Dispatch
import SystemPackage
import VHDFormat

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// How much of a disk is occupied: the figures a snapshot of it is billed on, and what the
/// host really stores.
///
/// - ``allocatedBytes``: what the container backs with storage. A fixed or raw disk: the host
///   file's stored ranges inside the virtual disk (SEEK_DATA); a dynamic or differencing disk:
///   the blocks allocated in the disk's own file (not its parents') times the block size.
/// - ``writtenBytes``: the sectors whose bits are set in the disk's own sector bitmaps (inside
///   the virtual size) times 512; nil for fixed and raw disks. Like ``allocatedBytes``, this is
///   the layer's own figure: a differencing disk's parents are not counted. QEMU sets every bit
///   of a block it allocates, so this figure is never trusted alone.
/// - ``nonZeroBytes``: the bytes of the granules (aligned to the start of the disk; the last one
///   may be short) that hold a non-zero byte, read through the whole chain. This is the
///   occupied size that snapshots are billed on (at 512 bytes, the page of Azure page blobs).
public struct OccupiedSize: Sendable, Equatable {
    /// The size of the virtual disk in bytes.
    public var virtualSize: UInt64
    /// The size of the disk's file (the file named, not its parents; for a gzip-compressed
    /// disk, the compressed file).
    public var fileSize: UInt64
    /// What the host filesystem allocates to that file: st_blocks x 512.
    public var hostAllocatedBytes: UInt64
    public var allocatedBytes: UInt64
    public var writtenBytes: UInt64?
    public var nonZeroBytes: UInt64
    /// The granule size ``nonZeroBytes`` was counted in, in bytes.
    public var granularity: Int

    public init(
        virtualSize: UInt64, fileSize: UInt64, hostAllocatedBytes: UInt64, allocatedBytes: UInt64,
        writtenBytes: UInt64?, nonZeroBytes: UInt64, granularity: Int
    ) {
        self.virtualSize = virtualSize
        self.fileSize = fileSize
        self.hostAllocatedBytes = hostAllocatedBytes
        self.allocatedBytes = allocatedBytes
        self.writtenBytes = writtenBytes
        self.nonZeroBytes = nonZeroBytes
        self.granularity = granularity
    }
}

extension OccupiedSize {
    /// The size of the granules in which non-zero bytes are counted: a power of two from 512
    /// bytes to 64 MiB, or the disk's block size.
    public struct Granularity: Sendable, Equatable, CustomStringConvertible {
        /// Bytes per granule; nil for ``block``.
        public let bytes: Int?

        public static let minimum = 512
        public static let maximum = 64 << 20
        /// 512 bytes: the page of an Azure page blob, and the default.
        public static let sector = Granularity(validated: 512)
        /// The disk's own block size (that of the disk named, for a chain); 2 MiB, the default
        /// block size of a dynamic disk, for fixed and raw disks.
        public static let block = Granularity(validated: nil)

        private init(validated bytes: Int?) { self.bytes = bytes }

        /// A granularity of `bytes` bytes.
        ///
        /// - Throws: ``OccupiedSizeError/invalidGranularity(_:)`` unless `bytes` is a power of
        ///   two from 512 to 64 MiB.
        public init(bytes: UInt64) throws(OccupiedSizeError) {
            guard bytes >= UInt64(Self.minimum), bytes <= UInt64(Self.maximum), bytes & (bytes - 1) == 0 else {
                throw .invalidGranularity(bytes)
            }
            self.bytes = Int(bytes)
        }

        /// The granule size for `disk`, in bytes.
        public func bytes(for disk: Disk) -> Int {
            if let bytes { return bytes }
            return disk.layers[0].layout?.dynamic?.blockSize ?? Int(DynamicHeader.defaultBlockSize)
        }

        public var description: String { bytes.map { "\($0)" } ?? "block" }
    }

    /// Measures `disk`: walks its extent map once. Zero extents are never read; data extents
    /// are read in chunks of `options.chunkSize` into two reused buffers, by two threads, and
    /// scanned for non-zero granules word by word. Chunks inside granules already counted are
    /// not read. Progress is reported after each batch of about 64 chunks of data.
    ///
    /// - Parameters:
    ///   - granularity: the granule in which ``nonZeroBytes`` is counted.
    ///   - options: `progress` (virtual bytes done of the virtual size), `isCancelled`,
    ///     `chunkSize` (a multiple of 4096; `zeroGranularity` is not used).
    /// - Throws: ``VHDError`` on a read or stat failure, or ``VHDError/Kind/cancelled``.
    public static func measure(
        _ disk: Disk, granularity: Granularity = .sector, options: CopyOptions = CopyOptions()
    ) throws(VHDError) -> OccupiedSize {
        let layer = disk.layers[0]
        let host = try HostFile.allocation(at: layer.file.path)
        var scan = NonZeroScan(disk: disk, granularity: granularity.bytes(for: disk), options: options)
        defer { scan.deallocate() }
        try disk.walk(0..<disk.virtualSize, layer: 0) { (extent) throws(VHDError) in try scan.add(extent) }
        try scan.finish()

        // The walk's layer-0 data extents are exactly the set bitmap bits of a dynamic or
        // differencing layer, and the stored ranges of a fixed or raw one.
        let allocated: UInt64
        let written: UInt64?
        if let blocks = layer.blocks, let blockSize = layer.layout?.dynamic?.blockSize {
            let blockCount = blocks.entries.lazy.filter { $0 != BlockAllocationTable.unallocated }.count
            allocated = try checkedProduct(UInt64(blockCount), UInt64(blockSize), in: layer.file.name)
            written = scan.layerZeroDataBytes
        } else {
            allocated = scan.layerZeroDataBytes
            written = nil
        }
        return OccupiedSize(
            virtualSize: disk.virtualSize, fileSize: host.sizeInBytes, hostAllocatedBytes: host.allocatedBytes,
            allocatedBytes: allocated, writtenBytes: written, nonZeroBytes: scan.nonZeroBytes, granularity: scan.granularity)
    }

    static func checkedProduct(_ a: UInt64, _ b: UInt64, in name: String) throws(VHDError) -> UInt64 {
        let (product, overflow) = a.multipliedReportingOverflow(by: b)
        guard !overflow else { throw VHDError(path: name, .notAVHD(reason: "its allocated size overflows 64 bits")) }
        return product
    }
}

/// The figures of several disks added up (an image: an OS disk and its data disks).
public struct OccupiedTotal: Sendable, Equatable {
    public var diskCount: Int
    public var virtualSize: UInt64
    public var fileSize: UInt64
    public var hostAllocatedBytes: UInt64
    public var allocatedBytes: UInt64
    /// The sum when every disk has the figure (dynamic and differencing disks only), else nil.
    public var writtenBytes: UInt64?
    /// The occupied size of the image: what its snapshots are billed on.
    public var nonZeroBytes: UInt64

    /// Adds up `disks`.
    ///
    /// - Throws: ``SnapshotCostError/overflow`` if a sum does not fit in 64 bits.
    public init(_ disks: [OccupiedSize]) throws(SnapshotCostError) {
        func sum(_ values: [UInt64]) throws(SnapshotCostError) -> UInt64 {
            var total: UInt64 = 0
            for value in values {
                let (next, overflow) = total.addingReportingOverflow(value)
                guard !overflow else { throw .overflow }
                total = next
            }
            return total
        }
        diskCount = disks.count
        virtualSize = try sum(disks.map(\.virtualSize))
        fileSize = try sum(disks.map(\.fileSize))
        hostAllocatedBytes = try sum(disks.map(\.hostAllocatedBytes))
        allocatedBytes = try sum(disks.map(\.allocatedBytes))
        let written = disks.compactMap(\.writtenBytes)
        writtenBytes = written.count == disks.count ? try sum(written) : nil
        nonZeroBytes = try sum(disks.map(\.nonZeroBytes))
    }
}

/// Why an occupied size cannot be measured as asked.
public enum OccupiedSizeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A granularity that is not a power of two from 512 bytes to 64 MiB.
    case invalidGranularity(UInt64)

    public var description: String {
        switch self {
        case let .invalidGranularity(bytes):
            "a granularity of \(bytes) bytes is not possible: it must be a power of two from 512 bytes to 64 MiB, or \"block\""
        }
    }
}

/// Counting non-zero granules over a stream of extents in ascending order, on two threads.
///
/// Adjacent extents that continue each other are merged, then cut into windows of the virtual
/// disk (four chunks, 16 MiB by default, or one granule if larger): a granule never crosses a
/// window, so windows are counted independently. Windows are collected into batches of about
/// 64 chunks of data (256 MiB), whose
/// windows two threads read and scan at once (positional reads share no cursor). Within a
/// window, a granule is counted when its first non-zero byte is found; the rest of it is not
/// scanned, nor read when a whole chunk lies in it.
struct NonZeroScan: ~Copyable {
    /// One window's data: pieces in ascending order, each stored in one file.
    struct Window: Sendable {
        var pieces: [(file: Int, hostOffset: Int64, range: Range<UInt64>)] = []
        var index: UInt64
    }

    let disk: Disk
    let granularity: Int
    let options: CopyOptions
    private let granuleShift: UInt64
    private let windowShift: UInt64
    private let workers: [ScanWorker]
    private var pending: Extent?
    private var batch: [Window] = []
    private var batchBytes: UInt64 = 0
    private(set) var nonZeroBytes: UInt64 = 0
    /// Bytes of data extents stored in layer 0.
    private(set) var layerZeroDataBytes: UInt64 = 0

    private let batchSize: UInt64
    static let threadCount = 2

    init(disk: Disk, granularity: Int, options: CopyOptions) {
        self.disk = disk
        self.granularity = granularity
        self.options = options
        granuleShift = UInt64(granularity.trailingZeroBitCount)
        let chunkSize = max(options.chunkSize / 4096 * 4096, 4096)
        // Windows of 4 chunks (16 MiB for 4 MiB chunks) or one granule; batches of 64 chunks.
        let chunkShift = Int.bitWidth - (chunkSize - 1).leadingZeroBitCount  // rounded up to a power of two
        windowShift = UInt64(max(granularity.trailingZeroBitCount, chunkShift + 2))
        batchSize = UInt64(chunkSize) * 64
        let files = disk.layers.map { ScanWorker.File(descriptor: $0.file.descriptor.rawValue, path: $0.file.path) }
        workers = (0..<Self.threadCount).map { _ in
            ScanWorker(files: files, chunkSize: chunkSize, granuleShift: UInt64(granularity.trailingZeroBitCount), virtualSize: disk.virtualSize)
        }
    }

    func deallocate() { workers.forEach { $0.deallocate() } }

    mutating func add(_ extent: Extent) throws(VHDError) {
        guard extent.length > 0 else { return }
        if let current = pending, current.canAbsorb(extent) {
            pending!.length += extent.length
            return
        }
        if let current = pending { try process(current) }
        pending = extent
    }

    mutating func finish() throws(VHDError) {
        if let current = pending { try process(current) }
        pending = nil
        try runBatch(progressAt: disk.virtualSize)
    }

    /// Adds a data extent's pieces to the windows of the batch; runs the batch when it is full
    /// and the extent starts a new window.
    private mutating func process(_ extent: Extent) throws(VHDError) {
        guard case let .data(layer, hostOffset) = extent.source else { return }
        if layer == 0 { layerZeroDataBytes += extent.length }
        var position = extent.start
        while position < extent.end {
            let windowIndex = position >> windowShift
            let end = min(extent.end, (windowIndex + 1) << windowShift)
            if batch.last?.index != windowIndex {
                if batchBytes >= batchSize { try runBatch(progressAt: position) }
                batch.append(Window(index: windowIndex))
            }
            batch[batch.count - 1].pieces.append((layer, hostOffset + Int64(position - extent.start), position..<end))
            batchBytes += end - position
            position = end
        }
    }

    /// Counts the batch's windows on the worker threads, each thread taking every other window.
    private mutating func runBatch(progressAt position: UInt64) throws(VHDError) {
        defer {
            batch.removeAll(keepingCapacity: true)
            batchBytes = 0
        }
        if options.isCancelled?() == true { throw VHDError(path: disk.layers[0].file.name, .cancelled) }
        if !batch.isEmpty {
            let windows = batch
            let workers = self.workers
            if windows.count == 1 {
                workers[0].count(windows, stride: 1, offset: 0)
            } else {
                DispatchQueue.concurrentPerform(iterations: workers.count) { index in
                    workers[index].count(windows, stride: workers.count, offset: index)
                }
            }
            for worker in workers {
                if let error = worker.error { throw error }
                nonZeroBytes += worker.nonZeroBytes
                worker.nonZeroBytes = 0
            }
        }
        options.progress?(position, disk.virtualSize)
    }
}

/// One thread's reading buffer and its count. Each worker is used by one thread at a time
/// (``NonZeroScan`` waits for both before reading their results), hence `@unchecked Sendable`;
/// it reads files only with positional reads.
final class ScanWorker: @unchecked Sendable {
    struct File: Sendable {
        let descriptor: CInt
        let path: FilePath
    }

    let files: [File]
    let granuleShift: UInt64
    let virtualSize: UInt64
    private let buffer: UnsafeMutableRawBufferPointer
    var nonZeroBytes: UInt64 = 0
    var error: VHDError?

    init(files: [File], chunkSize: Int, granuleShift: UInt64, virtualSize: UInt64) {
        self.files = files
        self.granuleShift = granuleShift
        self.virtualSize = virtualSize
        buffer = .allocate(byteCount: chunkSize, alignment: 4096)
    }

    func deallocate() { buffer.deallocate() }

    /// Counts windows `offset`, `offset + stride`, ... of `windows`.
    func count(_ windows: [NonZeroScan.Window], stride: Int, offset: Int) {
        guard error == nil else { return }
        do throws(VHDError) {
            var index = offset
            while index < windows.count {
                try count(windows[index])
                index += stride
            }
        } catch {
            self.error = error
        }
    }

    private func count(_ window: NonZeroScan.Window) throws(VHDError) {
        // Granules below this one are counted already (pieces come in ascending order).
        var nextUncountedGranule: UInt64 = 0
        for piece in window.pieces {
            let source = files[piece.file]
            let file = HostFile(descriptor: FileDescriptor(rawValue: source.descriptor), path: source.path, sizeInBytes: 0)
            var position = piece.range.lowerBound
            while position < piece.range.upperBound {
                let length = Int(min(UInt64(buffer.count), piece.range.upperBound - position))
                // A chunk that lies in granules already counted needs no reading.
                if (position + UInt64(length) - 1) >> granuleShift >= nextUncountedGranule {
                    let chunk = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<length])
                    try file.read(into: chunk, at: piece.hostOffset + Int64(position - piece.range.lowerBound))
                    scan(UnsafeRawBufferPointer(chunk), at: position, nextUncountedGranule: &nextUncountedGranule)
                }
                position += UInt64(length)
            }
        }
    }

    /// Counts the granules of `chunk` (virtual bytes at `offset`) that hold a non-zero byte.
    private func scan(_ chunk: UnsafeRawBufferPointer, at offset: UInt64, nextUncountedGranule: inout UInt64) {
        var index = 0
        while index < chunk.count {
            let granuleIndex = (offset + UInt64(index)) >> granuleShift
            let granuleStart = granuleIndex << granuleShift
            let granuleEnd = (granuleIndex + 1) << granuleShift
            let pieceEnd = min(chunk.count, Int(granuleEnd - offset))
            if granuleIndex >= nextUncountedGranule
                && !ZeroDetection.isZero(UnsafeRawBufferPointer(rebasing: chunk[index..<pieceEnd]))
            {
                nonZeroBytes += min(granuleEnd, virtualSize) - granuleStart
                nextUncountedGranule = granuleIndex + 1
            }
            index = pieceEnd
        }
    }
}

extension HostFile {
    /// The size of the file at `path` and the bytes its filesystem allocates to it
    /// (st_blocks x 512), by stat(2).
    ///
    /// - Throws: ``VHDError`` if stat fails.
    public static func allocation(at path: FilePath) throws(VHDError) -> (sizeInBytes: UInt64, allocatedBytes: UInt64) {
        var status = stat()
        let result = path.withPlatformString { stat($0, &status) }
        guard result == 0 else {
            throw VHDError(path: path.string, .io(call: "stat", offset: nil, errno: Errno(rawValue: errno)))
        }
        return (UInt64(clamping: status.st_size), UInt64(clamping: status.st_blocks) &* 512)
    }
}
