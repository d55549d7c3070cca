import ArgumentParser
import CommandLineSupport
import SystemPackage
import VHD
import VHDFormat

extension VHDTool {
    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "create",
            abstract: "Create an empty fixed, dynamic or differencing VHD or VHDX.",
            discussion: """
                vhdtool create DISK --size SIZE [--type fixed|dynamic]   a new empty disk
                vhdtool create CHILD --parent BASE                    a differencing child of BASE
                A destination ending in .vhdx (or --format vhdx) makes a VHDX: 32 MiB blocks unless \
                --block-size says otherwise, --logical-sector-size 512 or 4096.
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

        @Option(help: "Make a differencing disk whose parent is this VHD or VHDX.")
        var parent: String?

        @Option(help: "The container: vhd or vhdx (default: vhdx when the destination ends in .vhdx, else vhd).")
        var format: Convert.Container?

        @Option(help: "Logical sector size of a VHDX: 512 (default) or 4096.")
        var logicalSectorSize: UInt32?

        var container: Convert.Container { format ?? (destination.lowercased().hasSuffix(".vhdx") ? .vhdx : .vhd) }

        @Flag(help: "Make what Azure accepts: a fixed disk whose size is a whole number of MiB (rounded up).")
        var azure = false

        @Flag(help: "Reserve the fixed disk's data blocks in the host file instead of leaving it sparse.")
        var preallocate = false

        @OptionGroup var writing: OutputFileOptions

        @Flag(help: "Use a parent whose checksum is wrong.")
        var ignoreChecksums = false

        var kind: DiskKind { azure ? .fixed : (type ?? .dynamic) }

        func validate() throws {
            if let logicalSectorSize {
                guard logicalSectorSize == 512 || logicalSectorSize == 4096 else { throw ValidationError("--logical-sector-size is 512 or 4096") }
                guard container == .vhdx && parent == nil else { throw ValidationError("--logical-sector-size is for new VHDX disks (a child takes its parent's)") }
            }
            if container == .vhdx && azure { throw ValidationError("--azure makes a fixed VHD (Azure takes no VHDX); it cannot go with --format vhdx") }
            if parent != nil {
                if size != nil || type != nil || azure || blockSize != nil || preallocate {
                    throw ValidationError("a differencing disk takes its size and block size from its parent: --parent goes alone")
                }
                return
            }
            guard let size else { throw ValidationError("give the virtual size with --size SIZE, or a parent with --parent BASE") }
            if size.bytes % 512 != 0 && !azure { throw ValidationError("the size \(size.bytes) is not a whole number of 512-byte sectors") }
            if azure && type == .dynamic { throw ValidationError("--azure makes a fixed disk; it cannot go with --type dynamic") }
            if blockSize != nil && kind != .dynamic && container == .vhd { throw ValidationError("--block-size is for dynamic disks") }
            if preallocate && container == .vhdx { throw ValidationError("--preallocate is for fixed VHDs") }
            // Checked here, not clamped into 32 bits (which would name another size).
            if let bytes = blockSize?.bytes, bytes > UInt64(UInt32.max) { throw ValidationError("a block size of \(bytes) bytes is not possible: it must be a power of two from 512 KiB to 256 MiB") }
            if preallocate && kind != .fixed { throw ValidationError("--preallocate is for fixed disks") }
        }

        func run() throws {
            try OutputFile.withCreated(at: FilePath(destination), overwrite: writing.force, sync: writing.sync) { output throws(VHDError) in
                if container == .vhdx {
                    if let parent {
                        try VHDXConversion.createDifferencing(
                            parentPath: FilePath(parent), output: output,
                            options: OpenOptions(checksumPolicy: ignoreChecksums ? .ignore : .verify))
                    } else {
                        try VHDXConversion.create(
                            size: size!.bytes, fixed: kind == .fixed,
                            blockSize: UInt32(clamping: blockSize?.bytes ?? UInt64(VHDXImageWriter.defaultBlockSize)),
                            logicalSectorSize: logicalSectorSize ?? 512, output: output)
                    }
                } else if let parent {
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
            }
        }
    }
}
