import SystemPackage
import VHDFormat

/// What a compaction did.
public struct CompactSummary: Sendable, Equatable {
    public var oldFileSize: Int64
    public var newFileSize: Int64
    public var oldAllocatedBlocks: Int
    public var newAllocatedBlocks: Int
    /// Bytes the file shrank by (negative when it grew: blocks packed by another tool without
    /// 4 KiB alignment take a little more room in our layout).
    public var bytesReclaimed: Int64 { oldFileSize - newFileSize }
}

/// Dropping the all-zero blocks of a dynamic or differencing disk and closing the gaps, like
/// Optimize-VHD -Mode Full.
///
/// A compacted copy is written beside the disk (an ``OutputFile``) and renamed over it only when
/// complete, so an interrupted run leaves the disk as it was. The copy keeps the disk's type,
/// footer (UUID, sizes, geometry, creator, timestamp), block size, parent record (UUID,
/// timestamp, name) and locator paths byte for byte; blocks are laid out in block order with
/// their data 4 KiB-aligned. Its file permissions are the default of new files.
///
/// What stays: in a dynamic disk, only sectors holding a non-zero byte (bitmap bits of zero
/// sectors are cleared; a block with none is dropped). In a differencing disk, a sector stored
/// in the child (bit set) stays when it holds non-zero data, **or when it is zero and the parent
/// chain reads non-zero there** (the child's zeros hide the parent's data); a zero sector over
/// a parent that also reads zero is dropped. Sectors whose bit is clear stay the parent's.
public enum DiskCompaction {
    /// Compacts the disk at `path`.
    ///
    /// - Parameter sync: flush the copy and its folder before and after the rename.
    /// - Throws: ``VHDError``: the disk is fixed or raw (convert it to dynamic instead), a read
    ///   or write fails, or `copy.isCancelled` said stop.
    public static func compact(
        at path: FilePath, options: DiskOptions = DiskOptions(), sync: Bool = false, copy: CopyOptions = CopyOptions()
    ) throws(VHDError) -> CompactSummary {
        var readOptions = options
        readOptions.writable = false
        return try Disk.withChain(at: path, options: readOptions) { (disk) throws(VHDError) in
            let layer = disk.layers[0]
            guard let layout = layer.layout, let dynamic = layout.dynamic else {
                throw VHDError(path: path.string, .refused(operation: "compact it", reason:
                    "it is a \(layer.layout == nil ? "raw image" : "fixed disk"), which has no blocks to drop; convert it to a dynamic disk instead (vhdtool convert SRC DST --to dynamic)"))
            }
            var locatorData: [Int: [UInt8]] = [:]
            for located in dynamic.locators {
                var bytes = [UInt8](repeating: 0, count: Int(located.locator.platformDataLength))
                try bytes.withMutableBytes { (buffer) throws(VHDError) in
                    try layer.file.read(into: buffer, at: Int64(located.locator.platformDataOffset))
                }
                locatorData[located.index] = bytes
            }
            let output = try OutputFile.create(at: path, overwrite: true)
            do throws(VHDError) {
                var writer = DynamicImageWriter(output: output, preserving: layout.footer, header: dynamic.header, locatorData: locatorData)
                if layout.diskType == .differencing {
                    try compactDifferencing(disk, dynamic: dynamic, into: &writer, options: copy)
                } else {
                    _ = try DiskConversion.writeBlocks(of: disk, in: 0..<disk.virtualSize, into: &writer, options: copy)
                }
                try writer.finish()
                let newSize = try HostFile.adopting(output.descriptor, path: output.temporaryPath).sizeInBytes
                try output.commit(sync: sync)
                return CompactSummary(
                    oldFileSize: layout.fileSize, newFileSize: newSize, oldAllocatedBlocks: dynamic.allocatedBlockCount,
                    newAllocatedBlocks: writer.allocatedBlockCount)
            } catch {
                output.discard()
                throw error
            }
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
