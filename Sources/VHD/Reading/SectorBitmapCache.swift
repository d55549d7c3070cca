/// The last few sector bitmaps read from one layer, so that reading a block sector run by
/// sector run does not read its bitmap each time. Bounded: a fixed number of slots, each
/// allocated once.
final class SectorBitmapCache {
    fileprivate var blockIndices: [Int]
    private var bitmaps: [[UInt8]]
    private var nextSlot = 0

    init(bitmapSize: Int, slotCount: Int = 8) {
        blockIndices = [Int](repeating: -1, count: slotCount)
        bitmaps = [[UInt8]](repeating: [UInt8](repeating: 0, count: bitmapSize), count: slotCount)
    }

    /// Runs `body` with the bitmap of `blockIndex`, reading it with `load` if it is not cached.
    func withBitmap<R>(
        of blockIndex: Int, load: (UnsafeMutableRawBufferPointer) throws(VHDError) -> Void,
        _ body: ([UInt8]) throws(VHDError) -> R
    ) throws(VHDError) -> R {
        if let slot = blockIndices.firstIndex(of: blockIndex) { return try body(bitmaps[slot]) }
        let slot = nextSlot
        nextSlot = (nextSlot + 1) % blockIndices.count
        blockIndices[slot] = -1
        try bitmaps[slot].withMutableBytes(load)
        blockIndices[slot] = blockIndex
        return try body(bitmaps[slot])
    }
}

extension SectorBitmapCache {
    /// Forgets the cached bitmap of `blockIndex` (after it was written).
    func invalidate(_ blockIndex: Int) {
        if let slot = blockIndices.firstIndex(of: blockIndex) { blockIndices[slot] = -1 }
    }
}

/// Sector bitmap bits: one per sector, the most significant bit of byte 0 is sector 0.
enum SectorBitmap {
    static func isSet(_ bitmap: [UInt8], sector: Int) -> Bool {
        bitmap[sector >> 3] & (0x80 >> UInt8(sector & 7)) != 0
    }

    /// The number of sectors from `sector` (before `limit`) whose bits equal `sector`'s.
    static func runLength(_ bitmap: [UInt8], from sector: Int, limit: Int) -> Int {
        let value = isSet(bitmap, sector: sector)
        var next = sector + 1
        while next < limit {
            // Skip whole bytes that are all ones or all zeros.
            if next & 7 == 0 && next + 8 <= limit {
                let byte = bitmap[next >> 3]
                if byte == (value ? 0xFF : 0x00) {
                    next += 8
                    continue
                }
            }
            if isSet(bitmap, sector: next) != value { break }
            next += 1
        }
        return next - sector
    }

    /// Sets the bit of every sector of `data` that overlaps `range` and holds a non-zero byte
    /// (the last sector may be short); leaves the other bits. Returns whether it set any.
    static func mark(
        _ bitmap: UnsafeMutableRawBufferPointer, nonZeroSectorsOf data: UnsafeRawBufferPointer, overlapping range: Range<Int>
    ) -> Bool {
        var anySet = false
        var sectorStart = range.lowerBound / 512 * 512
        let end = min(range.upperBound, data.count)
        while sectorStart < end {
            let sectorEnd = min(sectorStart + 512, data.count)
            if !ZeroDetection.isZero(UnsafeRawBufferPointer(rebasing: data[sectorStart..<sectorEnd])) {
                let sector = sectorStart / 512
                bitmap[sector >> 3] |= 0x80 >> UInt8(sector & 7)
                anySet = true
            }
            sectorStart = sectorEnd
        }
        return anySet
    }
}
