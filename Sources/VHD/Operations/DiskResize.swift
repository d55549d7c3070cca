import SystemPackage
import VHDFormat

/// What a resize did.
public struct ResizeSummary: Sendable, Equatable {
    /// The disk's type, unchanged by the resize.
    public var diskType: DiskType
    /// The virtual size in bytes before.
    public var oldSize: UInt64
    /// The virtual size in bytes after.
    public var newSize: UInt64
    /// Size of the file in bytes before.
    public var oldFileSize: Int64
    /// Size of the file in bytes after.
    public var newFileSize: Int64
    /// Blocks copied to the end of the file: those in the way of a larger BAT, and a partial
    /// last block (so that its part past the old end reads as zeros).
    public var movedBlocks: Int
    /// Parent locator paths copied to the end of the file because a larger BAT needed their place.
    public var movedLocators: Int
    /// Bytes of the file that this resize left unused (a dynamic or differencing disk): blocks
    /// a shrink dropped from the BAT, and what moved blocks and locator paths left behind
    /// outside the larger table. They stay in the file, holding their old data, until
    /// ``DiskCompaction`` rewrites it; nothing reads them.
    public var unreachableBytes: Int64 = 0
}

/// Changing the virtual size of a fixed, dynamic or differencing disk in place.
///
/// Every step is ordered so that a process killed between any two writes leaves a disk that
/// opens with the old size and content or the new (with at most a warning: trailing bytes after
/// a fixed disk's data, a BAT longer than the size needs, a footer copy that differs).
///
/// - Fixed, growing: the old footer is written at the new end (the disk still reads as the old
///   size: the bytes between are trailing bytes), then what lay past the old size (the old
///   footer) is made zeros (a hole), then the new footer replaces the old one at the new end.
/// - Fixed, shrinking: the new footer goes over the old one at the end (the bytes past the new
///   size, all zeros, become trailing bytes), then at the new end, then the file is truncated.
/// - Dynamic and differencing, growing: blocks in the way of a larger BAT, and a partial last
///   block, are copied to the end of the file one by one (data and bitmap, then BAT entry, then
///   the footer at the new end and its copy at 0, as the write API allocates); locator paths in
///   the way likewise (path, footer, then the header pointing at it); then the BAT's new entries
///   are written (unallocated), then the header with the larger table, then the footer with the
///   new size at the end and its copy at 0.
/// - Dynamic and differencing, shrinking: the footers with the new size first, then the BAT
///   entries past the new end are cleared and the header's table shortened. The dropped blocks
///   stay in the file, unreferenced, until compact reclaims their space
///   (``ResizeSummary/unreachableBytes`` says how much).
///
/// Shrinking is refused when a non-zero byte lies past the new end (through the chain for a
/// differencing disk). A differencing disk may grow (as Hyper-V allows): bytes past a smaller
/// parent's end read as zeros. Growing it is refused when its parent holds non-zero data past
/// the child's old end, which growing would bring into view instead of zeros.
public enum DiskResize {
    /// Resizes the disk at `path` to `newSize` bytes.
    ///
    /// - Throws: ``VHDError``: the size is not one we create (whole sectors, at most 2040 GiB),
    ///   the file is not a VHD, shrinking would cut off data, a read or write fails.
    public static func resize(at path: FilePath, to newSize: UInt64, options: InPlaceOptions = InPlaceOptions()) throws(VHDError) -> ResizeSummary {
        var diskOptions = options.disk
        diskOptions.writable = true
        return try Disk.withChain(at: path, options: diskOptions) { (disk) throws(VHDError) in
            guard let layout = disk.layers[0].layout else {
                throw VHDError(path: path.string, .refused(operation: "resize", reason: "it is a raw image, not a VHD (resize a raw image with truncate)"))
            }
            do throws(VHDError) {
                try NewDiskMetadata.validate(size: newSize)
            } catch {
                throw VHDError(path: path.string, error.kind)
            }
            let oldSize = layout.virtualSize
            let file = InPlaceFile(disk.layers[0].file, options: options)
            var summary = ResizeSummary(
                diskType: layout.diskType, oldSize: oldSize, newSize: newSize, oldFileSize: layout.fileSize,
                newFileSize: layout.fileSize, movedBlocks: 0, movedLocators: 0)
            let finishing = newSize == oldSize ? try unfinished(layout, file: file) : false
            guard newSize != oldSize || finishing else { return summary }
            if newSize < oldSize { try DiskConversion.refuseLosingData(disk, newSize: newSize) }
            switch layout.diskType {
            case .fixed:
                try resizeFixed(layout, file: file, to: newSize)
            case .dynamic, .differencing:
                if newSize > oldSize && disk.layers.count > 1, let offset = try disk.holdsNonZero(in: oldSize..<newSize, fromLayer: 1) {
                    throw VHDError(path: path.string, .refused(operation: "grow it", reason:
                        "its parent \(disk.layers[1].file.name) holds data at offset \(offset), past the child's end (\(oldSize) bytes), which growing would show instead of zeros"))
                }
                var resizer = try DynamicResizer(layout: layout, file: file)
                if newSize > oldSize { try resizer.grow(to: newSize) } else { try resizer.shrink(to: newSize) }
                summary.movedBlocks = resizer.movedBlocks
                summary.movedLocators = resizer.movedLocators
                summary.unreachableBytes = resizer.unreachableBytes
            }
            summary.newFileSize = try file.currentSize()
            return summary
        }
    }

