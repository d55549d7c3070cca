import ArgumentParser
import CommandLineSupport
import SystemPackage
import VHD
import VHDFormat

extension VHDTool {
    struct Convert: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "convert",
            abstract: "Copy a disk into another format, touching only the data that is there.",
            discussion: """
                The source may be raw, any VHD or VHDX (a differencing chain is flattened) or gzip-compressed. \
                The destination appears only when complete; an interrupted or failed run leaves it as it was.
                """)

        enum Target: String, ExpressibleByArgument, CaseIterable {
            case raw, fixed, dynamic

            var kind: ImageKind { ImageKind(rawValue: rawValue)! }
        }

        /// VHD or VHDX: the library's own choice, parsed as given.
        typealias Container = ConversionTarget.Container

        @Argument(help: "The source disk.")
        var source: String

        @Argument(help: "The destination file, or - for standard output (raw only).")
        var destination: String

        @Option(help: "The destination format (default: dynamic when the destination ends in .vhd or .vhdx, else raw).")
        var to: Target?

        @Option(help: "The container of a fixed or dynamic destination: vhd or vhdx (default: vhdx when the destination ends in .vhdx, else vhd).")
        var format: Container?

        @Option(help: "Logical sector size of a VHDX destination: 512 (default) or 4096.")
        var logicalSectorSize: UInt32?

        @Option(help: "Block size of a dynamic destination (default 2M).")
        var blockSize: ByteSize?

        @Option(help: "A new virtual size: larger adds zeros; smaller is refused if it would cut off data.")
        var size: ByteSize?

        @Flag(help: "Make what Azure accepts: a fixed VHD whose size is a whole number of MiB (rounded up).")
        var azure = false

        @OptionGroup var writing: OutputFileOptions

        @Flag(name: .shortAndLong, help: "Print no progress.")
        var quiet = false

        @OptionGroup var opening: DiskOpeningOptions

        /// Whether the destination is gzip-compressed (its name ends in .gz).
        var compressed: Bool { destination.lowercased().hasSuffix(".gz") }

        var target: Target {
            if azure { return .fixed }
            let name = (compressed ? String(destination.dropLast(3)) : destination).lowercased()
            return to ?? (name.hasSuffix(".vhd") || name.hasSuffix(".vhdx") ? .dynamic : .raw)
        }

        /// The container of a fixed or dynamic destination.
        var container: Container {
            format ?? (destination.lowercased().hasSuffix(".vhdx") ? .vhdx : .vhd)
        }

        func validate() throws {
            if destination == "-" && target != .raw {
                throw ValidationError("standard output (-) takes only --to raw")
            }
            if azure && to != nil && to != .fixed {
                throw ValidationError("--azure makes a fixed VHD; it cannot go with --to \(to!.rawValue)")
            }
            // Checked here, not clamped into 32 bits (which would name another size).
            if let bytes = blockSize?.bytes, bytes > UInt64(UInt32.max) { throw ValidationError("a block size of \(bytes) bytes is not possible: it must be a power of two from 512 KiB to 256 MiB") }
            if blockSize != nil && target != .dynamic && !(target == .fixed && container == .vhdx) {
                throw ValidationError("--block-size is for dynamic destinations")
            }
            if target != .raw && container == .vhdx {
                if azure { throw ValidationError("--azure makes a fixed VHD (Azure takes no VHDX); it cannot go with --format vhdx") }
                if compressed || destination == "-" { throw ValidationError("a VHDX destination is written as a file, neither compressed nor to standard output") }
            }
            if let logicalSectorSize, logicalSectorSize != 512 && logicalSectorSize != 4096 {
                throw ValidationError("--logical-sector-size is 512 or 4096")
            }
            if logicalSectorSize != nil && (target == .raw || container != .vhdx) {
                throw ValidationError("--logical-sector-size is for VHDX destinations")
            }
            if destination == "-" && size != nil {
                throw ValidationError("--size is not available with standard output")
            }
        }

        func run() throws {
            Interruption.install()
            let progress = ProgressLine(quiet: quiet || destination == "-")
            defer { progress.finish() }
            let options = CopyOptions(
                progress: { progress.update(done: $0, total: $1) }, isCancelled: { Interruption.isRequested })
            try Disk.withOpened(at: FilePath(source), options: opening.diskOptions) { disk in
                if destination == "-" {
                    _ = try RawExport.stream(disk, to: .standardOutput, name: "standard output", options: options)
                    return
                }
                let requestedSize = size?.bytes ?? disk.virtualSize
                let target = ConversionTarget(
                    self.target.kind, container: container,
                    size: azure ? azureSize(for: requestedSize) : requestedSize,
                    blockSize: blockSize.map { UInt32(clamping: $0.bytes) }, logicalSectorSize: logicalSectorSize ?? 512,
                    gzipCompressed: compressed)
                let conversion = ConversionOptions(
                    overwrite: writing.force, sync: writing.sync, copy: options,
                    temporaryFolder: FilePath(Terminal.environment("TMPDIR") ?? "/tmp"))
                try disk.convert(to: FilePath(destination), as: target, options: conversion)
            }
        }
    }
}

extension ConversionTarget.Container: ExpressibleByArgument {}
