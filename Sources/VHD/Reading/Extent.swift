/// A range of the virtual disk and where its bytes come from: the unit of every operation that
/// walks a disk (read, map, copy, occupied size, digest).
public struct Extent: Hashable, Sendable, CustomStringConvertible {
    /// Where an extent's bytes come from.
    public enum Source: Hashable, Sendable {
        /// Reads as zeros without reading anything. `layer` is the chain depth that decided so
        /// (an unallocated block of the base, a host-file hole, or past a parent's end).
        case zero(layer: Int)
        /// Stored in the file of chain layer `layer` (0 = the disk opened), at `hostOffset`.
        case data(layer: Int, hostOffset: Int64)
    }

    /// Virtual offset in bytes.
    public var start: UInt64
    /// Length in bytes.
    public var length: UInt64
    /// Where the bytes come from.
    public var source: Source

    /// Makes an extent.
    ///
    /// - Parameters:
    ///   - start: Virtual offset in bytes.
    ///   - length: Length in bytes.
    ///   - source: Where the bytes come from.
    public init(start: UInt64, length: UInt64, source: Source) {
        self.start = start
        self.length = length
        self.source = source
    }

    /// Virtual offset in bytes just past the extent.
    public var end: UInt64 { start + length }

    /// Whether the bytes are stored in a file (not zeros).
    public var isData: Bool {
        if case .data = source { return true }
        return false
    }

    /// The chain layer the bytes come from (data) or that decided they are zero.
    public var layer: Int {
        switch source {
        case let .zero(layer), let .data(layer, _): layer
        }
    }

    /// Whether `next` continues this extent: same kind, same layer, and for data, the next
    /// host bytes.
    func canAbsorb(_ next: Extent) -> Bool {
        guard end == next.start else { return false }
        switch (source, next.source) {
        case let (.zero(a), .zero(b)): return a == b
        case let (.data(a, offset), .data(b, nextOffset)): return a == b && offset + Int64(length) == nextOffset
        default: return false
        }
    }

    /// The range and source, e.g. "[0, 4096) data in layer 0 at 512".
    public var description: String {
        switch source {
        case let .zero(layer): "[\(start), \(end)) zero (layer \(layer))"
        case let .data(layer, offset): "[\(start), \(end)) data in layer \(layer) at \(offset)"
        }
    }
}

/// Merges a stream of extents: holds the last one while the next ones continue it.
struct ExtentMerger {
    /// The extent being extended; not yet handed on.
    private(set) var pending: Extent?

    /// Takes `extent`; returns the previous pending extent when `extent` does not continue it.
    mutating func add(_ extent: Extent) -> Extent? {
        guard extent.length > 0 else { return nil }
        guard let last = pending else {
            pending = extent
            return nil
        }
        if last.canAbsorb(extent) {
            pending!.length += extent.length
            return nil
        }
        pending = extent
        return last
    }

    /// Hands on the pending extent, if any, and holds none.
    mutating func flush() -> Extent? {
        defer { pending = nil }
        return pending
    }
}
