import SystemPackage
import VHDFormat

/// What a compaction did.
///
/// Two measures of the file, before and after: its size (st_size, what `ls -l` shows) and the
/// storage its filesystem allocates to it (st_blocks x 512, what `du` shows). They differ
/// because the compacted copy is sparse: it stores only the sectors it keeps, and the alignment
/// gaps of its layout (each block's data 4 KiB-aligned, the footer after the last block's
/// aligned end) are holes. So a disk with nothing to drop may come out with a slightly larger
/// size, by up to about 4 KiB per block (QEMU packs blocks unaligned), while taking less storage.
public struct CompactSummary: Sendable, Equatable {
    /// Size of the file in bytes before (st_size).
    public var oldFileSize: Int64
    /// Size of the compacted file in bytes (st_size).
    public var newFileSize: Int64
    /// Storage the filesystem allocated to the disk before, and to the compacted disk.
    public var oldAllocatedBytes: Int64
    /// Storage the filesystem allocates to the compacted disk, in bytes (st_blocks x 512).
    public var newAllocatedBytes: Int64
    /// Blocks allocated in the BAT before.
    public var oldAllocatedBlocks: Int
    /// Blocks allocated in the compacted disk's BAT.
    public var newAllocatedBlocks: Int
    /// The storage freed: ``oldAllocatedBytes`` - ``newAllocatedBytes``. Not the change of the
    /// file's size (which may grow a little, see above): what compacting gives back is storage.
    /// Negative only where the filesystem allocates more to the new file (one that compresses or
    /// deduplicates, say): that is then what it cost.
    public var bytesReclaimed: Int64 { oldAllocatedBytes - newAllocatedBytes }
}

/// Dropping the all-zero blocks of a dynamic or differencing disk and closing the gaps, like
/// Optimize-VHD -Mode Full.
///
/// A compacted copy is written beside the disk (an ``OutputFile``) and renamed over it only when
/// complete, so an interrupted run leaves the disk as it was. The copy keeps the disk's type,
/// footer (UUID, sizes, geometry, creator, timestamp), block size, parent record (UUID,
/// timestamp, name) and locator paths byte for byte; blocks are laid out in block order with
/// their data 4 KiB-aligned. It keeps the disk's owner, group, mode and extended attributes
/// (ACLs). The disk is opened for writing (a read-only disk is refused) and locked exclusive
/// (``ImageLock``) until the copy has replaced it.
///
/// What stays: in a dynamic disk, only sectors holding a non-zero byte (bitmap bits of zero
/// sectors are cleared; a block with none is dropped). In a differencing disk, a sector stored
/// in the child (bit set) stays when it holds non-zero data, **or when it is zero and the parent
/// chain reads non-zero there** (the child's zeros hide the parent's data); a zero sector over
/// a parent that also reads zero is dropped. Sectors whose bit is clear stay the parent's.
public enum DiskCompaction {
    /// Compacts the disk at `path`.
    ///
    /// - Parameters:
    ///   - path: the dynamic or differencing VHD to compact; it is replaced by its compacted copy
    ///     (its parents are only read).
    ///   - options: how the disk and its chain are opened (checksum policy, an explicit parent
    ///     path, locking, ...). ``DiskOptions/writable`` is ignored: the disk is always opened
    ///     for writing.
    ///   - sync: flush the copy and its folder before and after the rename.
    ///   - copy: progress and cancellation. Progress is reported in virtual bytes for a dynamic
    ///     disk, and once per allocated block as (block index + 1, block count) for a
    ///     differencing one. Cancelling discards the copy and leaves the disk as it was. The
    ///     chunk size (bytes read per call) is used for a dynamic disk only; the zero
    ///     granularity is not used (zeros are detected per 512-byte sector).
    /// - Throws: ``VHDError``: the disk is fixed or raw (convert it to dynamic instead), a read
    ///   or write fails, or `copy.isCancelled` said stop.
    public static func compact(
        at path: FilePath, options: DiskOptions = DiskOptions(), sync: Bool = false, copy: CopyOptions = CopyOptions()
    ) throws(VHDError) -> CompactSummary {
        // Opened for writing, as every in-place operation: a disk that cannot be written is
        // refused, and the disk is locked exclusive until the copy has replaced it.
        var writeOptions = options
        writeOptions.writable = true
        return try Disk.withChain(at: path, options: writeOptions) { (disk) throws(VHDError) in
            let layer = disk.layers[0]
            guard let layout = layer.layout, let dynamic = layout.dynamic else {
                throw VHDError(path: path.string, .refused(operation: "compact it", reason:
                    "it is a \(layer.layout == nil ? "raw image" : "fixed disk"), which has no blocks to drop; convert it to a dynamic disk instead"))
            }
            let oldAllocation = try HostFile.allocation(at: path)
            var locatorData: [Int: [UInt8]] = [:]
            for located in dynamic.locators {
                var bytes = [UInt8](repeating: 0, count: Int(located.locator.platformDataLength))
                try bytes.withMutableBytes { (buffer) throws(VHDError) in
                    try layer.file.read(into: buffer, at: Int64(located.locator.platformDataOffset))
                }
                locatorData[located.index] = bytes
            }
            let newAllocatedBlocks = try OutputFile.withCreated(at: path, overwrite: true, sync: sync) { output throws(VHDError) in
                try output.keepAttributes(of: layer.file)
                var writer = DynamicImageWriter(output: output, preserving: layout.footer, header: dynamic.header, locatorData: locatorData)
                if layout.diskType == .differencing {
                    try compactDifferencing(disk, dynamic: dynamic, into: &writer, options: copy)
                } else {
                    _ = try DiskConversion.writeBlocks(of: disk, in: 0..<disk.virtualSize, into: &writer, options: copy)
                }
                try writer.finish()
                return writer.allocatedBlockCount
            }
            // Measured once renamed and closed: some filesystems (XFS) count space they reserve
            // past the end of a file being written until it is closed.
            let newAllocation = try HostFile.allocation(at: path)
            return CompactSummary(
                oldFileSize: layout.fileSize, newFileSize: Int64(newAllocation.sizeInBytes),
                oldAllocatedBytes: Int64(clamping: oldAllocation.allocatedBytes), newAllocatedBytes: Int64(clamping: newAllocation.allocatedBytes),
                oldAllocatedBlocks: dynamic.allocatedBlockCount, newAllocatedBlocks: newAllocatedBlocks)
        }
    }

