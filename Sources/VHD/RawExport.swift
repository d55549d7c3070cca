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
            try ZeroDetection.forEachNonZeroRun(in: chunk, granularity: options.zeroGranularity) { (run) throws(VHDError) in
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
            do {
                _ = try descriptor.writeAll(bytes)
            } catch {
                throw VHDError(path: name, .io(call: "write", offset: nil, errno: error as? Errno ?? .ioError))
            }
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

    /// Walks the extent map and calls `body` for each chunk of at most `options.chunkSize`
    /// bytes: with the bytes read for data, with nil for zeros. `body` returns the bytes it wrote.
    static func forEachChunk(
        of disk: Disk, in range: Range<UInt64>, options: CopyOptions, summary: inout CopySummary,
        _ body: (UnsafeRawBufferPointer?, UInt64, Int) throws(VHDError) -> UInt64
    ) throws(VHDError) {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: options.chunkSize, alignment: 4096)
        defer { buffer.deallocate() }
        var done: UInt64 = 0
        for extent in try disk.extents(in: range) {
            var position = extent.start
            while position < extent.end {
                if options.isCancelled?() == true { throw VHDError(path: disk.layers[0].file.name, .cancelled) }
                var length = Int(min(UInt64(options.chunkSize), extent.end - position))
                switch extent.source {
                case .zero:
                    // A zero extent in one step, however long (the body chunks it if it writes).
                    length = Int(extent.end - position)
                    summary.bytesWritten += try body(nil, position, length)
                case let .data(layer, hostOffset):
                    let chunk = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<length])
                    try disk.layers[layer].file.read(into: chunk, at: hostOffset + Int64(position - extent.start))
                    summary.bytesRead += UInt64(length)
                    summary.bytesWritten += try body(UnsafeRawBufferPointer(chunk), position, length)
                }
                position += UInt64(length)
                done += UInt64(length)
                options.progress?(done, UInt64(range.count))
            }
        }
    }
}
