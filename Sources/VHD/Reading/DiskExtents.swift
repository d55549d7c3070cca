import VHDFormat

/// The extent map: what is at each virtual byte, resolved through the chain.
///
/// Sector bitmaps decide within an allocated block, for dynamic and differencing disks alike,
/// as libvhdi reads them: a set bit means the sector is stored in this file; a clear bit means
/// zeros (dynamic) or the parent's sector (differencing). QEMU ignores bitmaps and returns the
/// stored bytes, which makes no difference for images whose stored unused sectors are zeros
/// (Windows) or whose bitmaps are all ones (QEMU).
extension Disk {
    /// The extents covering `range` of the virtual disk, in order, adjacent ones of the same
    /// kind merged.
    ///
    /// Holds every extent of `range`: for a whole disk, whose extents can number billions
    /// (a sector bitmap of alternating bits), use ``forEachExtent(in:_:)``.
    ///
    /// - Throws: ``VHDError`` if a sector bitmap cannot be read, or the range is outside the disk.
    public func extents(in range: Range<UInt64>) throws(VHDError) -> [Extent] {
        var extents: [Extent] = []
        try forEachExtent(in: range) { extents.append($0) }
        return extents
    }

    /// Calls `visit` with each extent covering `range` of the virtual disk, in order, adjacent
    /// ones of the same kind merged, as the walk finds them: memory stays the same whatever
    /// the number of extents (one pending extent, a few cached bitmaps).
    ///
    /// - Throws: ``VHDError`` if a sector bitmap cannot be read, the range is outside the disk,
    ///   or what `visit` throws.
    public func forEachExtent(
        in range: Range<UInt64>, _ visit: (Extent) throws(VHDError) -> Void
    ) throws(VHDError) {
        try checkRange(range)
        var merger = ExtentMerger()
        try walk(range, layer: 0) { (extent) throws(VHDError) in
            if let finished = merger.add(extent) { try visit(finished) }
        }
        if let last = merger.pending { try visit(last) }
    }

    /// ``forEachExtent(in:_:)`` with whole masked blocks for `masked` (see
    /// ``walk(_:layer:masked:_:)``), in order with the extents.
    func forEachExtent(
        in range: Range<UInt64>, masked: @escaping MaskedBlockVisitor, _ visit: (Extent) throws(VHDError) -> Void
    ) throws(VHDError) {
        try checkRange(range)
        var merger = ExtentMerger()
        try withoutActuallyEscaping(visit) { (visit) throws(VHDError) in
            try walk(range, layer: 0, masked: { (block) throws(VHDError) in
                if let finished = merger.flush() { try visit(finished) }
                try masked(block)
            }) { (extent) throws(VHDError) in
                if let finished = merger.add(extent) { try visit(finished) }
            }
        }
        if let last = merger.pending { try visit(last) }
    }

    /// Calls `visit` with each extent of the whole disk; see ``forEachExtent(in:_:)``.
    public func forEachExtent(_ visit: (Extent) throws(VHDError) -> Void) throws(VHDError) {
        try forEachExtent(in: 0..<virtualSize, visit)
    }

    /// The extents of the whole disk, all held at once; see ``extents(in:)``.
    public func extents() throws(VHDError) -> [Extent] { try extents(in: 0..<virtualSize) }

    func checkRange(_ range: Range<UInt64>) throws(VHDError) {
        guard range.upperBound <= virtualSize else {
            throw VHDError(path: layers[0].file.name, .outOfRange(
                offset: range.lowerBound, length: Int(clamping: range.count), virtualSize: virtualSize))
        }
    }

    /// Calls `visit` with the pieces of `range` in order, as layer `index` and its ancestors
    /// resolve them. Allocates nothing but cached bitmaps.
    ///
    /// With `masked`, the allocated blocks of dynamic (not differencing) layers, whose clear
    /// bits read as zeros, are not cut sector run by sector run: `masked` gets each such
    /// block's part of `range` whole with its bitmap (the read-ahead engine skips host holes
    /// before looking at bits, so a block of alternating bits over a hole costs one step).
    func walk(
        _ range: Range<UInt64>, layer index: Int, masked: MaskedBlockVisitor? = nil,
        _ visit: (Extent) throws(VHDError) -> Void
    ) throws(VHDError) {
        guard !range.isEmpty else { return }
        guard index < layers.count else {
            return try visit(Extent(start: range.lowerBound, length: UInt64(range.count), source: .zero(layer: index)))
        }
        let layer = layers[index]
        // Past the end of a (smaller) parent: zeros.
        let inside = range.clamped(to: 0..<layer.virtualSize)
        if inside.upperBound < range.upperBound {
            try walkInside(inside, layer: layer, index: index, masked: masked, visit)
            let tail = max(inside.upperBound, range.lowerBound)..<range.upperBound
            return try visit(Extent(start: tail.lowerBound, length: UInt64(tail.count), source: .zero(layer: index)))
        }
        try walkInside(range, layer: layer, index: index, masked: masked, visit)
    }

    private func walkInside(
        _ range: Range<UInt64>, layer: DiskLayer, index: Int, masked: MaskedBlockVisitor?,
        _ visit: (Extent) throws(VHDError) -> Void
    ) throws(VHDError) {
        guard !range.isEmpty else { return }
        switch layer.contents {
        case .raw:
            try walkFlat(range, file: layer.file, index: index, visit)
        case let .vhd(layout):
            guard let dynamic = layout.dynamic else { return try walkFlat(range, file: layer.file, index: index, visit) }
            try walkBlocks(range, layer: layer, dynamic: dynamic, index: index, masked: masked, visit)
        case let .vhdx(layout):
            try walkVHDX(range, layer: layer, layout: layout, index: index, visit)
        }
    }

