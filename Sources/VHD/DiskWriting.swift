import SystemPackage
import VHDFormat

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Writing virtual bytes into the disk itself (layer 0) of a disk opened with
/// ``DiskOptions/writable``.
///
/// Raw and fixed disks are written in place. In a dynamic or differencing disk a write into an
/// allocated block writes the data, then sets its sector bitmap bits; a write into an
/// unallocated block allocates it where the footer was, in this order: the block's bitmap and
/// data, then its BAT entry, then the footer at the new end and its copy at 0. A process that
/// dies at any point leaves a disk that opens (the footer copy at 0 stands in for a missing end
/// footer) and reads either the old or the new data. Zeros written into an unallocated block of
/// a dynamic disk allocate nothing. Partial sectors are read, merged and written whole.
extension Disk {
    /// Writes `bytes` at virtual `offset`.
    ///
    /// - Throws: ``VHDError`` if the disk was opened read-only, the range is outside the disk,
    ///   or a read or write fails.
    public func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws(VHDError) {
        guard isWritable else { throw VHDError(path: layers[0].file.name, .notWritable(reason: "it was opened read-only")) }
        let (end, overflow) = offset.addingReportingOverflow(UInt64(bytes.count))
        guard !overflow, end <= virtualSize else {
            throw VHDError(path: layers[0].file.name, .outOfRange(offset: offset, length: bytes.count, virtualSize: virtualSize))
        }
        guard !bytes.isEmpty else { return }
        if offset % 512 == 0 && end % 512 == 0 {
            return try writeSectors(bytes, at: offset)
        }
        // Merge with the sectors' current content, through the chain.
        let start = offset / 512 * 512
        let alignedEnd = min((end + 511) / 512 * 512, virtualSize)
        var merged = try read(at: start, count: Int(alignedEnd - start))
        merged.withUnsafeMutableBytes { target in
            UnsafeMutableRawBufferPointer(rebasing: target[Int(offset - start)..<Int(end - start)]).copyMemory(from: bytes)
        }
        try merged.withMutableBytes { (buffer) throws(VHDError) in try writeSectors(UnsafeRawBufferPointer(buffer), at: start) }
    }

    /// Writes `bytes` (an array) at virtual `offset`.
    public func write(_ bytes: [UInt8], at offset: UInt64) throws(VHDError) {
        var copy = bytes
        try copy.withMutableBytes { (buffer) throws(VHDError) in try write(UnsafeRawBufferPointer(buffer), at: offset) }
    }

    /// Flushes the disk's file to stable storage.
    public func flush() throws(VHDError) {
        let file = layers[0].file
        guard fsync(file.descriptor.rawValue) == 0 else {
            throw VHDError(path: file.name, .io(call: "fsync", offset: nil, errno: Errno(rawValue: errno)))
        }
    }