    /// Copies the blocks of a differencing disk's own layer, keeping the sectors that change
    /// what the disk reads (see ``DiskCompaction``).
    static func compactDifferencing(
        _ disk: Disk, dynamic: DynamicLayout, into writer: inout DynamicImageWriter, options: CopyOptions
    ) throws(VHDError) {
        let file = disk.layers[0].file
        let blockSize = dynamic.blockSize
        let bitmapSize = dynamic.sectorBitmapSize
        var bitmap = [UInt8](repeating: 0, count: bitmapSize)
        var kept = [UInt8](repeating: 0, count: bitmapSize)
        let data = UnsafeMutableRawBufferPointer.allocate(byteCount: blockSize, alignment: 4096)
        let parent = UnsafeMutableRawBufferPointer.allocate(byteCount: blockSize, alignment: 4096)
        defer {
            data.deallocate()
            parent.deallocate()
        }
        let entries = dynamic.table.entries
        for (index, entry) in entries.enumerated() where entry != BlockAllocationTable.unallocated {
            if options.isCancelled?() == true { throw VHDError(path: file.name, .cancelled) }
            defer { options.progress?(UInt64(index + 1), UInt64(entries.count)) }
            let bitmapOffset = Int64(entry) * 512
            try bitmap.withMutableBytes { (buffer) throws(VHDError) in try file.read(into: buffer, at: bitmapOffset) }
            let blockStart = UInt64(index) * UInt64(blockSize)
            let bytesInDisk = Int(min(UInt64(blockSize), disk.virtualSize - blockStart))
            data.initializeMemory(as: UInt8.self, repeating: 0)
            try file.read(into: UnsafeMutableRawBufferPointer(rebasing: data[0..<bytesInDisk]), at: bitmapOffset + Int64(bitmapSize))
            for byte in kept.indices { kept[byte] = 0 }
            var parentRead = false
            var any = false
            for sector in 0..<((bytesInDisk + 511) / 512) {
                let range = (sector * 512)..<min((sector + 1) * 512, bytesInDisk)
                let sectorBytes = UnsafeMutableRawBufferPointer(rebasing: data[range])
                guard SectorBitmap.isSet(bitmap, sector: sector) else {
                    sectorBytes.initializeMemory(as: UInt8.self, repeating: 0)  // the parent's: not stored
                    continue
                }
                var keep = !ZeroDetection.isZero(UnsafeRawBufferPointer(sectorBytes))
                if !keep {
                    // A zero sector stays only where it hides the parent's data.
                    if !parentRead {
                        try disk.read(into: UnsafeMutableRawBufferPointer(rebasing: parent[0..<bytesInDisk]), at: blockStart, fromLayer: 1)
                        parentRead = true
                    }
                    keep = !ZeroDetection.isZero(UnsafeRawBufferPointer(rebasing: parent[range]))
                }
                if keep {
                    kept[sector >> 3] |= 0x80 >> UInt8(sector & 7)
                    any = true
                }
            }
            guard any else { continue }
            try kept.withMutableBytes { (bits) throws(VHDError) in
                _ = try writer.writeBlock(index, bitmap: UnsafeRawBufferPointer(bits), data: UnsafeRawBufferPointer(data))
            }
        }
    }
}