    /// Whether a disk of the size asked still shows an interrupted resize: a fixed disk with
    /// trailing bytes that are all zeros (a shrink stopped before the truncation), a dynamic
    /// disk whose footer copy differs or whose BAT is longer than its size needs.
    static func unfinished(_ layout: VHDLayout, file: InPlaceFile) throws(VHDError) -> Bool {
        guard let dynamic = layout.dynamic else {
            // A shrink stopped before truncating may have written the footer at its new place.
            var trailing = Int64(layout.virtualSize)..<layout.footerOffset
            guard !trailing.isEmpty else { return false }
            if trailing.count >= Footer.size, try file.read(count: Footer.size, at: trailing.lowerBound) == layout.footer.serialized() {
                trailing = (trailing.lowerBound + Int64(Footer.size))..<trailing.upperBound
            }
            for stored in try file.file.storedRanges(in: trailing) {
                var position = stored.lowerBound
                while position < stored.upperBound {
                    let count = Int(min(1 << 20, stored.upperBound - position))
                    guard try file.read(count: count, at: position).withUnsafeBytes({ ZeroDetection.isZero($0) }) else { return false }
                    position += Int64(count)
                }
            }
            return true
        }
        return unfinished(layout, dynamic: dynamic)
    }

    /// Whether a dynamic or differencing disk shows a resize stopped before its end: a footer
    /// copy at 0 that differs from the footer at the end (a grow or shrink stopped between the
    /// two footer writes), or a BAT longer than its size needs (a shrink stopped before the
    /// header, a grow before its new footer).
    static func unfinished(_ layout: VHDLayout, dynamic: DynamicLayout) -> Bool {
        layout.footerCopy != layout.footer || Int(dynamic.header.maxTableEntries) > dynamic.table.entries.count
    }

    /// `footer` with a new size (current and original: libvhdi 20210425 reads the original
    /// size as the disk's size) and the geometry rule's geometry for it.
    static func resized(_ footer: Footer, to size: UInt64) -> Footer {
        var result = footer
        result.currentSize = size
        result.originalSize = size
        result.geometry = NewDiskMetadata.geometry(forSizeInBytes: size)
        return result.withComputedChecksum()
    }

    static func resizeFixed(_ layout: VHDLayout, file: InPlaceFile, to newSize: UInt64) throws(VHDError) {
        let oldSize = layout.virtualSize
        let newFooter = resized(layout.footer, to: newSize).serialized()
        if newSize > oldSize {
            // 1. The old footer at the new end: still the old size, with trailing bytes.
            try file.write(layout.footer.serialized(), at: Int64(newSize))
            // 2. What lay past the old size (the old footer) reads as zeros.
            try file.zero(Int64(oldSize)..<Int64(newSize))
            // 3. The new size.
            try file.write(newFooter, at: Int64(newSize))
        } else {
            // 1. The new size at the old end: the zeros past it become trailing bytes.
            try file.write(newFooter, at: layout.footerOffset)
            // 2. The footer at the new end, then the file cut after it.
            try file.write(newFooter, at: Int64(newSize))
        }
        try file.truncate(to: Int64(newSize) + Int64(Footer.size))
    }
}

