import ArgumentParser
import CommandLineSupport
import SystemPackage
import VHD

extension VHDTool {
    struct Resize: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "resize",
            abstract: "Change the virtual size of a fixed, dynamic or differencing VHD in place.",
            discussion: """
                Growing adds zeros; shrinking is refused when non-zero data lies past the new end. \
                A process killed at any point leaves a disk that opens with the old size or the new. \
                Blocks a shrink drops (and what blocks moved to make room for a larger table leave behind) stay in the \
                file, unused, until `vhdtool compact` rewrites it; unreachableBytes says how many bytes that is.
                """)

        @Argument(help: "The disk to resize.")
        var image: String

        @Option(help: "The new virtual size: bytes, or a number with K, M, G or T.")
        var size: ByteSize

        @Flag(help: "Round the size up to a whole number of MiB, as Azure wants.")
        var azure = false

        @Flag(help: "Flush every step to stable storage, so that the crash order survives a power loss.")
        var sync = false

        @OptionGroup var opening: DiskOpeningOptions
        @OptionGroup var output: OutputOptions

        struct Report: Encodable {
            var path: String
            var diskType: String
            var oldSize: UInt64
            var newSize: UInt64
            var oldFileSize: Int64
            var newFileSize: Int64
            var movedBlocks: Int
            var movedLocators: Int
            var unreachableBytes: Int64
        }

        func validate() throws {
            if size.bytes % 512 != 0 && !azure { throw ValidationError("the size \(size.bytes) is not a whole number of 512-byte sectors") }
        }

        func run() throws {
            let bytes = azure ? azureSize(for: size.bytes) : size.bytes
            let summary = try DiskResize.resize(
                at: FilePath(image), to: bytes, options: InPlaceOptions(disk: opening.diskOptions, sync: sync))
            let report = Report(
                path: image, diskType: summary.diskType.description, oldSize: summary.oldSize, newSize: summary.newSize,
                oldFileSize: summary.oldFileSize, newFileSize: summary.newFileSize, movedBlocks: summary.movedBlocks,
                movedLocators: summary.movedLocators, unreachableBytes: summary.unreachableBytes)
            try output.print(report) { report in
                guard report.oldSize != report.newSize else { return "\(image): already \(bytesText(report.newSize)); nothing to do\n" }
                var text = "\(image): \(report.diskType) disk resized from \(bytesText(report.oldSize)) to \(bytesText(report.newSize))\n"
                if report.movedBlocks + report.movedLocators > 0 {
                    text += "moved to the end of the file to make room: \(report.movedBlocks) block(s), \(report.movedLocators) locator path(s)\n"
                }
                if report.unreachableBytes > 0 {
                    text += "\(bytesText(report.unreachableBytes)) of the file are no longer used; vhdtool compact \(image) reclaims them\n"
                }
                return text
            }
        }
    }
}
