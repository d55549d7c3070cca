import ArgumentParser
import CommandLineSupport
import GalleryCommandLine
import SystemPackage
import VHD

extension VHDTool {
    struct Tag: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "tag",
            abstract: "Record an image's OS state and metadata in a sidecar file, or show them.",
            discussion: """
                With --os-state, writes FILE.vhdtool.json beside the image (replacing any previous \
                record), bound to the image by its footer UUID and content digest. Without options, \
                shows the record, whether it is stale (the image changed since it was tagged) and \
                where it contradicts the disk's contents.
                """)

        @Argument(help: "The image (raw or VHD).")
        var image: String

        @Option(help: "generalized or specialized.")
        var osState: OSState?

        @Option(help: "linux or windows.")
        var osType: OSType?

        @Option(name: .customLong("hyper-v-generation"), help: "V1 (BIOS, MBR) or V2 (UEFI, GPT).")
        var hyperVGeneration: HyperVGeneration?

        @Option(help: "x64 or arm64.")
        var architecture: Architecture?

        @Option(name: .customLong("tag"), help: ArgumentHelp("A free-form tag (repeatable).", valueName: "key=value"))
        var tags: [String] = []

        @Flag(name: .shortAndLong, help: "Print no progress.")
        var quiet = false

        @OptionGroup var opening: DiskOpeningOptions
        @OptionGroup var output: OutputOptions

        /// `--tag` values as a dictionary; throws on a malformed or repeated key or a broken rule.
        func parsedTags() throws -> [String: String] {
            try TagArguments.parse(tags)
        }

        func validate() throws {
            if osState == nil && (osType != nil || hyperVGeneration != nil || architecture != nil || !tags.isEmpty) {
                throw ValidationError("tagging needs --os-state generalized|specialized")
            }
            _ = try parsedTags()
        }

        func run() throws {
            Interruption.install()
            let progress = ProgressLine(quiet: quiet)
            let path = FilePath(image)
            let sidecar = ImageTagFile.path(for: path).string
            let report = try Disk.withOpened(at: path, options: opening.diskOptions) { disk in
                defer { progress.finish() }
                let options = CopyOptions(progress: { progress.update(done: $0, total: $1) }, isCancelled: { Interruption.isRequested })
                let layout = try DiskLayoutProbe.probe(disk)
                if let osState {
                    let digest = try disk.contentDigest(options: options)
                    let record = ImageTag(
                        osState: osState, osType: osType, hyperVGeneration: hyperVGeneration, architecture: architecture,
                        tags: try parsedTags(), image: try ImageBinding(disk: disk, digest: digest),
                        taggedAtUnixSeconds: currentUnixTime())
                    try ImageTagFile.write(record, for: path)
                    return TagReport(file: sidecar, record: record, freshness: .current, layout: layout)
                }
                guard let record = try ImageTagFile.read(for: path) else {
                    throw VHDError(path: image, .untagged(sidecar: sidecar))
                }
                return TagReport(file: sidecar, record: record, freshness: try record.freshness(for: disk, options: options), layout: layout)
            }
            try output.print(report) { TagText.render($0) }
            for warning in report.contradictions { Terminal.standardError("warning: the tag contradicts the disk's contents: \(warning)\n") }
        }
    }
}

/// The text form of a tag report.
enum TagText {
    static func render(_ report: TagReport) -> String {
        var lines = AlignedLines()
        add(report, to: &lines)
        return lines.text
    }

    /// The report's lines, also used by `inspect`.
    static func add(_ report: TagReport, to lines: inout AlignedLines) {
        let record = report.record
        lines.add("Tag file", report.file)
        lines.add("OS state", record.osState.tagName)
        lines.add("OS type", record.osType?.tagName ?? "-")
        lines.add("Hyper-V generation", record.hyperVGeneration?.tagName ?? "-")
        lines.add("Architecture", record.architecture?.tagName ?? "-")
        if !record.tags.isEmpty {
            lines.add("Tags", record.tags.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", "))
        }
        lines.add("Content digest", record.image.digest.description)
        lines.add("Tagged", record.taggedAt)
        lines.add("Tag status", report.stale ? "STALE: \(report.staleReason ?? "")" : "current")
    }
}
