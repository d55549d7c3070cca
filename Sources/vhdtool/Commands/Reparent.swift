import ArgumentParser
import CommandLineSupport
import SystemPackage
import VHD

extension VHDTool {
    struct Reparent: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "reparent",
            abstract: "Point a differencing VHD at its moved parent, in place.",
            discussion: """
                Rewrites the W2ku (absolute) and W2ru (relative) locators, the header's parent name and the \
                parent's timestamp. The new parent's UUID must be the one the child recorded, unless --force \
                (which records the new parent's UUID).
                """)

        @Argument(help: "The differencing disk.")
        var child: String

        @Option(help: "The parent's new path.")
        var parent: String

        @Flag(help: "Accept a parent whose UUID differs from the child's record, and record the new UUID.")
        var force = false

        @Flag(help: "Flush every step to stable storage.")
        var sync = false

        @Flag(help: "Use images whose footer or header checksum is wrong.")
        var ignoreChecksums = false

        @Flag(help: "Take no lock and ignore other programs' (like QEMU's locking=off): only when nothing else uses the disk.")
        var noLock = false

        @OptionGroup var output: OutputOptions

        struct Report: Encodable {
            var path: String
            var oldParentName: String
            var absolutePath: String
            var relativePath: String
            var parentUniqueId: String
            var uniqueIdChanged: Bool
            var bytesAppended: Int64
        }

        func run() throws {
            let summary = try DiskReparent.reparent(
                at: FilePath(child), to: FilePath(parent), force: force,
                options: InPlaceOptions(disk: DiskOptions(open: OpenOptions(checksumPolicy: ignoreChecksums ? .ignore : .verify), locking: !noLock), sync: sync))
            let report = Report(
                path: child, oldParentName: summary.oldParentName, absolutePath: summary.absolutePath,
                relativePath: summary.relativePath, parentUniqueId: summary.parentUniqueId.description,
                uniqueIdChanged: summary.uniqueIdChanged, bytesAppended: summary.bytesAppended)
            try output.print(report) { report in
                var text = "\(child): parent is now \(report.absolutePath) (relative: \(report.relativePath))\n"
                if report.uniqueIdChanged { text += "recorded the new parent's UUID \(report.parentUniqueId) (--force)\n" }
                return text
            }
        }
    }
}
