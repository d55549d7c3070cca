/// How a long operation reports progress and learns that it should stop.
public struct CopyOptions {
    /// Called after each chunk with the virtual bytes done and the total.
    public var progress: ((_ doneBytes: UInt64, _ totalBytes: UInt64) -> Void)?
    /// Polled between chunks; returning true stops the operation with ``VHDError/Kind/cancelled``.
    public var isCancelled: (() -> Bool)?
    /// Bytes read per system call from a data extent.
    public var chunkSize: Int
    /// Bytes per zero-detection granule: runs of all-zero granules become holes.
    public var zeroGranularity: Int

    /// Makes options; by default no progress, no cancelling, 4 MiB reads and 4 KiB granules.
    ///
    /// - Parameters:
    ///   - progress: Called after each chunk with the virtual bytes done and the total; nil for none.
    ///   - isCancelled: Polled between chunks; nil never stops.
    ///   - chunkSize: Bytes read per system call from a data extent.
    ///   - zeroGranularity: Bytes per zero-detection granule.
    public init(
        progress: ((UInt64, UInt64) -> Void)? = nil, isCancelled: (() -> Bool)? = nil,
        chunkSize: Int = 4 << 20, zeroGranularity: Int = 4096
    ) {
        self.progress = progress
        self.isCancelled = isCancelled
        self.chunkSize = chunkSize
        self.zeroGranularity = zeroGranularity
    }
}

/// What a copy did, in bytes.
public struct CopySummary: Sendable, Equatable, Codable {
    /// Virtual size of the disk copied.
    public var virtualSize: UInt64
    /// Bytes read from the source's files (data extents only).
    public var bytesRead: UInt64
    /// Bytes written to the destination.
    public var bytesWritten: UInt64

    /// Makes a summary from its figures.
    ///
    /// - Parameters:
    ///   - virtualSize: Virtual size of the disk copied, in bytes.
    ///   - bytesRead: Bytes read from the source's files.
    ///   - bytesWritten: Bytes written to the destination.
    public init(virtualSize: UInt64, bytesRead: UInt64 = 0, bytesWritten: UInt64 = 0) {
        self.virtualSize = virtualSize
        self.bytesRead = bytesRead
        self.bytesWritten = bytesWritten
    }
}
