import SystemPackage

/// The whole virtual disk as a raw image: into a file with holes where the disk reads zeros,
/// or into a stream with every byte.
///
/// Walks the extent map once; zero extents are never read; data extents are read in large
/// chunks and, for files, scanned for all-zero granules, which are left as holes.
public enum RawExport {
    /// Writes `disk` into `output` (a new, empty file): data extents only, zeros left as holes,
    /// and the file sized to the virtual size.
    ///
    /// - Throws: ``VHDError`` on a read or write failure or when cancelled.
    public static func write(_ disk: Disk, to output: OutputFile, options: CopyOptions = CopyOptions()) throws(VHDError) -> CopySummary {
        try output.resize(to: Int64(disk.virtualSize))
        return try writeData(of: disk, in: 0..<disk.virtualSize, to: output, options: options)
    }

    /// Writes the non-zero data of `range` at the same offsets into `output`, which already has
    /// its size; zeros stay holes.
    static func writeData(of disk: Disk, in range: Range<UInt64>, to output: OutputFile, options: CopyOptions) throws(VHDError) -> CopySummary {
        var summary = CopySummary(virtualSize: disk.virtualSize)
        try forEachChunk(of: disk, in: range, options: options, summary: &summary) { (chunk, virtualOffset, _) throws(VHDError) in
            guard let chunk else { return 0 }  // a zero extent: already a hole
            var written: UInt64 = 0
            try ZeroDetection.forEachNonZeroRun(in: chunk, granularity: options.zeroGranularity, alignedFrom: virtualOffset) { (run) throws(VHDError) in
                try output.write(UnsafeRawBufferPointer(rebasing: chunk[run]), at: Int64(virtualOffset) + Int64(run.lowerBound))
                written += UInt64(run.count)
            }
            return written
        }
        return summary
    }

    /// Streams every byte of `disk`, zeros included, to `descriptor` (a pipe or terminal).
    ///
    /// - Throws: ``VHDError`` on a read or write failure or when cancelled.
    public static func stream(_ disk: Disk, to descriptor: FileDescriptor, name: String, options: CopyOptions = CopyOptions()) throws(VHDError) -> CopySummary {
        var summary = CopySummary(virtualSize: disk.virtualSize)
        let zeros = UnsafeMutableRawBufferPointer.allocate(byteCount: options.chunkSize, alignment: 4096)
        zeros.initializeMemory(as: UInt8.self, repeating: 0)
        defer { zeros.deallocate() }
        func write(_ bytes: UnsafeRawBufferPointer) throws(VHDError) {
            _ = try SystemCalls.system("write", name) { try descriptor.writeAll(bytes) }
        }
        try forEachChunk(of: disk, in: 0..<disk.virtualSize, options: options, summary: &summary) { (chunk, _, length) throws(VHDError) in
            if let chunk {
                try write(chunk)
            } else {
                var left = length
                while left > 0 {
                    if options.isCancelled?() == true { throw VHDError(path: name, .cancelled) }
                    let count = min(left, zeros.count)
                    try write(UnsafeRawBufferPointer(rebasing: zeros[0..<count]))
                    left -= count
                }
            }
            return UInt64(length)
        }
        return summary
    }

    /// Walks the extent map and calls `body` for each piece, in order: data pieces of at most
    /// `options.chunkSize` bytes with their bytes (read ahead on a second thread), zero pieces
    /// whole with nil. `body` returns the bytes it wrote.
    static func forEachChunk(
        of disk: Disk, in range: Range<UInt64>, options: CopyOptions, summary: inout CopySummary,
        _ body: (UnsafeRawBufferPointer?, UInt64, Int) throws(VHDError) -> UInt64
    ) throws(VHDError) {
        var done: UInt64 = 0
        try ReadAhead.forEachPiece(
            of: disk, in: range, chunkSize: options.chunkSize, isCancelled: options.isCancelled
        ) { (piece, bytes) throws(VHDError) in
            let pieceRange = piece.range
            if let bytes { summary.bytesRead += UInt64(bytes.count) }
            summary.bytesWritten += try body(bytes, pieceRange.lowerBound, Int(pieceRange.count))
            done += UInt64(pieceRange.count)
            options.progress?(done, UInt64(range.count))
        }
    }
}
