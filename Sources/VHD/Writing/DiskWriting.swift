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
/// Raw and fixed disks are written in place. Dynamic and differencing disks are written so that
/// a process that dies between any two writes leaves a disk that opens and in which every block
/// reads wholly old or wholly new (dynamic), or every sector does (differencing):
///
/// - an unallocated block is allocated where the footer was: its bitmap and data first, then
///   the footer at the new end, then its BAT entry (the switch: one 4-byte write). A dynamic
///   disk's new block has every bitmap bit set (what is not written is a hole of the host file,
///   which reads as zeros, as qemu-img does), so later writes into it never change the bitmap;
/// - a dynamic block whose bitmap lacks bits for the sectors written (made by another writer,
///   or by our converter, which sets bits only for non-zero sectors) is moved once: its content
///   merged with the new bytes is written as a new block, then the footer, then the BAT entry;
/// - otherwise the data is written in place, one write per block; in a differencing disk new
///   sectors then get their bitmap bits (data first: a crash before the bits leaves the parent's
///   sectors showing).
///
/// Zeros written into an unallocated block of a dynamic disk allocate nothing. Partial sectors
/// are read, merged and written whole.
extension Disk {
    /// Writes `bytes` at virtual `offset`.
    ///
    /// A range that does not start and end on sector boundaries is merged with the current
    /// content of its sectors, read through the chain.
    ///
    /// - Parameters:
    ///   - bytes: the bytes to write; an empty buffer writes nothing.
    ///   - offset: the virtual byte offset of the first byte; the range must end at or before
    ///     the virtual size.
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

    /// Writes `bytes` (an array) at virtual `offset`; see ``write(_:at:)-(UnsafeRawBufferPointer,_)``.
    ///
    /// - Parameters:
    ///   - bytes: the bytes to write.
    ///   - offset: the virtual byte offset of the first byte.
    /// - Throws: ``VHDError`` as the buffer version does.
    public func write(_ bytes: [UInt8], at offset: UInt64) throws(VHDError) {
        var copy = bytes
        try copy.withMutableBytes { (buffer) throws(VHDError) in try write(UnsafeRawBufferPointer(buffer), at: offset) }
    }

    /// Flushes the disk's file (layer 0) to stable storage with `fsync`.
    ///
    /// - Throws: ``VHDError`` if `fsync` fails.
    public func flush() throws(VHDError) {
        let file = layers[0].file
        try file.descriptor.synchronize(file.name)
    }

    /// Writes whole sectors.
    private func writeSectors(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws(VHDError) {
        let layer = layers[0]
        guard let layout = layer.layout, let dynamic = layout.dynamic, let state = layer.blocks else {
            return try writeToFile(layer.file, bytes, at: Int64(offset))  // raw and fixed: in place
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
                let sectors = firstSector..<(firstSector + sectorCount)
                let bitmap = try state.bitmaps.withBitmap(of: block, load: { (buffer) throws(VHDError) in
                    try layer.file.read(into: buffer, at: bitmapOffset)
                }) { $0 }
                let missingBits = sectors.contains { !SectorBitmap.isSet(bitmap, sector: $0) }
                if missingBits && layout.diskType == .dynamic {
                    try relocate(block, bitmap: bitmap, layout: layout, dynamic: dynamic, state: state, piece: piece, firstSector: firstSector)
                } else {
                    try writeToFile(layer.file, piece, at: bitmapOffset + Int64(dynamic.sectorBitmapSize) + Int64(position - blockStart))
                    if missingBits { try setBits(block, bitmap: bitmap, bitmapOffset: bitmapOffset, sectors: sectors, state: state) }
                }
            }
            position = pieceEnd
        }
    }

    /// Allocates `block` at the end of the data area and writes `piece` into it.
    private func allocate(
        _ block: Int, layout: VHDLayout, dynamic: DynamicLayout, state: BlockState, piece: UnsafeRawBufferPointer,
        firstSector: Int
    ) throws(VHDError) {
        var bitmap = [UInt8](repeating: 0, count: dynamic.sectorBitmapSize)
        if layout.diskType == .dynamic {
            for sector in 0..<(Int(dynamic.blockSize) / 512) { bitmap[sector >> 3] |= 0x80 >> UInt8(sector & 7) }
        } else {
            for sector in firstSector..<(firstSector + piece.count / 512) { bitmap[sector >> 3] |= 0x80 >> UInt8(sector & 7) }
        }
        try placeNewBlock(block, bitmap: bitmap, layout: layout, dynamic: dynamic, state: state) { (dataOffset) throws(VHDError) in
            try writeToFile(layers[0].file, piece, at: dataOffset + Int64(firstSector) * 512)
        }
    }

