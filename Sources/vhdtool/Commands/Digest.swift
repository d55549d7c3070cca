import ArgumentParser
import CommandLineSupport
import SystemPackage
import VHD

extension VHDTool {
    struct Digest: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "digest",
            abstract: "Print the SHA-256 content digest of the virtual disk.",
            discussion: """
                The same bytes give the same digest whether the disk is raw, a fixed or dynamic VHD \
                or a differencing chain. Zeros are neither read nor hashed: the digest covers the \
                virtual size and each non-zero 4 KiB granule (README.md, "Content digest").
                """)

        @Argument(help: "The disk (raw or VHD; a differencing disk is read through its parents).")
        var image: String

        @Flag(name: .shortAndLong, help: "Print no progress.")
        var quiet = false

        @OptionGroup var opening: DiskOpeningOptions
        @OptionGroup var output: OutputOptions

        /// `digest --json`.
        struct Result: Encodable {
            var path: String
            var virtualSize: UInt64
            var digest: ContentDigest
        }

        func run() throws {
            Interruption.install()
            let progress = ProgressLine(quiet: quiet)
            let result = try Disk.withOpened(at: FilePath(image), options: opening.diskOptions) { disk in
                defer { progress.finish() }
                let options = CopyOptions(progress: { progress.update(done: $0, total: $1) }, isCancelled: { Interruption.isRequested })
                return Result(path: image, virtualSize: disk.virtualSize, digest: try disk.contentDigest(options: options))
            }
            try output.print(result) { "\($0.digest)  \($0.path)\n" }
        }
    }
}
