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
///   the virtual size) times 512; nil for fixed and raw disks and for VHDX. Like
///   ``allocatedBytes``, this is the layer's own figure: a differencing disk's parents are not
///   counted. QEMU sets every bit of a block it allocates, so this figure is never trusted alone.
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
    /// What the container backs with storage, in bytes (see ``OccupiedSize``).
    public var allocatedBytes: UInt64
    /// Bytes of the sectors whose bits are set in the disk's own sector bitmaps; nil unless the
    /// disk is a dynamic or differencing VHD.
    public var writtenBytes: UInt64?
    /// Bytes of the granules holding a non-zero byte, read through the whole chain: what snapshots are billed on.
    public var nonZeroBytes: UInt64
    /// The granule size ``nonZeroBytes`` was counted in, in bytes.
    public var granularity: Int

    /// Makes a result from its figures.
    ///
    /// - Parameters:
    ///   - virtualSize: The size of the virtual disk in bytes.
    ///   - fileSize: The size of the disk's file in bytes.
    ///   - hostAllocatedBytes: What the host filesystem allocates to that file, in bytes.
    ///   - allocatedBytes: What the container backs with storage, in bytes.
    ///   - writtenBytes: Bytes of the sectors marked in the disk's own sector bitmaps; nil unless
    ///     the disk is a dynamic or differencing VHD.
    ///   - nonZeroBytes: Bytes of the granules holding a non-zero byte.
    ///   - granularity: The granule size in bytes.
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

        /// The smallest granule in bytes: one sector.
        public static let minimum = 512
        /// The largest granule in bytes: 64 MiB.
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

        /// The granule size in bytes as digits, or "block".
        public var description: String { bytes.map { "\($0)" } ?? "block" }
    }

    /// Measures `disk`: walks its extent map once, as a stream, through the read-ahead engine
    /// (`ReadAhead`): zero extents and host-file holes are never read; data is read in
    /// chunks of `options.chunkSize` on a second thread and scanned for non-zero granules word
    /// by word. Within a granule, counting stops at its first non-zero byte. Memory does not
    /// grow with the disk.
    ///
    /// - Parameters:
    ///   - disk: the disk, opened with its chain; ``nonZeroBytes`` is read through the chain.
    ///   - granularity: the granule in which ``nonZeroBytes`` is counted.
    ///   - options: `progress` (virtual bytes done of the virtual size), `isCancelled`,
    ///     `chunkSize` (a multiple of 4096; `zeroGranularity` is not used).
    /// - Returns: the three figures, with the file's size and what the host allocates to it.
    /// - Throws: ``VHDError`` on a read or stat failure, or ``VHDError/Kind/cancelled``.
    public static func measure(
        _ disk: Disk, granularity: Granularity = .sector, options: CopyOptions = CopyOptions()
    ) throws(VHDError) -> OccupiedSize {
        let layer = disk.layers[0]
        let host = try HostFile.allocation(at: layer.file.path)
        let granuleBytes = granularity.bytes(for: disk)
        var counter = NonZeroGranuleCounter(granuleShift: UInt64(granuleBytes.trailingZeroBitCount), virtualSize: disk.virtualSize)
        let layerZero = LayerZeroData()
        let chunkSize = max(options.chunkSize / 4096 * 4096, 4096)
        try ReadAhead.forEachPiece(
            of: disk, in: 0..<disk.virtualSize, chunkSize: chunkSize, isCancelled: options.isCancelled,
            observe: { layer, bytes in
                if layer == 0 { layerZero.bytes += bytes }
            }
        ) { (piece, bytes) throws(VHDError) in
            if let bytes { counter.scan(bytes, at: piece.range.lowerBound) }
            options.progress?(piece.range.upperBound, disk.virtualSize)
        }

        // The walk's layer-0 data extents are exactly the set bitmap bits of a dynamic or
        // differencing layer, and the stored ranges of a fixed or raw one.
        let allocated: UInt64
        let written: UInt64?
        if let blocks = layer.blocks, let blockSize = layer.layout?.dynamic?.blockSize {
            let blockCount = blocks.entries.lazy.filter { $0 != BlockAllocationTable.unallocated }.count
            allocated = try checkedProduct(UInt64(blockCount), UInt64(blockSize), in: layer.file.name)
            written = layerZero.bytes
        } else {
            allocated = layerZero.bytes
            written = nil
        }
        return OccupiedSize(
            virtualSize: disk.virtualSize, fileSize: host.sizeInBytes, hostAllocatedBytes: host.allocatedBytes,
            allocatedBytes: allocated, writtenBytes: written, nonZeroBytes: counter.nonZeroBytes, granularity: granuleBytes)
    }

    static func checkedProduct(_ a: UInt64, _ b: UInt64, in name: String) throws(VHDError) -> UInt64 {
        let (product, overflow) = a.multipliedReportingOverflow(by: b)
        guard !overflow else { throw VHDError(path: name, .notAVHD(reason: "its allocated size overflows 64 bits")) }
        return product
    }
}

/// The figures of several disks added up (an image: an OS disk and its data disks).
public struct OccupiedTotal: Sendable, Equatable {
    /// The number of disks added up.
    public var diskCount: Int
    /// The sum of the virtual sizes in bytes.
    public var virtualSize: UInt64
    /// The sum of the file sizes in bytes.
    public var fileSize: UInt64
    /// The sum of what the host filesystem allocates to the files, in bytes.
    public var hostAllocatedBytes: UInt64
    /// The sum of ``OccupiedSize/allocatedBytes``.
    public var allocatedBytes: UInt64
    /// The sum when every disk has the figure (dynamic and differencing disks only), else nil.
    public var writtenBytes: UInt64?
    /// The occupied size of the image: what its snapshots are billed on.
    public var nonZeroBytes: UInt64

    /// Adds up `disks`.
    ///
    /// - Throws: `SnapshotCostError.overflow` (GalleryVocabulary) if a sum does not fit in 64 bits.
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

    /// A sentence saying what is wrong and what is allowed.
    public var description: String {
        switch self {
        case let .invalidGranularity(bytes):
            "a granularity of \(bytes) bytes is not possible: it must be a power of two from 512 bytes to 64 MiB, or \"block\""
        }
    }
}

/// Bytes of layer-0 data extents, counted on the read-ahead thread as the walk finds them
/// and read after it finished, hence `@unchecked Sendable`.
private final class LayerZeroData: @unchecked Sendable {
    var bytes: UInt64 = 0
}

/// Counts the granules holding a non-zero byte over pieces of the virtual disk in ascending
/// order. A granule is counted at its first non-zero byte; the rest of it is not scanned.
struct NonZeroGranuleCounter {
    let granuleShift: UInt64
    let virtualSize: UInt64
    private(set) var nonZeroBytes: UInt64 = 0
    /// Granules below this one are counted already.
    private var nextUncountedGranule: UInt64 = 0

    init(granuleShift: UInt64, virtualSize: UInt64) {
        self.granuleShift = granuleShift
        self.virtualSize = virtualSize
    }

    /// Counts the granules of `chunk` (virtual bytes at `offset`) that hold a non-zero byte.
    mutating func scan(_ chunk: UnsafeRawBufferPointer, at offset: UInt64) {
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
        let status = try SystemCalls.status(of: path)
        return (UInt64(clamping: status.st_size), UInt64(clamping: status.st_blocks) &* 512)
    }
}
