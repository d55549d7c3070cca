import ArgumentParser
import CommandLineSupport
import SystemPackage
import VHD

extension VHDTool {
    struct Compact: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "compact",
            abstract: "Drop the all-zero blocks of a dynamic or differencing VHD and close the gaps.",
            discussion: """
                A compacted copy is written beside the disk and renamed over it when complete; an interrupted run \
                leaves the disk as it was. The disk keeps its UUID, sizes, block size, parent record and locators. \
                In a differencing disk, zero sectors that hide the parent's data stay. \
                "reclaimed" (bytesReclaimed) is the storage freed (allocated bytes, as du counts them), not the change \
                of the file's size: the compacted file is sparse and its blocks are 4 KiB-aligned, so its size may grow \
                a little (by up to about 4 KiB per block for disks QEMU made) while it takes less storage.
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
            var oldAllocatedBytes: Int64
            var newAllocatedBytes: Int64
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
                oldAllocatedBytes: summary.oldAllocatedBytes, newAllocatedBytes: summary.newAllocatedBytes,
                bytesReclaimed: summary.bytesReclaimed, oldAllocatedBlocks: summary.oldAllocatedBlocks,
                newAllocatedBlocks: summary.newAllocatedBlocks)
            try output.print(report) { report in
                var lines = AlignedLines()
                lines.add("file size", "\(bytesText(report.oldFileSize)) -> \(bytesText(report.newFileSize))")
                lines.add("allocated", "\(bytesText(report.oldAllocatedBytes)) -> \(bytesText(report.newAllocatedBytes))")
                lines.add("blocks", "\(report.oldAllocatedBlocks) -> \(report.newAllocatedBlocks)")
                lines.add(report.bytesReclaimed >= 0 ? "reclaimed" : "grew by", bytesText(abs(report.bytesReclaimed)))
                return "\(image): compacted\n" + lines.text
            }
        }
    }
}
