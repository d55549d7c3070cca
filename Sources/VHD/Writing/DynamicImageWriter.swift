import VHDFormat

/// Writes a new dynamic or differencing VHD into an ``OutputFile``: blocks first, each with one
/// write of its sector bitmap and data, then the metadata once at the end.
///
/// Layout: footer copy at 0, header at 512, BAT at 1536 (padded to a sector), parent locator
/// paths, then blocks placed so that each block's data starts 4 KiB-aligned in the file (its
/// 512-byte bitmap just before), then the footer. Blocks go in the order they are written.
package struct DynamicImageWriter {
    /// Where a differencing disk's parent is and who it is.
    package struct Parent: Sendable {
        /// The parent footer's unique ID (footer offset 68); the child stores it at header
        /// offset 40, and openers refuse a parent that does not carry it.
        package var uniqueId: VHDUUID
        /// The parent file's modification time; the child stores it at header offset 56.
        package var timestamp: VHDTimestamp
        /// The parent's absolute path, stored UTF-16LE in the W2ku locator (entry 0) and, until
        /// ``DynamicImageWriter/setParentName(_:)`` says otherwise, as the header's parent name.
        package var absolutePath: String
        /// The parent's path relative to the child's folder with Windows separators (e.g.
        /// `..\base.vhd`), stored UTF-16LE in the W2ru locator (entry 1).
        package var relativePath: String

        /// Describes a parent.
        ///
        /// - Parameters:
        ///   - uniqueId: the parent footer's unique ID.
        ///   - timestamp: the parent file's modification time.
        ///   - absolutePath: the parent's absolute path, for the W2ku locator.
        ///   - relativePath: the parent's path from the child's folder, for the W2ru locator.
        package init(uniqueId: VHDUUID, timestamp: VHDTimestamp, absolutePath: String, relativePath: String) {
            self.uniqueId = uniqueId
            self.timestamp = timestamp
            self.absolutePath = absolutePath
            self.relativePath = relativePath
        }
    }

    /// The file the disk is written into, at absolute offsets; the writer never commits or
    /// discards it.
    package let output: OutputFile
    /// The footer ``finish()`` writes at offset 0 and after the last block, checksum computed.
    package let footer: Footer
    /// The dynamic header ``finish()`` writes at offset 512 (its checksum computed then).
    package private(set) var header: DynamicHeader
    /// The table's entry count (blocks of the virtual size).
    private let entryCount: Int
    /// The blocks written, in order, each as (block index << 32) | its bitmap's sector. The
    /// table itself (2 MiB for a 1 TiB disk, nearly all unallocated) is only built in the file,
    /// 64 KiB at a time.
    private var allocations: [UInt64] = []
    private var locatorData: [(offset: Int64, bytes: [UInt8])] = []
    /// File offset where the next block's bitmap goes.
    private var nextBlockOffset: Int64

    /// Bytes of disk data per block (header offset 32): the size of the `data` that
    /// ``writeBlock(_:bitmap:data:)`` takes.
    package var blockSize: Int { Int(header.blockSize) }
    /// Bytes of sector bitmap in front of each block's data, one bit per sector padded to 512
    /// (512 for 2 MiB blocks): the size of the `bitmap` that ``writeBlock(_:bitmap:data:)`` takes.
    package var sectorBitmapSize: Int { header.sectorBitmapSizeInBytes }
    /// Blocks written so far.
    package var allocatedBlockCount: Int { allocations.count }

    /// Prepares a new disk of `size` bytes; nothing is written until blocks come.
    ///
    /// The footer gets a random UUID, the current time and the geometry of
    /// ``NewDiskMetadata/geometry(forSizeInBytes:)``.
    ///
    /// - Parameters:
    ///   - output: the new, empty file to write into.
    ///   - size: the virtual size in bytes: a whole number of sectors, more than zero, at most
    ///     ``NewDiskMetadata/maximumVirtualSize``.
    ///   - blockSize: bytes of disk data per block: a power of two from 512 KiB to 256 MiB;
    ///     2 MiB (`DynamicHeader.defaultBlockSize`) by default.
    ///   - parent: the parent of a differencing disk; nil makes a dynamic disk.
    /// - Throws: ``VHDError`` if the size or block size is not one we create.
    package init(output: OutputFile, size: UInt64, blockSize: UInt32 = DynamicHeader.defaultBlockSize, parent: Parent? = nil) throws(VHDError) {
        try NewDiskMetadata.validate(size: size)
        guard blockSize.nonzeroBitCount == 1, (512 << 10)...(256 << 20) ~= blockSize else {
            throw VHDError(path: output.destination.string, .invalidNewBlockSize(UInt64(blockSize)))
        }
        self.output = output
        footer = NewDiskMetadata.footer(type: parent == nil ? .dynamic : .differencing, size: size)
        let entryCount = Int((size + UInt64(blockSize) - 1) / UInt64(blockSize))
        self.entryCount = entryCount
        let tableOffset: Int64 = 1536
        header = DynamicHeader(tableOffset: UInt64(tableOffset), maxTableEntries: UInt32(entryCount), blockSize: blockSize)
        var position = tableOffset + Int64(BlockAllocationTable.sizeInBytes(entryCount: entryCount))
        if let parent {
            header.parentUniqueId = parent.uniqueId
            header.parentTimestamp = parent.timestamp
            header.setParentName(parent.absolutePath)
            // W2ku then W2ru, each in whole sectors; the space is stored in bytes, as Hyper-V does.
            for (index, (code, path)) in [(PlatformCode.w2ku, parent.absolutePath), (.w2ru, parent.relativePath)].enumerated() {
                let bytes = ParentLocator.encodeWindowsPath(path)
                let space = (bytes.count + 511) / 512 * 512
                header.parentLocators[index] = ParentLocator(
                    platformCode: code, platformDataSpace: UInt32(space), platformDataLength: UInt32(bytes.count),
                    platformDataOffset: UInt64(position))
                locatorData.append((position, bytes))
                position += Int64(space)
            }
        }
        let bitmapSize = Int64(DynamicHeader.sectorBitmapSize(blockSize: blockSize))
        nextBlockOffset = (position + bitmapSize + 4095) / 4096 * 4096 - bitmapSize
    }

    /// Prepares a copy of an existing disk's metadata, for compaction: `footer` as it is (the
    /// same UUID, sizes, geometry, creator and timestamp; its data offset set to 512), and
    /// `source`'s block size, parent UUID, timestamp, name and locator entries, each with its
    /// path bytes from `locatorData` (by entry index), laid out after the BAT in whole sectors.
    /// The sizes are not checked against what we create: the disk exists.
    ///
    /// - Parameters:
    ///   - output: the new, empty file to write into.
    ///   - footer: the existing disk's footer; the block count follows from its current size.
    ///   - source: the existing disk's dynamic header.
    ///   - paths: the stored path bytes of each non-empty locator entry, by entry index (0...7);
    ///     an entry missing here gets an empty path in 512 bytes of space.
    package init(output: OutputFile, preserving footer: Footer, header source: DynamicHeader, locatorData paths: [Int: [UInt8]]) {
        self.output = output
        var copiedFooter = footer
        copiedFooter.dataOffset = 512
        self.footer = copiedFooter.withComputedChecksum()
        let blockSize = source.blockSize
        let entryCount = Int((footer.currentSize + UInt64(blockSize) - 1) / UInt64(blockSize))
        self.entryCount = entryCount
        let tableOffset: Int64 = 1536
        header = source
        header.dataOffset = DynamicHeader.noDataOffset
        header.tableOffset = UInt64(tableOffset)
        header.maxTableEntries = UInt32(entryCount)
        var position = tableOffset + Int64(BlockAllocationTable.sizeInBytes(entryCount: entryCount))
        for (index, locator) in source.parentLocators.enumerated() where !locator.isEmpty {
            let bytes = paths[index] ?? []
            let space = max(512, (bytes.count + 511) / 512 * 512)
            header.parentLocators[index] = ParentLocator(
                platformCode: locator.platformCode, platformDataSpace: UInt32(space), platformDataLength: UInt32(bytes.count),
                reserved: locator.reserved, platformDataOffset: UInt64(position))
            self.locatorData.append((position, bytes))
            position += Int64(space)
        }
        let bitmapSize = Int64(DynamicHeader.sectorBitmapSize(blockSize: blockSize))
        nextBlockOffset = (position + bitmapSize + 4095) / 4096 * 4096 - bitmapSize
    }

    /// Sets the header's parent name (Hyper-V writes the parent's path; libvhdi looks for the
    /// part after the last backslash beside the child, so the file name serves every reader).
    ///
    /// - Parameter name: the name for header offset 64; only its first 256 UTF-16 code units
    ///   are kept.
    package mutating func setParentName(_ name: String) { header.setParentName(name) }

    /// Writes block `index`: its sector bitmap (``sectorBitmapSize`` bytes) and its data
    /// (``blockSize`` bytes). Only the parts of the data whose bitmap byte is non-zero are
    /// written (8 sectors, 4 KiB each, aligned in the file); the rest stays a hole of the host
    /// file, which reads as zeros.
    ///
    /// The block is placed after the previous one written, so blocks may come in any order;
    /// each block index may be written only once (``finish()`` traps on a second write).
    ///
    /// - Parameters:
    ///   - index: the block number, 0 up to (virtual size / ``blockSize``) rounded up, exclusive.
    ///   - bitmap: exactly ``sectorBitmapSize`` bytes; bit 7 of byte 0 is the block's first
    ///     sector.
    ///   - data: exactly ``blockSize`` bytes, the block's disk data.
    /// - Returns: the bytes written to the file: the bitmap plus the data runs written.
    /// - Throws: ``VHDError`` if a write fails.
    package mutating func writeBlock(_ index: Int, bitmap: UnsafeRawBufferPointer, data: UnsafeRawBufferPointer) throws(VHDError) -> UInt64 {
        precondition(bitmap.count == sectorBitmapSize && data.count == blockSize)
        let bitmapOffset = nextBlockOffset
        let dataOffset = bitmapOffset + Int64(sectorBitmapSize)
        try output.write(bitmap, at: bitmapOffset)
        var written = UInt64(bitmap.count)
        let granule = 8 * 512  // the data one bitmap byte covers
        var byte = 0
        while byte < bitmap.count {
            guard bitmap[byte] != 0 else {
                byte += 1
                continue
            }
            var end = byte + 1
            while end < bitmap.count && bitmap[end] != 0 { end += 1 }
            let run = (byte * granule)..<min(end * granule, data.count)
            try output.write(UnsafeRawBufferPointer(rebasing: data[run]), at: dataOffset + Int64(run.lowerBound))
            written += UInt64(run.count)
            byte = end
        }
        allocations.append(UInt64(index) << 32 | UInt64(UInt32(bitmapOffset / 512)))  // sizes we create keep it < 2^32
        // The next block's data 4 KiB-aligned too (the bitmap is 512 bytes for 2 MiB blocks).
        let blockEnd = dataOffset + Int64(data.count)
        nextBlockOffset = (blockEnd + Int64(sectorBitmapSize) + 4095) / 4096 * 4096 - Int64(sectorBitmapSize)
        return written
    }

    /// Writes the metadata: locator paths, BAT, header, footer copy at 0 and the footer at the
    /// end. The file then reads as a complete disk; committing it is the caller's business.
    ///
    /// - Throws: ``VHDError`` if a write or the final resize fails.
    package func finish() throws(VHDError) {
        for (offset, bytes) in locatorData { try output.write(bytes, at: offset) }
        let footerBytes = footer.serialized()
        let headerBytes = header.withComputedChecksum().serialized()
        let end = nextBlockOffset
        try writeTable()
        try output.write(headerBytes, at: 512)
        try output.write(footerBytes, at: 0)
        try output.write(footerBytes, at: end)
        try output.resize(to: end + Int64(Footer.size))
    }

    /// Writes the BAT: 64 KiB of unallocated entries at a time, the allocated ones patched in,
    /// then the sector padding (0xFF, as QEMU and Hyper-V leave it).
    private func writeTable() throws(VHDError) {
        let tableOffset = Int64(header.tableOffset)
        let sorted = allocations.sorted()  // by block index; already in order for conversions
        let chunkEntries = 16384
        var chunk = [UInt32](repeating: BlockAllocationTable.unallocated, count: chunkEntries)
        var nextAllocation = 0
        var first = 0
        while first < entryCount {
            let count = min(chunkEntries, entryCount - first)
            let patchedFrom = nextAllocation
            while nextAllocation < sorted.count, Int(sorted[nextAllocation] >> 32) < first + count {
                precondition(nextAllocation == 0 || sorted[nextAllocation] >> 32 != sorted[nextAllocation - 1] >> 32,
                             "block \(sorted[nextAllocation] >> 32) written twice")
                chunk[Int(sorted[nextAllocation] >> 32) - first] = UInt32(truncatingIfNeeded: sorted[nextAllocation]).bigEndian
                nextAllocation += 1
            }
            try chunk.span.extracting(0..<count).withUnsafeBytes { (bytes) throws(VHDError) in
                try output.write(bytes, at: tableOffset + Int64(first) * 4)
            }
            for allocation in sorted[patchedFrom..<nextAllocation] { chunk[Int(allocation >> 32) - first] = BlockAllocationTable.unallocated }
            first += count
        }
        let padding = BlockAllocationTable.sizeInBytes(entryCount: entryCount) - entryCount * 4
        if padding > 0 { try output.write([UInt8](repeating: 0xFF, count: padding), at: tableOffset + Int64(entryCount) * 4) }
    }
}
