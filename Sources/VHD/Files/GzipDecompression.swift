import CZlib
import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Gzip-compressed images: recognized by their magic bytes and decompressed with zlib into a
/// sparse temporary file, which is then opened like any image.
///
/// A VHD needs random access (its BAT comes first, its footer last), so the whole stream is
/// decompressed once; all-zero runs become holes, so the temporary file takes the space of the
/// data, not of the virtual size. The file is unlinked as soon as it is created: nothing is
/// left behind, whatever happens.
package enum GzipDecompression {
    /// The first two bytes of every gzip member.
    package static let magic: [UInt8] = [0x1F, 0x8B]

    /// Whether `source` starts with the gzip magic bytes.
    package static func isCompressed(_ source: some ByteSource) throws(VHDError) -> Bool {
        guard source.sizeInBytes >= 2 else { return false }
        return try source.bytes(at: 0, count: 2) == magic
    }

    /// The folder for decompressed copies: `$TMPDIR`, else /tmp.
    static var temporaryFolder: FilePath {
        FilePath(getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp")
    }

    /// The decompressed content of the gzip-compressed `source`, as an anonymous temporary
    /// file (in ``temporaryFolder``) named `path` in messages; the caller closes it.
    ///
    /// - Parameter maximumSize: the most bytes the content may hold; nil sets no limit.
    /// - Throws: ``VHDError`` if the data is corrupt or truncated, holds more than
    ///   `maximumSize` bytes, or on an I/O error.
    static func decompressedCopy(of source: HostFile, path: FilePath, maximumSize: Int64?) throws(VHDError) -> HostFile {
        let descriptor = try decompress(source, intoTemporaryFileIn: temporaryFolder, maximumSize: maximumSize)
        do throws(VHDError) {
            return try HostFile.adopting(descriptor, path: path)
        } catch {
            descriptor.closeQuietly()
            throw error
        }
    }

    /// Decompresses `source` into an anonymous temporary file in `folder` and returns its
    /// descriptor (the caller closes it).
    ///
    /// - Parameters:
    ///   - source: the gzip-compressed file.
    ///   - folder: where the anonymous file is made (its filesystem must offer O_TMPFILE).
    ///   - options: progress and cancellation, the chunk size.
    ///   - maximumSize: the most bytes the decompressed content may hold (a few KiB of gzip can
    ///     expand to gigabytes); nil sets no limit.
    /// - Throws: ``VHDError`` if the data is corrupt or truncated, holds more than
    ///   `maximumSize` bytes, or on an I/O error.
    package static func decompress(
        _ source: HostFile, intoTemporaryFileIn folder: FilePath, options: CopyOptions = CopyOptions(),
        maximumSize: Int64? = nil
    ) throws(VHDError) -> FileDescriptor {
            // O_TMPFILE (Linux): a file with no name, gone when closed.
            let temporaryFile = FileDescriptor.OpenOptions(rawValue: 0o2020_0000)
        let temporary = try SystemCalls.open(
            folder, .readWrite, options: [.closeOnExec, temporaryFile], permissions: .ownerReadWrite, call: "open(O_TMPFILE)")
        do throws(VHDError) {
            try inflate(source, into: temporary, options: options, maximumSize: maximumSize)
            return temporary
        } catch {
            temporary.closeQuietly()
            throw error
        }
    }

    static func inflate(_ source: HostFile, into output: FileDescriptor, options: CopyOptions, maximumSize: Int64?) throws(VHDError) {
        var stream = z_stream()
        guard inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw VHDError(path: source.name, .compressedDataCorrupt(reason: "zlib could not start"))
        }
        defer { inflateEnd(&stream) }
        let inputSize = 1 << 20
        let outputSize = options.chunkSize
        let input = UnsafeMutableRawBufferPointer.allocate(byteCount: inputSize, alignment: 4096)
        let outputBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: outputSize, alignment: 4096)
        defer {
            input.deallocate()
            outputBuffer.deallocate()
        }
        var inputOffset: Int64 = 0
        var outputOffset: Int64 = 0
        var status = Z_OK
        while true {
            if stream.avail_in == 0 {
                let count = Int(min(Int64(inputSize), source.sizeInBytes - inputOffset))
                if count == 0 { break }
                try source.read(into: UnsafeMutableRawBufferPointer(rebasing: input[0..<count]), at: inputOffset)
                inputOffset += Int64(count)
                stream.next_in = input.baseAddress!.assumingMemoryBound(to: Bytef.self)
                stream.avail_in = uInt(count)
            }
            if options.isCancelled?() == true { throw VHDError(path: source.name, .cancelled) }
            stream.next_out = outputBuffer.baseAddress!.assumingMemoryBound(to: Bytef.self)
            stream.avail_out = uInt(outputSize)
            status = CZlib.inflate(&stream, Z_NO_FLUSH)
            guard status == Z_OK || status == Z_STREAM_END || status == Z_BUF_ERROR else {
                let message = stream.msg.map { String(cString: $0) } ?? "zlib status \(status)"
                throw VHDError(path: source.name, .compressedDataCorrupt(reason: message))
            }
            let produced = outputSize - Int(stream.avail_out)
            if let maximumSize, outputOffset + Int64(produced) > maximumSize {
                throw VHDError(path: source.name, .refused(
                    operation: "decompress it", reason: "its content is larger than the limit of \(maximumSize) bytes"))
            }
            let chunk = UnsafeRawBufferPointer(rebasing: outputBuffer[0..<produced])
            try ZeroDetection.forEachNonZeroRun(in: chunk, granularity: 4096, alignedFrom: UInt64(outputOffset)) { (run) throws(VHDError) in
                _ = try SystemCalls.system("pwrite", source.name, offset: outputOffset) {
                    try output.writeAll(toAbsoluteOffset: outputOffset + Int64(run.lowerBound), UnsafeRawBufferPointer(rebasing: chunk[run]))
                }
            }
            outputOffset += Int64(produced)
            options.progress?(UInt64(inputOffset), UInt64(source.sizeInBytes))
            if status == Z_STREAM_END {
                // Concatenated members (gzip allows them) continue after a reset.
                if stream.avail_in == 0 && inputOffset == source.sizeInBytes { break }
                inflateReset(&stream)
            } else if status == Z_BUF_ERROR && stream.avail_in == 0 && inputOffset == source.sizeInBytes {
                break
            }
        }
        guard status == Z_STREAM_END else {
            throw VHDError(path: source.name, .compressedDataCorrupt(reason: "the stream ends early; is the file truncated?"))
        }
        try output.truncate(to: outputOffset, source.name)
    }
}