/// The steps of resizing a dynamic or differencing disk.
struct DynamicResizer {
    let layout: VHDLayout
    let dynamic: DynamicLayout
    let file: InPlaceFile
    var header: DynamicHeader
    /// The BAT entries the old size uses, as they are now.
    var entries: [UInt32]
    /// Where the footer is: the end of the data area.
    var end: Int64
    var movedBlocks = 0
    var movedLocators = 0
    /// Bytes of the file no longer used: see ``ResizeSummary/unreachableBytes``.
    var unreachableBytes: Int64 = 0
    /// Where the table lies once grown (empty when it does not grow): space it takes from moved
    /// blocks and paths is used again.
    var grownTable: Range<Int64> = 0..<0

    var blockSize: Int64 { Int64(dynamic.blockSize) }
    var bitmapSize: Int64 { Int64(dynamic.sectorBitmapSize) }
    var oldFooter: [UInt8] { layout.footer.serialized() }

    init(layout: VHDLayout, file: InPlaceFile) throws(VHDError) {
        self.layout = layout
        dynamic = layout.dynamic!
        self.file = file
        header = dynamic.header
        entries = dynamic.table.entries
        end = layout.footerLocation == .copyAtStart ? (layout.fileSize + 511) / 512 * 512 : layout.footerOffset
        // Every later step relies on the copy at 0 standing in while the end footer is overwritten.
        if layout.footerCopy != layout.footer { try file.write(oldFooter, at: 0) }
    }

    mutating func grow(to newSize: UInt64) throws(VHDError) {
        let oldSize = layout.virtualSize
        let oldCount = entries.count
        let newCount = Int((newSize + UInt64(blockSize) - 1) / UInt64(blockSize))
        let tableOffset = Int64(header.tableOffset)
        let declared = Int(header.maxTableEntries)
        let tableGrows = newCount > declared
        var next = end  // where the next thing moved goes
        var toMove: Set<Int> = []
        var locatorsToMove: [LocatedParentPath] = []
        if tableGrows {
            let newTableEnd = tableOffset + Int64(BlockAllocationTable.sizeInBytes(entryCount: newCount))
            let room = (tableOffset + Int64(declared) * 4)..<newTableEnd
            let headerRange = dynamic.headerOffset..<(dynamic.headerOffset + Int64(DynamicHeader.size))
            guard !headerRange.overlaps(room), !(0..<Int64(Footer.size)).overlaps(room) else {
                throw VHDError(path: file.name, .refused(operation: "grow it", reason:
                    "the dynamic header follows the block allocation table, which therefore cannot grow"))
            }
            for (index, entry) in entries.enumerated() where entry != BlockAllocationTable.unallocated {
                let start = Int64(entry) * 512
                let extent = bitmapSize + min(blockSize, Int64(oldSize) - Int64(index) * blockSize)
                if (start..<(start + extent)).overlaps(room) { toMove.insert(index) }
            }
            for located in dynamic.locators where located.locator.platformDataLength > 0 {
                let start = Int64(located.locator.platformDataOffset)
                let length = (Int64(located.locator.platformDataLength) + 511) / 512 * 512
                if (start..<(start + length)).overlaps(room) { locatorsToMove.append(located) }
            }
            next = max(next, (newTableEnd + 511) / 512 * 512)
            grownTable = tableOffset..<newTableEnd
        }
        // A partial last block: its part past the old end must read as zeros once inside.
        if oldSize % UInt64(blockSize) != 0 && entries[oldCount - 1] != BlockAllocationTable.unallocated {
            toMove.insert(oldCount - 1)
        }
        var footerAt = end
        for index in toMove.sorted() {
            let visible = min(blockSize, Int64(oldSize) - Int64(index) * blockSize)
            footerAt = try move(block: index, visibleBytes: visible, to: &next)
        }
        for located in locatorsToMove {
            footerAt = try move(locator: located, to: &next)
        }
        if footerAt != next {
            // The table grows over the old footer: the footer goes past the new table first.
            try file.write(oldFooter, at: next)
        }
        // The new entries (unallocated), then the header declaring them.
        let table = BlockAllocationTable(entries: entries + [UInt32](repeating: BlockAllocationTable.unallocated, count: newCount - oldCount))
        if tableGrows {
            try file.write(table.serialized(), at: tableOffset)
            header.maxTableEntries = UInt32(newCount)
            try file.write(header.withComputedChecksum().serialized(), at: dynamic.headerOffset)
        } else if newCount > oldCount {
            try file.write(Array(table.serialized()[(4 * oldCount)..<(4 * newCount)]), at: tableOffset + Int64(4 * oldCount))
        }
        // The new size.
        let footer = DiskResize.resized(layout.footer, to: newSize).serialized()
        try file.write(footer, at: next)
        try file.write(footer, at: 0)
        try file.truncate(to: next + Int64(Footer.size))
    }

