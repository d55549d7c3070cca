import ArgumentParser
import CommandLineSupport
import SystemPackage
import VHD

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

extension VHDTool {
    struct Repair: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "repair",
            abstract: "Repair a VHD's metadata: the footer from its copy (or the reverse), checksums, BAT entries past the end; replay a VHDX's log.",
            discussion: """
                Each change is printed. Before anything is written, every byte to be overwritten is \
                saved in FILE.repair-backup (FILE.repair-backup.1, ... when that exists): lines of \
                "offset hex-bytes" after the original size, enough to undo the repair by hand. \
                Refused, changing nothing, when what is right cannot be told (both footers valid but \
                different; no footer or dynamic header to trust).
                """)

        @Argument(help: "The VHD to repair, in place.")
        var image: String

        @Flag(help: "Print the changes and change nothing.")
        var dryRun = false

        @Flag(help: "Take no lock and ignore other programs' (like QEMU's locking=off): only when nothing else uses the disk.")
        var noLock = false

        @OptionGroup var output: OutputOptions

        struct Report: Encodable {
            struct Change: Encodable {
                var offset: Int64
                var length: Int
                var reason: String
            }
            var path: String
            var changes: [Change]
            var applied: Bool
            /// The backup written, nil when nothing was written.
            var backup: String?
            /// Why the file still does not open after the repair (or with nothing to repair);
            /// nil when it opens, or in a dry run with changes.
            var remainingProblem: String?
        }

        func run() throws {
            let path = FilePath(image)
            let changes = try HostFile.withOpened(at: path, lock: !noLock) { try DiskRepair.plan($0) }
            var report = Report(
                path: image, changes: changes.map { .init(offset: $0.offset, length: $0.newBytes.count, reason: $0.reason) },
                applied: false, backup: nil)
            if !dryRun && !changes.isEmpty {
                let backup = Self.freeBackupPath(for: image)
                try DiskRepair.apply(changes, to: path, backup: FilePath(backup), locking: !noLock)
                report.applied = true
                report.backup = backup
            }
            if report.applied || changes.isEmpty {
                do {
                    _ = try HostFile.withOpened(at: path, lock: !noLock) { try DiskImage(reading: $0) }
                } catch {
                    report.remainingProblem = "\(error)"
                }
            }
            try output.print(report) { report in
                if let problem = report.remainingProblem, report.changes.isEmpty {
                    return "\(report.path): nothing repair can fix, and it still does not open: \(problem)\n"
                }
                guard !report.changes.isEmpty else { return "\(report.path): nothing to repair\n" }
                var text = report.changes.map { "offset \($0.offset) (\($0.length) bytes): \($0.reason)\n" }.joined()
                if let backup = report.backup {
                    text += "\(report.path): \(report.changes.count) change(s) made; the bytes replaced are in \(backup)\n"
                } else {
                    text += "\(report.path): \(report.changes.count) change(s) to make (dry run: nothing changed)\n"
                }
                if let problem = report.remainingProblem { text += "It still does not open: \(problem)\n" }
                return text
            }
            if report.remainingProblem != nil { throw ExitCode(1) }
        }

        static func freeBackupPath(for image: String) -> String {
            var candidate = image + ".repair-backup"
            var number = 1
            while access(candidate, F_OK) == 0 {
                candidate = image + ".repair-backup.\(number)"
                number += 1
            }
            return candidate
        }
    }
}
