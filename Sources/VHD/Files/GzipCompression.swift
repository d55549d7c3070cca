import CZlib
import SystemPackage

/// Gzip-compressed output: an image written first into an anonymous temporary file, then
/// compressed with zlib (gzip wrapper, default level) into the destination. The temporary file
/// is read through the copy's engine (``ReadAhead``, as a raw disk): read ahead on a second
/// thread, its holes fed to zlib as zeros without being read.
package enum GzipCompression {
    /// Compresses all of `source` into `output`.
    ///
    /// - Throws: ``VHDError`` on a read or write failure, or when cancelled.
    package static func compress(_ source: HostFile, into output: OutputFile, options: CopyOptions = CopyOptions()) throws(VHDError) {
        var stream = z_stream()
        guard deflateInit2_(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY,
                             ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw VHDError(path: output.destination.string, .compressedDataCorrupt(reason: "zlib could not start"))
        }
        defer { deflateEnd(&stream) }
        let chunkSize = options.chunkSize
        let zeros = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 4096)
        zeros.initializeMemory(as: UInt8.self, repeating: 0)
        let compressed = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 4096)
        defer {
            zeros.deallocate()
            compressed.deallocate()
        }
        var outputOffset: Int64 = 0
        func deflateChunk(_ bytes: UnsafeRawBufferPointer, finish: Bool) throws(VHDError) {
            stream.next_in = UnsafeMutablePointer(mutating: bytes.baseAddress?.assumingMemoryBound(to: Bytef.self))
            stream.avail_in = uInt(bytes.count)
            repeat {
                stream.next_out = compressed.baseAddress!.assumingMemoryBound(to: Bytef.self)
                stream.avail_out = uInt(chunkSize)
                let status = deflate(&stream, finish ? Z_FINISH : Z_NO_FLUSH)
                guard status != Z_STREAM_ERROR else {
                    throw VHDError(path: output.destination.string, .compressedDataCorrupt(reason: "zlib stream error"))
                }
                let produced = chunkSize - Int(stream.avail_out)
                try output.write(UnsafeRawBufferPointer(rebasing: compressed[0..<produced]), at: outputOffset)
                outputOffset += Int64(produced)
            } while stream.avail_out == 0
        }
        func checkCancelled() throws(VHDError) {
            if options.isCancelled?() == true { throw VHDError(path: output.destination.string, .cancelled) }
        }
        let size = UInt64(source.sizeInBytes)
        let disk = Disk(layers: [DiskLayer(DiskImage(raw: source))], chainWarnings: [], isWritable: false)
        try ReadAhead.forEachPiece(of: disk, in: 0..<size, chunkSize: chunkSize) { (piece, bytes) throws(VHDError) in
            try checkCancelled()
            if let bytes {
                try deflateChunk(bytes, finish: false)
            } else {
                var remaining = piece.range.count
                while remaining > 0 {
                    let count = min(chunkSize, remaining)
                    try deflateChunk(UnsafeRawBufferPointer(rebasing: zeros[0..<count]), finish: false)
                    remaining -= count
                    if remaining > 0 { try checkCancelled() }
                }
            }
            options.progress?(piece.range.upperBound, size)
        }
        try deflateChunk(UnsafeRawBufferPointer(start: nil, count: 0), finish: true)
        try output.resize(to: outputOffset)
    }
}

extension DiskImage {
    /// `file` read as a raw disk, without looking at its content: an image this library has
    /// just written (the uncompressed intermediate behind a .gz destination).
    init(raw file: HostFile) {
        self.file = file
        contents = .raw
    }
}