    mutating func shrink(to newSize: UInt64) throws(VHDError) {
        let oldCount = entries.count
        let newCount = Int((newSize + UInt64(blockSize) - 1) / UInt64(blockSize))
        let footer = DiskResize.resized(layout.footer, to: newSize).serialized()
        try file.write(footer, at: end)
        try file.write(footer, at: 0)
        guard newCount < Int(header.maxTableEntries) else { return }
        if newCount < oldCount {
            unreachableBytes += Int64(entries[newCount...].count(where: { $0 != BlockAllocationTable.unallocated })) * (bitmapSize + blockSize)
            let tableOffset = Int64(header.tableOffset)
            try file.write([UInt8](repeating: 0xFF, count: 4 * (oldCount - newCount)), at: tableOffset + Int64(4 * newCount))
        }
        header.maxTableEntries = UInt32(newCount)
        try file.write(header.withComputedChecksum().serialized(), at: dynamic.headerOffset)
    }

    /// Copies block `index` (its first `visibleBytes` of data; bitmap bits past them cleared)
    /// to the end of the data area, then points its BAT entry there, then writes the footer
    /// after it and the copy at 0. Returns where that footer is.
    mutating func move(block index: Int, visibleBytes: Int64, to next: inout Int64) throws(VHDError) -> Int64 {
        let from = Int64(entries[index]) * 512
        var bitmap = try file.read(count: Int(bitmapSize), at: from)
        let firstHidden = Int((visibleBytes + 511) / 512)
        for sector in firstHidden..<Int(blockSize / 512) { bitmap[sector >> 3] &= ~(0x80 >> UInt8(sector & 7)) }
        let to = (next + bitmapSize + 4095) / 4096 * 4096 - bitmapSize
        guard to / 512 < Int64(BlockAllocationTable.unallocated) else {
            throw VHDError(path: file.name, .notWritable(reason: "a moved block would start past 2 TiB of file, which BAT entries cannot address"))
        }
        // 1. Bitmap and data; all-zero pieces stay holes of the new space.
        try file.write(bitmap, at: to)
        let chunk: Int64 = 1 << 20
        var done: Int64 = 0
        while done < visibleBytes {
            let count = Int(min(chunk, visibleBytes - done))
            let bytes = try file.read(count: count, at: from + bitmapSize + done)
            if !bytes.allSatisfy({ $0 == 0 }) { try file.write(bytes, at: to + bitmapSize + done) }
            done += Int64(count)
        }
        // 2. The BAT entry.
        let entry = UInt32(to / 512)
        try file.write(withUnsafeBytes(of: entry.bigEndian) { Array($0) }, at: Int64(header.tableOffset) + Int64(index) * 4)
        entries[index] = entry
        unreachableBytes += leftBehind(from..<(from + bitmapSize + blockSize))
        // 3. The footer after it, and the copy at 0.
        next = to + bitmapSize + blockSize
        try file.write(oldFooter, at: next)
        try file.write(oldFooter, at: 0)
        movedBlocks += 1
        return next
    }

    /// Copies a locator's path to the end of the data area, writes the footer after it, then
    /// the header pointing at the copy. Returns where the footer is.
    mutating func move(locator located: LocatedParentPath, to next: inout Int64) throws(VHDError) -> Int64 {
        let locator = located.locator
        let bytes = try file.read(count: Int(locator.platformDataLength), at: Int64(locator.platformDataOffset))
        let space = max(512, (Int64(bytes.count) + 511) / 512 * 512)
        let at = next
        try file.write(bytes, at: at)
        next = at + space
        try file.write(oldFooter, at: next)
        header.parentLocators[located.index].platformDataOffset = UInt64(at)
        header.parentLocators[located.index].platformDataSpace = UInt32(space)
        try file.write(header.withComputedChecksum().serialized(), at: dynamic.headerOffset)
        let oldStart = Int64(locator.platformDataOffset)
        unreachableBytes += leftBehind(oldStart..<(oldStart + (Int64(bytes.count) + 511) / 512 * 512))
        movedLocators += 1
        return next
    }

    /// The bytes of `range`, which something moved away from, that the grown table does not use.
    func leftBehind(_ range: Range<Int64>) -> Int64 {
        Int64(range.count - range.clamped(to: grownTable).count)
    }
}
