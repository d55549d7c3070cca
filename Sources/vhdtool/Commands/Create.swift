import ArgumentParser
import CommandLineSupport
import SystemPackage
import VHD
import VHDFormat

extension VHDTool {
    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create an empty fixed, dynamic or differencing VHD.",
            discussion: """
                vhdtool create DISK --size SIZE [--type fixed|dynamic]   a new empty disk
                vhdtool create CHILD --parent BASE                    a differencing child of BASE
                The virtual size is exactly SIZE (a whole number of 512-byte sectors, at most 2040 GiB).
                """)

        enum DiskKind: String, ExpressibleByArgument, CaseIterable {
            case fixed, dynamic
        }

        @Argument(help: "The new disk.")
        var destination: String

        @Option(help: "The virtual size: bytes, or a number with K, M, G or T.")
        var size: ByteSize?

        @Option(help: "fixed or dynamic (default dynamic; --azure makes fixed).")
        var type: DiskKind?

        @Option(help: "Block size of a dynamic disk (default 2M).")
        var blockSize: ByteSize?

        @Option(help: "Make a differencing disk whose parent is this VHD.")
        var parent: String?

        @Flag(help: "Make what Azure accepts: a fixed disk whose size is a whole number of MiB (rounded up).")
        var azure = false

        @Flag(help: "Reserve the fixed disk's data blocks in the host file instead of leaving it sparse.")
        var preallocate = false

        @OptionGroup var writing: OutputFileOptions

        @Flag(help: "Use a parent whose checksum is wrong.")
        var ignoreChecksums = false

        var kind: DiskKind { azure ? .fixed : (type ?? .dynamic) }

        func validate() throws {
            if parent != nil {
                if size != nil || type != nil || azure || blockSize != nil || preallocate {
                    throw ValidationError("a differencing disk takes its size and block size from its parent: --parent goes alone")
                }
                return
            }
            guard let size else { throw ValidationError("give the virtual size with --size SIZE, or a parent with --parent BASE") }
            if size.bytes % 512 != 0 && !azure { throw ValidationError("the size \(size.bytes) is not a whole number of 512-byte sectors") }
            if azure && type == .dynamic { throw ValidationError("--azure makes a fixed disk; it cannot go with --type dynamic") }
            if blockSize != nil && kind != .dynamic { throw ValidationError("--block-size is for dynamic disks") }
            // Checked here, not clamped into 32 bits (which would name another size).
            if let bytes = blockSize?.bytes, bytes > UInt64(UInt32.max) { throw ValidationError("a block size of \(bytes) bytes is not possible: it must be a power of two from 512 KiB to 256 MiB") }
            if preallocate && kind != .fixed { throw ValidationError("--preallocate is for fixed disks") }
        }

        func run() throws {
            let output = try OutputFile.create(at: FilePath(destination), overwrite: writing.force)
            do {
                if let parent {
                    try DiskCreation.createDifferencing(
                        parentPath: FilePath(parent), output: output,
                        options: OpenOptions(checksumPolicy: ignoreChecksums ? .ignore : .verify))
                } else {
                    let bytes = azure ? azureSize(for: size!.bytes) : size!.bytes
                    switch kind {
                    case .fixed:
                        try DiskCreation.createFixed(size: bytes, output: output, preallocate: preallocate)
                    case .dynamic:
                        try DiskCreation.createDynamic(
                            size: bytes, blockSize: UInt32(clamping: blockSize?.bytes ?? UInt64(DynamicHeader.defaultBlockSize)),
                            output: output)
                    }
                }
                try output.commit(sync: writing.sync)
            } catch {
                output.discard()
                throw error
            }
        }
    }
}
