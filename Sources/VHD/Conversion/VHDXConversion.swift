import SystemPackage
import VHDXFormat

/// Converting a disk into a new VHDX (fixed or dynamic), and creating empty VHDX disks and
/// differencing children.
///
/// The source's extent map is walked once, zero extents never read; each block is assembled
/// from the pieces read and its non-zero 64 KiB parts written once; the metadata is written at
/// the end (``VHDXImageWriter``).
public enum VHDXConversion {
    /// Converts `disk` into a VHDX in `output`.
    ///
    /// - Parameters:
    ///   - disk: the source, opened with its chain (a chain is flattened).
    ///   - fixed: every block allocated (LeaveBlockAllocated) or only those holding data.
    ///   - output: the new file, still at its temporary path; the caller commits or discards it.
    ///   - blockSize: the payload block size in bytes (1 MiB to 256 MiB, a power of two).
    ///   - logicalSectorSize: 512 or 4096 bytes, as the disk presents its sectors.
    ///   - options: progress (virtual bytes done of the total) and cancellation, the read chunk size.
    ///   - size: the new virtual size; nil keeps the source's. Shrinking is refused when a
    ///     non-zero byte lies past the new end.
    /// - Throws: ``VHDError`` on bad sizes, read or write failures, or cancellation.
    public static func convert(
        _ disk: Disk, fixed: Bool, output: OutputFile, size: UInt64? = nil, blockSize: UInt32 = VHDXImageWriter.defaultBlockSize,
        logicalSectorSize: UInt32 = 512, options: CopyOptions = CopyOptions()
    ) throws(VHDError) -> CopySummary {
        let newSize = size ?? disk.virtualSize
        if newSize < disk.virtualSize { try DiskConversion.refuseLosingData(disk, newSize: newSize) }
        var writer = try VHDXImageWriter(output: output, size: newSize, blockSize: blockSize, logicalSectorSize: logicalSectorSize, fixed: fixed)
        let range = 0..<min(newSize, disk.virtualSize)
        var summary = CopySummary(virtualSize: newSize)
        var assembler = try BlockAssembler(blockSize: Int(writer.blockSize), path: output.destination.string)
        /// The last block may be shorter than the others: the writer takes only its bytes.
        func write(_ block: Int, data: UnsafeRawBufferPointer, parts: [Range<Int>]) throws(VHDError) {
            let length = Int(min(UInt64(data.count), newSize - UInt64(block) * UInt64(data.count)))
            summary.bytesWritten += try writer.writeBlock(block, data: UnsafeRawBufferPointer(rebasing: data[0..<length]), parts: parts)
        }
        try ReadAhead.forEachPiece(
            of: disk, in: range, chunkSize: options.chunkSize, boundary: UInt64(writer.blockSize),
            isCancelled: options.isCancelled
        ) { (piece, bytes) throws(VHDError) in
            defer { options.progress?(piece.range.upperBound, UInt64(range.count)) }
            guard let bytes else { return }
            summary.bytesRead += UInt64(bytes.count)
            try assembler.add(bytes, at: piece.range.lowerBound, write)
        }
        try assembler.finish(write)
        try writer.finish()
        options.progress?(UInt64(range.count), UInt64(range.count))
        return summary
    }

    /// Creates an empty VHDX of `size` bytes in `output`.
    public static func create(
        size: UInt64, fixed: Bool, blockSize: UInt32 = VHDXImageWriter.defaultBlockSize, logicalSectorSize: UInt32 = 512, output: OutputFile
    ) throws(VHDError) {
        try VHDXImageWriter(output: output, size: size, blockSize: blockSize, logicalSectorSize: logicalSectorSize, fixed: fixed).finish()
    }

    /// Creates an empty differencing VHDX whose parent (a VHDX or a VHD) is `parentPath`: the
    /// parent's size, block size (a VHD parent's if 1 MiB or more, else 32 MiB) and logical
    /// sector size; its locator holds `relative_path` (from the child's folder, Windows
    /// separators), `absolute_win32_path` and `parent_linkage` (a VHDX parent's data write GUID,
    /// a VHD parent's footer UUID bytes).
    public static func createDifferencing(parentPath: FilePath, output: OutputFile, options: OpenOptions = OpenOptions()) throws(VHDError) {
        let parentFile = try HostFile.open(parentPath)
        defer { parentFile.close() }
        let parent = try DiskImage(reading: parentFile, options: options)
        let linkage: VHDXGUID
        var blockSize = VHDXImageWriter.defaultBlockSize
        var sectorSize: UInt32 = 512
        switch parent.contents {
        case let .vhdx(layout):
            linkage = layout.header.dataWriteGUID
            blockSize = layout.fileParameters.blockSize
            sectorSize = layout.logicalSectorSize
        case let .vhd(layout):
            linkage = VHDXChain.guid(layout.footer.uniqueId)
            if let vhdBlock = layout.dynamic?.header.blockSize, vhdBlock >= 1 << 20 { blockSize = vhdBlock }
        case .raw:
            throw VHDError(path: parentPath.string, .notAVHD(reason: "a differencing disk's parent must be a VHD or VHDX"))
        }
        let absolute = DiskCreation.absolutePath(parentPath)
        let childFolder = DiskCreation.absolutePath(output.destination).removingLastComponent()
        let record = VHDXImageWriter.Parent(
            linkage: linkage, relativePath: DiskCreation.relativeWindowsPath(from: childFolder, to: absolute),
            absolutePath: absolute.string)
        try VHDXImageWriter(output: output, size: parent.virtualSize, blockSize: blockSize, logicalSectorSize: sectorSize, parent: record).finish()
    }
}
