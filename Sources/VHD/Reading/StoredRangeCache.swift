/// The stored ranges (not holes) of a host file, asked for a window at a time, so that the
/// thousands of short data extents of one block cost one `lseek` pair, not one each.
///
/// Bounded: one window's ranges (at most one per page of the window). Used by one thread.
final class StoredRangeCache {
    /// How much of the file one `storedRanges` call covers, at least.
    static let windowSize: Int64 = 4 << 20

    let file: HostFile
    private var window: Range<Int64> = 0..<0
    private var stored: [Range<Int64>] = []
    /// The first range of `stored` that may overlap the next request (requests usually ascend).
    private var cursor = 0

    init(file: HostFile) { self.file = file }

    /// Calls `body` with the stored parts of `range`, in order: window by window, so that a
    /// long range (a VHDX's consecutive payload blocks make one data extent of any length) is
    /// never listed at once. A stored range crossing a window's end comes in two adjacent parts.
    ///
    /// - Throws: ``VHDError`` if `lseek` fails, or what `body` throws.
    func forEachStoredRange(in range: Range<Int64>, _ body: (Range<Int64>) throws(VHDError) -> Void) throws(VHDError) {
        var start = range.lowerBound
        while start < range.upperBound {
            let end = start + min(Self.windowSize, range.upperBound - start)
            try forEachStoredRange(inWindow: start..<end, body)
            start = end
        }
    }

    /// ``forEachStoredRange(in:_:)`` for a range of at most ``windowSize`` bytes.
    private func forEachStoredRange(inWindow range: Range<Int64>, _ body: (Range<Int64>) throws(VHDError) -> Void) throws(VHDError) {
        if range.lowerBound < window.lowerBound || range.upperBound > window.upperBound {
            window = range.lowerBound..<(range.lowerBound + Self.windowSize)
            stored = try file.storedRanges(in: window)
            cursor = 0
        }
        if cursor > 0 && (cursor > stored.count || stored[cursor - 1].upperBound > range.lowerBound) { cursor = 0 }
        while cursor < stored.count && stored[cursor].upperBound <= range.lowerBound { cursor += 1 }
        var index = cursor
        while index < stored.count && stored[index].lowerBound < range.upperBound {
            let part = stored[index].clamped(to: range)
            if !part.isEmpty { try body(part) }
            index += 1
        }
    }
}
