import ArgumentParser
import CommandLineSupport
import SystemPackage
import VHD

extension VHDTool {
    struct Merge: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "merge",
            abstract: "Merge a differencing VHD into its parent (or an ancestor, or the base of its chain), in place.",
            discussion: """
                The sectors the child stores (zeros included, where they hide the parent's data) are written into \
                the target; then the merged files are removed, as Merge-VHD does (--keep leaves them, as vhd-util \
                coalesce does). Disks in the chain's folders whose parent is the target or a removed file are found \
                and the merge is refused unless --force: their content would change or their parent vanish. \
                Disks elsewhere cannot be known.
                """)

        @Argument(help: "The differencing disk to merge.")
        var child: String

        @Option(help: ArgumentHelp("Merge into this ancestor (default: the child's parent).", valueName: "ancestor"))
        var into: String?

        @Flag(help: "Collapse the whole chain into its base.")
        var all = false

        @Flag(help: "Merge even when other disks in the chain's folders depend on the changed or removed files.")
        var force = false

        @Flag(help: "Keep the merged files instead of removing them.")
        var keep = false

        @Flag(help: "Flush every step of a resize of the target to stable storage (the target is always flushed before files are removed).")
        var sync = false

        @Flag(name: .shortAndLong, help: "Print no progress.")
        var quiet = false

        @OptionGroup var opening: DiskOpeningOptions
        @OptionGroup var output: OutputOptions

        struct Report: Encodable {
            var target: String
            var merged: [String]
            var removed: [String]
            var bytesWritten: UInt64
            var targetGrownFrom: UInt64?
        }

        func validate() throws {
            if all && into != nil { throw ValidationError("--into and --all exclude each other") }
        }

        func run() throws {
            Interruption.install()
            let progress = ProgressLine(quiet: quiet)
            let destination: DiskMerge.Destination = all ? .base : into.map { .ancestor(FilePath($0)) } ?? .parent
            let summary: MergeSummary
            do {
                defer { progress.finish() }
                summary = try DiskMerge.merge(
                    at: FilePath(child), into: destination, force: force, removeMerged: !keep,
                    options: InPlaceOptions(disk: opening.diskOptions, sync: sync),
                    copy: CopyOptions(progress: { progress.update(done: $0, total: $1) }, isCancelled: { Interruption.isRequested }))
            }
            let report = Report(
                target: summary.target, merged: summary.merged, removed: summary.removed, bytesWritten: summary.bytesWritten,
                targetGrownFrom: summary.targetGrownFrom)
            try output.print(report) { report in
                var text = "merged \(report.merged.joined(separator: ", ")) into \(report.target) (\(bytesText(report.bytesWritten)) written)\n"
                if let grown = report.targetGrownFrom { text += "\(report.target) grew from \(bytesText(grown)) to the child's size first\n" }
                if !report.removed.isEmpty { text += "removed \(report.removed.joined(separator: ", "))\n" }
                return text
            }
        }
    }
}
