import Foundation
import VHDFormat

/// A dynamic VHD built to have as many extents as the format allows: each allocated block's
/// sector bitmap alternates bits (0x55 in even blocks, 0xAA in odd ones), so the extent map
/// holds a data and a zero extent per sector, 4096 per 2 MiB block. The data areas are left
/// as holes (they read as zeros), so the file takes one page per block on the host: a
/// 2040 GiB disk with all its million blocks allocated takes about 4 GiB.
///
/// Layout: footer copy at 0, header at 512, BAT at 1536, then the blocks (bitmap, data) in
/// block order, then the footer. Benchmarks/make-fragmented-disk.py writes the same bytes.
package enum FragmentedDisk {
    /// Writes the disk at `path`: `blockCount` allocated blocks, spread evenly over a disk of
    /// `virtualSize` bytes. With `dataByte`, each block's data area is filled with it instead of
    /// left as a hole (the clear sectors then hold bytes that must read as zeros).
    package static func create(
        at path: String, virtualSize: UInt64, blockCount: Int, blockSize: UInt32 = 2 << 20, dataByte: UInt8? = nil
    ) throws {
        let entryCount = Int((virtualSize + UInt64(blockSize) - 1) / UInt64(blockSize))
        precondition(blockCount > 0 && blockCount <= entryCount)
        let tableOffset = 1536
        let bitmapSize = DynamicHeader.sectorBitmapSize(blockSize: blockSize)
        let firstBlock = (tableOffset + BlockAllocationTable.sizeInBytes(entryCount: entryCount) + 4095) / 4096 * 4096
        let blockStride = bitmapSize + Int(blockSize)
        var table = BlockAllocationTable(unallocatedCount: entryCount)
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard descriptor >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        defer { close(descriptor) }
        func write(_ bytes: [UInt8], at offset: Int) throws {
            let count = bytes.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, off_t(offset)) }
            guard count == bytes.count else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        }
        let even = [UInt8](repeating: 0x55, count: bitmapSize)
        let odd = [UInt8](repeating: 0xAA, count: bitmapSize)
        for index in 0..<blockCount {
            let blockIndex = index * entryCount / blockCount
            let bitmapOffset = firstBlock + index * blockStride
            table.entries[blockIndex] = UInt32(bitmapOffset / 512)
            try write(blockIndex % 2 == 0 ? even : odd, at: bitmapOffset)
            if let dataByte { try write([UInt8](repeating: dataByte, count: Int(blockSize)), at: bitmapOffset + bitmapSize) }
        }
        let footerOffset = firstBlock + blockCount * blockStride
        let header = DynamicHeader(tableOffset: UInt64(tableOffset), maxTableEntries: UInt32(entryCount), blockSize: blockSize)
        let footer = Footer(
            dataOffset: 512, timestamp: VHDTimestamp(rawValue: 0x2D24_BD00), creatorApplication: .vhdtool,
            creatorVersion: 0x0001_0000, creatorHostOS: .windows, originalSize: virtualSize, currentSize: virtualSize,
            geometry: DiskGeometry(forSizeInBytes: virtualSize), diskType: .dynamic,
            uniqueId: VHDUUID(high: 0x0123_4567_89AB_4CDE, low: 0x8123_4567_89AB_CDEF)
        ).withComputedChecksum().serialized()
        try write(footer, at: 0)
        try write(header.withComputedChecksum().serialized(), at: 512)
        try write(table.serialized(), at: tableOffset)
        try write(footer, at: footerOffset)
    }
}