    /// How much of a raw or fixed disk's host file is asked for its stored ranges at once.
    static let storedRangeWindow: UInt64 = 256 << 20

    /// Raw and fixed disks: virtual offset = host offset; host holes read as zeros.
    private func walkFlat(
        _ range: Range<UInt64>, file: HostFile, index: Int, _ visit: (Extent) throws(VHDError) -> Void
    ) throws(VHDError) {
        // Window by window, so that a host file of a million holes is never listed at once
        // (a stored range cut at a window's end is joined again by the caller's merging).
        var position = range.lowerBound
        var windowStart = range.lowerBound
        while windowStart < range.upperBound {
            let windowEnd = windowStart + min(Self.storedRangeWindow, range.upperBound - windowStart)
            for stored in try file.storedRanges(in: Int64(windowStart)..<Int64(windowEnd)) {
                let start = UInt64(stored.lowerBound)
                if start > position {
                    try visit(Extent(start: position, length: start - position, source: .zero(layer: index)))
                }
                try visit(Extent(start: start, length: UInt64(stored.count), source: .data(layer: index, hostOffset: stored.lowerBound)))
                position = UInt64(stored.upperBound)
            }
            windowStart = windowEnd
        }
        if position < range.upperBound {
            try visit(Extent(start: position, length: range.upperBound - position, source: .zero(layer: index)))
        }
    }

    /// Dynamic and differencing disks: block by block through the BAT and sector bitmaps.
    private func walkBlocks(
        _ range: Range<UInt64>, layer: DiskLayer, dynamic: DynamicLayout, index: Int,
        masked: MaskedBlockVisitor?, _ visit: (Extent) throws(VHDError) -> Void
    ) throws(VHDError) {
        let blockSize = UInt64(dynamic.blockSize)
        let isDifferencing = layer.layout?.diskType == .differencing
        let state = layer.blocks!  // every layer with a dynamic header has one
        var position = range.lowerBound
        while position < range.upperBound {
            let blockIndex = Int(position / blockSize)
            let blockStart = UInt64(blockIndex) * blockSize
            let pieceEnd = min(blockStart + blockSize, range.upperBound)
            let entry = state.entries[blockIndex]
            if entry == BlockAllocationTable.unallocated {
                // The whole run of unallocated blocks at once: an empty 2 TiB disk is one step.
                var runEnd = blockIndex + 1
                while runEnd < state.entries.count && state.entries[runEnd] == BlockAllocationTable.unallocated
                    && UInt64(runEnd) * blockSize < range.upperBound
                {
                    runEnd += 1
                }
                let end = min(UInt64(runEnd) * blockSize, range.upperBound)
                if isDifferencing {
                    try walk(position..<end, layer: index + 1, masked: masked, visit)
                } else {
                    try visit(Extent(start: position, length: end - position, source: .zero(layer: index)))
                }
                position = end
                continue
            }
            let bitmapOffset = Int64(entry) * 512
            let dataOffset = bitmapOffset + Int64(dynamic.sectorBitmapSize)
            try state.bitmaps.withBitmap(of: blockIndex, load: { (buffer) throws(VHDError) in
                try layer.file.read(into: buffer, at: bitmapOffset)
            }) { (bitmap) throws(VHDError) in
                if let masked, !isDifferencing {
                    let block = MaskedBlock(
                        range: position..<pieceEnd, blockStart: blockStart, layer: index, dataOffset: dataOffset, bitmap: bitmap)
                    try masked(block)
                    position = pieceEnd
                    return
                }
                let sectorLimit = Int((pieceEnd - blockStart + 511) / 512)
                while position < pieceEnd {
                    let sector = Int((position - blockStart) / 512)
                    let run = SectorBitmap.runLength(bitmap, from: sector, limit: sectorLimit)
                    let runEnd = min(blockStart + UInt64(sector + run) * 512, pieceEnd)
                    if SectorBitmap.isSet(bitmap, sector: sector) {
                        let host = dataOffset + Int64(position - blockStart)
                        try visit(Extent(start: position, length: runEnd - position, source: .data(layer: index, hostOffset: host)))
                    } else if isDifferencing {
                        try walk(position..<runEnd, layer: index + 1, masked: masked, visit)
                    } else {
                        try visit(Extent(start: position, length: runEnd - position, source: .zero(layer: index)))
                    }
                    position = runEnd
                }
            }
        }
    }
}

/// Part of an allocated block of a dynamic layer, given whole by ``Disk/walk(_:layer:masked:_:)``:
/// the sectors whose bits are set are stored at `dataOffset` + (offset in the block); the
/// others read as zeros.
struct MaskedBlock {
    var range: Range<UInt64>
    var blockStart: UInt64
    var layer: Int
    /// The host offset of the block's first data byte.
    var dataOffset: Int64
    var bitmap: [UInt8]

    /// The bytes of `range` in sectors whose bits are set.
    var setBytes: UInt64 {
        var total: UInt64 = 0
        var position = range.lowerBound
        while position < range.upperBound {
            let sector = Int((position - blockStart) / 512)
            let sectorEnd = min(blockStart + UInt64(sector + 1) * 512, range.upperBound)
            // Whole bytes of the bitmap at once where they lie inside the range.
            if sector & 7 == 0 && blockStart + UInt64(sector + 8) * 512 <= range.upperBound {
                total += UInt64(bitmap[sector >> 3].nonzeroBitCount) * 512
                position = blockStart + UInt64(sector + 8) * 512
                continue
            }
            if SectorBitmap.isSet(bitmap, sector: sector) { total += sectorEnd - position }
            position = sectorEnd
        }
        return total
    }
}

typealias MaskedBlockVisitor = (MaskedBlock) throws(VHDError) -> Void
