import ArgumentParser
import CommandLineSupport
import SystemPackage
import VHD

extension VHDTool {
    struct Write: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "write",
            abstract: "Write bytes into a disk's virtual content, in place (like qemu-io's write).",
            discussion: """
                Reads INPUT (standard input by default) and writes it at --offset of the virtual disk: \
                a fixed disk in place, a dynamic or differencing disk allocating blocks as needed \
                (all-zero data into an unallocated block allocates nothing). The writes are ordered \
                so that a crash leaves every block with its old or its new content, and synced at the end.
                """)

        @Argument(help: "The disk to write into (raw, fixed, dynamic or differencing).")
        var image: String

        @Option(help: "Virtual offset in bytes (or with K, M, G, T).")
        var offset: ByteSize

        @Option(help: "The file whose bytes are written (default: standard input).")
        var input: String?

        @OptionGroup var opening: DiskOpeningOptions

        func run() throws {
            var options = opening.diskOptions
            options.writable = true
            let source: FileDescriptor
            if let input {
                source = try FileDescriptor.open(input, .readOnly)
            } else {
                source = .standardInput
            }
            defer { if input != nil { try? source.close() } }
            var position = offset.bytes
            try Disk.withOpened(at: FilePath(image), options: options) { disk in
                // Pieces end on block boundaries, so that each block gets one write call and
                // a crash leaves it old or new (see Disk.write).
                let blockSize = Int(disk.layers[0].layout?.dynamic?.blockSize ?? 0)
                let chunkSize = max(4 << 20, blockSize)
                let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 4096)
                defer { chunk.deallocate() }
                while true {
                    var wanted = chunkSize
                    if blockSize > 0 { wanted = chunkSize - Int(position % UInt64(blockSize)) }
                    // Fill the piece (a pipe gives less per read).
                    var filled = 0
                    while filled < wanted {
                        let count = try source.read(into: UnsafeMutableRawBufferPointer(rebasing: chunk[filled..<wanted]), retryOnInterrupt: true)
                        if count == 0 { break }
                        filled += count
                    }
                    if filled == 0 { break }
                    try disk.write(UnsafeRawBufferPointer(rebasing: chunk[0..<filled]), at: position)
                    position += UInt64(filled)
                    if filled < wanted { break }
                }
                try disk.flush()
            }
        }
    }
}