    /// Moves dynamic `block`, whose bitmap lacks bits for some sectors of `piece`, to a new
    /// place with its content merged with `piece` and every bit set.
    private func relocate(
        _ block: Int, bitmap oldBitmap: [UInt8], layout: VHDLayout, dynamic: DynamicLayout, state: BlockState,
        piece: UnsafeRawBufferPointer, firstSector: Int
    ) throws(VHDError) {
        let file = layers[0].file
        let blockSize = Int(dynamic.blockSize)
        var content = [UInt8](repeating: 0, count: blockSize)
        let oldData = Int64(state.entries[block]) * 512 + Int64(dynamic.sectorBitmapSize)
        try content.withMutableBytes { (buffer) throws(VHDError) in
            // The sectors whose bits are set; clear ones read as zeros.
            var sector = 0
            while sector < blockSize / 512 {
                let run = SectorBitmap.runLength(oldBitmap, from: sector, limit: blockSize / 512)
                if SectorBitmap.isSet(oldBitmap, sector: sector) {
                    try file.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[(sector * 512)..<((sector + run) * 512)]), at: oldData + Int64(sector) * 512)
                }
                sector += run
            }
            UnsafeMutableRawBufferPointer(rebasing: buffer[(firstSector * 512)..<(firstSector * 512 + piece.count)]).copyMemory(from: piece)
        }
        let fullBitmap = [UInt8](repeating: 0xFF, count: blockSize / 512 / 8) + [UInt8](repeating: 0, count: dynamic.sectorBitmapSize - blockSize / 512 / 8)
        try placeNewBlock(block, bitmap: fullBitmap, layout: layout, dynamic: dynamic, state: state) { (dataOffset) throws(VHDError) in
            try content.withMutableBytes { (buffer) throws(VHDError) in
                let bytes = UnsafeRawBufferPointer(buffer)
                // Zero runs stay holes of the new block.
                try ZeroDetection.forEachNonZeroRun(in: bytes, granularity: 4096) { (run) throws(VHDError) in
                    try writeToFile(file, UnsafeRawBufferPointer(rebasing: bytes[run]), at: dataOffset + Int64(run.lowerBound))
                }
            }
        }
    }

    /// Writes a new block for `block` where the footer was: `bitmap`, then the data
    /// (`writeData` gets the data's file offset), then the footer at the new end, then the BAT
    /// entry. Until that last 4-byte write the disk reads as before.
    private func placeNewBlock(
        _ block: Int, bitmap: [UInt8], layout: VHDLayout, dynamic: DynamicLayout, state: BlockState,
        writeData: (Int64) throws(VHDError) -> Void
    ) throws(VHDError) {
        let file = layers[0].file
        let bitmapSize = dynamic.sectorBitmapSize
        // Where the footer was, moved so that the block's data is 4 KiB-aligned.
        let bitmapOffset = (state.dataEnd + Int64(bitmapSize) + 4095) / 4096 * 4096 - Int64(bitmapSize)
        guard bitmapOffset / 512 < Int64(BlockAllocationTable.unallocated) else {
            throw VHDError(path: file.name, .notWritable(reason: "a new block would start past 2 TiB of file, which BAT entries cannot address"))
        }
        let dataEnd = bitmapOffset + Int64(bitmapSize) + Int64(dynamic.blockSize)
        try writeToFile(file, bitmap, at: bitmapOffset)
        try writeData(bitmapOffset + Int64(bitmapSize))
        try writeToFile(file, layout.footer.serialized(), at: dataEnd)
        state.dataEnd = dataEnd
        let entry = UInt32(bitmapOffset / 512)
        try writeToFile(file, withUnsafeBytes(of: entry.bigEndian) { Array($0) }, at: Int64(dynamic.header.tableOffset) + Int64(block) * 4)
        state.entries[block] = entry
        state.bitmaps.invalidate(block)
    }

    /// Sets the bitmap bits of `sectors` in `block` (a differencing disk, after their data).
    private func setBits(_ block: Int, bitmap: [UInt8], bitmapOffset: Int64, sectors: Range<Int>, state: BlockState) throws(VHDError) {
        var bitmap = bitmap
        for sector in sectors { bitmap[sector >> 3] |= 0x80 >> UInt8(sector & 7) }
        try writeToFile(layers[0].file, bitmap, at: bitmapOffset)
        state.bitmaps.invalidate(block)
    }

    private func writeToFile(_ file: HostFile, _ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(VHDError) {
        _ = try SystemCalls.system("pwrite", file.name, offset: offset) { try file.descriptor.writeAll(toAbsoluteOffset: offset, bytes) }
    }

    private func writeToFile(_ file: HostFile, _ bytes: [UInt8], at offset: Int64) throws(VHDError) {
        var copy = bytes
        try copy.withMutableBytes { (buffer) throws(VHDError) in try writeToFile(file, UnsafeRawBufferPointer(buffer), at: offset) }
    }
}
