import CZlib
import SystemPackage

/// Gzip-compressed output: an image written first into an anonymous temporary file, then
/// compressed with zlib (gzip wrapper, default level) into the destination. Holes of the
/// temporary file are fed to zlib as zeros without being read.
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
        let input = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 4096)
        let compressed = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 4096)
        defer {
            input.deallocate()
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
        var position: Int64 = 0
        let stored = try source.storedRanges(in: 0..<source.sizeInBytes)
        var storedIndex = 0
        while position < source.sizeInBytes {
            if options.isCancelled?() == true { throw VHDError(path: output.destination.string, .cancelled) }
            while storedIndex < stored.count && stored[storedIndex].upperBound <= position { storedIndex += 1 }
            let inData = storedIndex < stored.count && stored[storedIndex].contains(position)
            let limit = inData ? stored[storedIndex].upperBound
                : (storedIndex < stored.count ? stored[storedIndex].lowerBound : source.sizeInBytes)
            let count = Int(min(Int64(chunkSize), limit - position))
            let chunk = UnsafeMutableRawBufferPointer(rebasing: input[0..<count])
            if inData {
                try source.read(into: chunk, at: position)
            } else {
                chunk.initializeMemory(as: UInt8.self, repeating: 0)
            }
            try deflateChunk(UnsafeRawBufferPointer(chunk), finish: false)
            position += Int64(count)
            options.progress?(UInt64(position), UInt64(source.sizeInBytes))
        }
        try deflateChunk(UnsafeRawBufferPointer(start: nil, count: 0), finish: true)
        try output.resize(to: outputOffset)
    }
}
