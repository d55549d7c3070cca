import Foundation
import SystemPackage
import TestSupport
import Testing
import VHD

/// Gzip-compressed output: the intermediate file is read through the copy's engine (holes as
/// zeros, data read ahead), and gzip itself must find the stream whole and the content the file's.
struct GzipOutputTests {
    /// A sparse file whose data sits between holes, at offsets that are no multiple of the
    /// chunk size, compressed; `gzip -t` accepts it and `gzip -dc` gives the file back.
    @Test func compressedSparseFileDecompressesToItself() throws {
        guard let gzip = ExternalTool.find("gzip") else { return }
        let folder = try TemporaryFolder()
        let sourcePath = folder.file("sparse.raw")
        var generator = SystemRandomNumberGenerator()
        let source = try FileDescriptor.open(
            FilePath(sourcePath), .readWrite, options: [.create, .truncate], permissions: .ownerReadWrite)
        try source.closeAfter {
            try source.resize(to: 9 << 20)
            for offset in [0, 1_234_567, 5 << 20, (9 << 20) - 70_000] {
                let bytes = (0..<70_000).map { _ in UInt8.random(in: 1...255, using: &generator) }
                _ = try source.writeAll(toAbsoluteOffset: Int64(offset), bytes)
            }
        }
        let destination = FilePath(folder.file("sparse.raw.gz"))
        var progress: [UInt64] = []
        var options = CopyOptions()
        options.chunkSize = 1 << 20
        options.progress = { done, _ in progress.append(done) }
        let file = try HostFile.open(FilePath(sourcePath), lock: false)
        defer { file.close() }
        try OutputFile.withCreated(at: destination, overwrite: false, sync: false) { (output) throws(VHDError) in
            try GzipCompression.compress(file, into: output, options: options)
        }
        #expect(progress.last == 9 << 20)
        #expect(try ExternalTool.run(gzip, ["-t", destination.string]).status == 0)
        let restored = folder.file("restored.raw")
        #expect(try ExternalTool.run(gzip, ["-dc", destination.string], stdoutTo: restored).status == 0)
        #expect(FileManager.default.contentsEqual(atPath: restored, andPath: sourcePath))
    }
}
