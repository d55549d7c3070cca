import VHDXFormat

/// The extent map of a VHDX layer, block by block through its BAT.
///
/// Payload states: not present, undefined, zero and unmapped read as zeros in a disk without a
/// parent and as the parent's bytes in a differencing disk (zero reads as zeros in both);
/// fully present blocks are stored in this file; partially present blocks (differencing only)
/// are decided per logical sector by the chunk's sector bitmap: a set bit is this file's
/// sector, a clear bit the parent's. Bit n of the bitmap (least significant bit first in each
/// byte) is logical sector n of the chunk.
extension Disk {
    func walkVHDX(
        _ range: Range<UInt64>, layer: DiskLayer, layout: VHDXLayout, index: Int, _ visit: (Extent) throws(VHDError) -> Void
    ) throws(VHDError) {
        let blockSize = UInt64(layout.blockSize)
        let hasParent = layout.fileParameters.hasParent
        var position = range.lowerBound
        while position < range.upperBound {
            let block = Int(position / blockSize)
            let blockStart = UInt64(block) * blockSize
            let entry = layout.payloadEntry(block)
            let state = entry.payloadState ?? .zero  // undefined states were refused when opening
            switch state {
            case .fullyPresent:
                // Consecutive blocks stored one after another merge into one extent later.
                let end = min(blockStart + blockSize, range.upperBound)
                let host = Int64(entry.fileOffset) + Int64(position - blockStart)
                try visit(Extent(start: position, length: end - position, source: .data(layer: index, hostOffset: host)))
                position = end
            case .partiallyPresent:
                let end = min(blockStart + blockSize, range.upperBound)
                try walkPartialBlock(position..<end, block: block, layer: layer, layout: layout, index: index, visit)
                position = end
            case .zero, .notPresent, .undefined, .unmapped:
                // The whole run of blocks read the same way at once: an empty disk is one step.
                let fromParent = hasParent && state != .zero
                var next = block + 1
                while UInt64(next) * blockSize < range.upperBound {
                    let nextState = layout.payloadEntry(next).payloadState ?? .zero
                    guard nextState != .fullyPresent, nextState != .partiallyPresent,
                          (hasParent && nextState != .zero) == fromParent else { break }
                    next += 1
                }
                let end = min(UInt64(next) * blockSize, range.upperBound)
                if fromParent {
                    try walk(position..<end, layer: index + 1, visit)
                } else {
                    try visit(Extent(start: position, length: end - position, source: .zero(layer: index)))
                }
                position = end
            }
        }
    }

    /// A partially present block: runs of sectors by their bitmap bits.
    private func walkPartialBlock(
        _ range: Range<UInt64>, block: Int, layer: DiskLayer, layout: VHDXLayout, index: Int, _ visit: (Extent) throws(VHDError) -> Void
    ) throws(VHDError) {
        let blockSize = UInt64(layout.blockSize)
        let sectorSize = UInt64(layout.logicalSectorSize)
        let blockStart = UInt64(block) * blockSize
        let sectorsPerBlock = Int(blockSize / sectorSize)
        // Opening checked that the chunk's bitmap block is present and inside the file.
        let bitmapEntry = layout.sectorBitmapEntry(forBlock: block)!
        let firstBit = (block % layout.geometry.chunkRatio) * sectorsPerBlock
        let bitmap = try layer.file.bytes(at: Int64(bitmapEntry.fileOffset) + Int64(firstBit / 8), count: sectorsPerBlock / 8)
        func isSet(_ sector: Int) -> Bool { bitmap[sector >> 3] & (1 << UInt8(sector & 7)) != 0 }
        let dataOffset = Int64(layout.payloadEntry(block).fileOffset)
        var position = range.lowerBound
        while position < range.upperBound {
            let sector = Int((position - blockStart) / sectorSize)
            let set = isSet(sector)
            var endSector = sector + 1
            while endSector < sectorsPerBlock && UInt64(endSector) * sectorSize + blockStart < range.upperBound && isSet(endSector) == set {
                endSector += 1
            }
            let end = min(blockStart + UInt64(endSector) * sectorSize, range.upperBound)
            if set {
                try visit(Extent(start: position, length: end - position, source: .data(layer: index, hostOffset: dataOffset + Int64(position - blockStart))))
            } else {
                try walk(position..<end, layer: index + 1, visit)
            }
            position = end
        }
    }
}