    /// Writes whole sectors.
    private func writeSectors(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws(VHDError) {
        let layer = layers[0]
        guard let layout = layer.layout, let dynamic = layout.dynamic, let state = layer.blocks else {
            return try pwrite(layer.file, bytes, at: Int64(offset))  // raw and fixed: in place
        }
        let blockSize = UInt64(dynamic.blockSize)
        var position = offset
        while position < offset + UInt64(bytes.count) {
            let block = Int(position / blockSize)
            let blockStart = UInt64(block) * blockSize
            let pieceEnd = min(blockStart + blockSize, offset + UInt64(bytes.count))
            let piece = UnsafeRawBufferPointer(rebasing: bytes[Int(position - offset)..<Int(pieceEnd - offset)])
            let firstSector = Int((position - blockStart) / 512)
            let sectorCount = piece.count / 512
            if state.entries[block] == BlockAllocationTable.unallocated {
                if layout.diskType == .dynamic && ZeroDetection.isZero(piece) {
                    position = pieceEnd
                    continue  // zeros where the disk already reads zeros
                }
                try allocate(block, layout: layout, dynamic: dynamic, state: state, piece: piece, firstSector: firstSector)
            } else {
                let bitmapOffset = Int64(state.entries[block]) * 512
                try pwrite(layer.file, piece, at: bitmapOffset + Int64(dynamic.sectorBitmapSize) + Int64(position - blockStart))
                try setBits(block, bitmapOffset: bitmapOffset, sectors: firstSector..<(firstSector + sectorCount), state: state)
            }
            position = pieceEnd
        }
    }

    /// Allocates `block` at the end of the data area and writes `piece` into it.
    private func allocate(
        _ block: Int, layout: VHDLayout, dynamic: DynamicLayout, state: BlockState, piece: UnsafeRawBufferPointer,
        firstSector: Int
    ) throws(VHDError) {
        let file = layers[0].file
        let bitmapSize = dynamic.sectorBitmapSize
        // Where the footer was, moved so that the block's data is 4 KiB-aligned.
        let bitmapOffset = (state.dataEnd + Int64(bitmapSize) + 4095) / 4096 * 4096 - Int64(bitmapSize)
        guard bitmapOffset / 512 < Int64(BlockAllocationTable.unallocated) else {
            throw VHDError(path: file.name, .notWritable(reason: "a new block would start past 2 TiB of file, which BAT entries cannot address"))
        }
        var bitmap = [UInt8](repeating: 0, count: bitmapSize)
        for sector in firstSector..<(firstSector + piece.count / 512) { bitmap[sector >> 3] |= 0x80 >> UInt8(sector & 7) }
        let dataEnd = bitmapOffset + Int64(bitmapSize) + Int64(dynamic.blockSize)
        // 1. Bitmap and data (the rest of the block is a hole: zeros).
        try pwrite(file, bitmap, at: bitmapOffset)
        try pwrite(file, piece, at: bitmapOffset + Int64(bitmapSize) + Int64(firstSector) * 512)
        // 2. The BAT entry.
        let entry = UInt32(bitmapOffset / 512)
        try pwrite(file, withUnsafeBytes(of: entry.bigEndian) { Array($0) }, at: Int64(dynamic.header.tableOffset) + Int64(block) * 4)
        state.entries[block] = entry
        state.bitmaps.invalidate(block)
        // 3. The footer at the new end, and its copy at 0.
        let footer = layout.footer.serialized()
        try pwrite(file, footer, at: dataEnd)
        try pwrite(file, footer, at: 0)
        state.dataEnd = dataEnd
    }

    /// Sets the bitmap bits of `sectors` in `block`, writing the bitmap only if it changes.
    private func setBits(_ block: Int, bitmapOffset: Int64, sectors: Range<Int>, state: BlockState) throws(VHDError) {
        let file = layers[0].file
        var bitmap = try state.bitmaps.withBitmap(of: block, load: { (buffer) throws(VHDError) in
            try file.read(into: buffer, at: bitmapOffset)
        }) { $0 }
        var changed = false
        for sector in sectors where !SectorBitmap.isSet(bitmap, sector: sector) {
            bitmap[sector >> 3] |= 0x80 >> UInt8(sector & 7)
            changed = true
        }
        guard changed else { return }
        try pwrite(file, bitmap, at: bitmapOffset)
        state.bitmaps.invalidate(block)
    }

    private func pwrite(_ file: HostFile, _ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(VHDError) {
        do {
            _ = try file.descriptor.writeAll(toAbsoluteOffset: offset, bytes)
        } catch {
            throw VHDError(path: file.name, .io(call: "pwrite", offset: offset, errno: error as? Errno ?? .ioError))
        }
    }

    private func pwrite(_ file: HostFile, _ bytes: [UInt8], at offset: Int64) throws(VHDError) {
        var copy = bytes
        try copy.withMutableBytes { (buffer) throws(VHDError) in try pwrite(file, UnsafeRawBufferPointer(buffer), at: offset) }
    }
}
