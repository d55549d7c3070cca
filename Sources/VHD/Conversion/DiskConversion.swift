import SystemPackage
import VHDFormat

/// The kinds of image a disk can be converted into.
public enum ImageKind: String, Sendable, CaseIterable {
    /// The virtual disk's bytes, sparse.
    case raw
    /// A fixed VHD: the bytes (sparse host file) and a footer.
    case fixed
    /// A dynamic VHD: only blocks holding non-zero data are allocated.
    case dynamic
}

/// Converting a disk into a new image: raw, fixed or dynamic, touching only the data present.
///
/// The source's extent map is walked once; zero extents are never read; data is read in large
/// chunks and scanned for zeros. A dynamic output allocates only blocks with a non-zero sector
/// and sets bitmap bits only for non-zero sectors; each block is one write; the BAT, header and
/// footers are written once at the end.
public enum DiskConversion {
    /// Converts `disk` into `output`.
    ///
    /// - Parameters:
    ///   - disk: the source, opened with its chain (a chain is flattened).
    ///   - kind: what to write: raw bytes, a fixed or a dynamic VHD.
    ///   - output: the new file, still at its temporary path; the caller commits or discards it.
    ///   - size: the new virtual size; nil keeps the source's. Growing adds zeros; shrinking is
    ///     refused when a non-zero byte lies past the new end.
    ///   - blockSize: the block size of a dynamic output, in bytes.
    ///   - options: progress (virtual bytes done of the total) and cancellation, the read chunk size.
    /// - Returns: the new virtual size and the bytes read and written.
    /// - Throws: ``VHDError`` on bad sizes, read or write failures, or cancellation.
    public static func convert(
        _ disk: Disk, to kind: ImageKind, output: OutputFile, size: UInt64? = nil,
        blockSize: UInt32 = DynamicHeader.defaultBlockSize, options: CopyOptions = CopyOptions()
    ) throws(VHDError) -> CopySummary {
        let newSize = size ?? disk.virtualSize
        if kind != .raw { try NewDiskMetadata.validate(size: newSize) }
        // A raw image has no format limit, but a file has: off_t is signed.
        guard newSize <= UInt64(Int64.max) else {
            throw VHDError(path: output.destination.string, .sizeBeyondFileLimit(newSize))
        }
        if newSize < disk.virtualSize { try refuseLosingData(disk, newSize: newSize) }
        let copied = 0..<min(newSize, disk.virtualSize)
        var summary: CopySummary
        switch kind {
        case .raw:
            try output.resize(to: Int64(newSize))
            summary = try RawExport.writeData(of: disk, in: copied, to: output, options: options)
        case .fixed:
            try output.resize(to: Int64(newSize) + Int64(Footer.size))
            summary = try RawExport.writeData(of: disk, in: copied, to: output, options: options)
            try output.write(NewDiskMetadata.footer(type: .fixed, size: newSize).serialized(), at: Int64(newSize))
        case .dynamic:
            var writer = try DynamicImageWriter(output: output, size: newSize, blockSize: blockSize)
            summary = try writeBlocks(of: disk, in: copied, into: &writer, options: options)
            try writer.finish()
        }
        summary.virtualSize = newSize
        return summary
    }

    /// Converts `disk` into a gzip-compressed image of `kind` in `output`: the image is made in
    /// an anonymous temporary file (O_TMPFILE, mode 0600) in `temporaryFolder`, which has no
    /// name to leave behind whatever stops the process, then compressed.
    public static func convertCompressed(
        _ disk: Disk, to kind: ImageKind, output: OutputFile, temporaryFolder: FilePath, size: UInt64? = nil,
        blockSize: UInt32 = DynamicHeader.defaultBlockSize, options: CopyOptions = CopyOptions()
    ) throws(VHDError) -> CopySummary {
        let intermediate = try OutputFile.createAnonymous(in: temporaryFolder, for: output.destination)
        defer { intermediate.discard() }
        let summary = try convert(disk, to: kind, output: intermediate, size: size, blockSize: blockSize, options: options)
        let file = try HostFile.adopting(intermediate.descriptor, path: intermediate.temporaryPath)
        try GzipCompression.compress(file, into: output, options: options)
        return summary
    }

    /// Throws unless every byte of `disk` from `newSize` on reads as zero.
    static func refuseLosingData(_ disk: Disk, newSize: UInt64) throws(VHDError) {
        try ReadAhead.forEachPiece(of: disk, in: newSize..<disk.virtualSize, chunkSize: 1 << 20) { (piece, bytes) throws(VHDError) in
            guard let bytes else { return }
            var offset = 0
            while offset < bytes.count {
                let count = min(4096, bytes.count - offset)
                if !ZeroDetection.isZero(UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + count)])) {
                    let first = bytes[offset..<(offset + count)].firstIndex { $0 != 0 } ?? offset
                    let dataAt = piece.range.lowerBound + UInt64(first)
                    throw VHDError(path: disk.layers[0].file.name, .shrinkWouldLoseData(newSize: newSize, dataAt: dataAt))
                }
                offset += count
            }
        }
    }

    /// Copies the data extents of `range` into a dynamic image, block by block (see
    /// ``BlockAssembler``): each block written once, with the bits of its non-zero sectors.
    static func writeBlocks(
        of disk: Disk, in range: Range<UInt64>, into writer: inout DynamicImageWriter, options: CopyOptions
    ) throws(VHDError) -> CopySummary {
        var summary = CopySummary(virtualSize: disk.virtualSize)
        let bitmap = UnsafeMutableRawBufferPointer.allocate(byteCount: writer.sectorBitmapSize, alignment: 512)
        defer { bitmap.deallocate() }
        var assembler = try BlockAssembler(blockSize: writer.blockSize, path: writer.output.destination.string)

        /// Writes `block` from `data`, whose bytes outside `parts` are zeros, with the bits of
        /// the non-zero sectors of `parts`; an all-zero block stays unallocated.
        func write(_ block: Int, data: UnsafeRawBufferPointer, parts: [Range<Int>]) throws(VHDError) {
            bitmap.initializeMemory(as: UInt8.self, repeating: 0)
            var anySet = false
            for part in parts {
                if SectorBitmap.mark(bitmap, nonZeroSectorsOf: data, overlapping: part) { anySet = true }
            }
            guard anySet else { return }
            summary.bytesWritten += try writer.writeBlock(block, bitmap: UnsafeRawBufferPointer(bitmap), data: data)
        }

        try ReadAhead.forEachPiece(
            of: disk, in: range, chunkSize: options.chunkSize, boundary: UInt64(writer.blockSize),
            isCancelled: options.isCancelled
        ) { (piece, bytes) throws(VHDError) in
            defer { options.progress?(piece.range.upperBound - range.lowerBound, UInt64(range.count)) }
            guard let bytes else { return }
            summary.bytesRead += UInt64(bytes.count)
            try assembler.add(bytes, at: piece.range.lowerBound, write)
        }
        try assembler.finish(write)
        options.progress?(UInt64(range.count), UInt64(range.count))
        return summary
    }
}
