import ArgumentParser
import CommandLineSupport
import SystemPackage
import VHD

extension VHDTool {
    struct Compact: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Drop the all-zero blocks of a dynamic or differencing VHD and close the gaps.",
            discussion: """
                A compacted copy is written beside the disk and renamed over it when complete; an interrupted run \
                leaves the disk as it was. The disk keeps its UUID, sizes, block size, parent record and locators. \
                In a differencing disk, zero sectors that hide the parent's data stay.
                """)

        @Argument(help: "The dynamic or differencing disk.")
        var image: String

        @Flag(help: "Flush the compacted file and its folder to stable storage before finishing.")
        var sync = false

        @Flag(name: .shortAndLong, help: "Print no progress.")
        var quiet = false

        @OptionGroup var opening: DiskOpeningOptions
        @OptionGroup var output: OutputOptions

        struct Report: Encodable {
            var path: String
            var oldFileSize: Int64
            var newFileSize: Int64
            var bytesReclaimed: Int64
            var oldAllocatedBlocks: Int
            var newAllocatedBlocks: Int
        }

        func run() throws {
            Interruption.install()
            let progress = ProgressLine(quiet: quiet)
            let summary: CompactSummary
            do {
                defer { progress.finish() }
                summary = try DiskCompaction.compact(
                    at: FilePath(image), options: opening.diskOptions, sync: sync,
                    copy: CopyOptions(progress: { progress.update(done: $0, total: $1) }, isCancelled: { Interruption.isRequested }))
            }
            let report = Report(
                path: image, oldFileSize: summary.oldFileSize, newFileSize: summary.newFileSize,
                bytesReclaimed: summary.bytesReclaimed, oldAllocatedBlocks: summary.oldAllocatedBlocks,
                newAllocatedBlocks: summary.newAllocatedBlocks)
            try output.print(report) { report in
                var lines = AlignedLines()
                lines.add("file size", "\(bytesText(report.oldFileSize)) -> \(bytesText(report.newFileSize))")
                lines.add("blocks", "\(report.oldAllocatedBlocks) -> \(report.newAllocatedBlocks)")
                lines.add(report.bytesReclaimed >= 0 ? "reclaimed" : "grew by", bytesText(abs(report.bytesReclaimed)))
                return "\(image): compacted\n" + lines.text
            }
        }
    }
}
