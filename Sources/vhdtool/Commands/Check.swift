import ArgumentParser
import CommandLineSupport
import SystemPackage
import VHD

extension VHDTool {
    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate a VHD: structure, checksums, sector bitmaps against data, the parent chain; --azure adds the upload rules.",
            discussion: """
                Each problem is a line, with the command that fixes it when there is one. \
                Exit status: 0 clean, 2 problems found, 1 the file could not be checked.
                """)

        @Argument(help: "The VHD to check.")
        var image: String

        @Flag(help: "Also check what Azure requires of an uploaded image: fixed, a whole number of MiB, 20 MiB to 32 TiB, a valid footer.")
        var azure = false

        @Flag(help: "Take no lock and ignore other programs' (like qemu-img check -U): check a disk that QEMU is writing.")
        var noLock = false

        @OptionGroup var output: OutputOptions

        struct Report: Encodable {
            var path: String
            var clean: Bool
            var problems: [CheckProblem]
        }

        func run() throws {
            let problems: [CheckProblem]
            do {
                problems = try DiskCheck.problems(at: FilePath(image), azure: azure, locking: !noLock)
            } catch {
                Terminal.standardError("Error: \(error)\n")
                throw ExitCode(1)
            }
            let report = Report(path: image, clean: problems.isEmpty, problems: problems)
            try output.print(report) { report in
                guard !report.clean else { return "\(report.path): clean\(azure ? " (Azure would accept it)" : "")\n" }
                return report.problems.map { problem in
                    "\(problem.check): \(problem.message)" + (problem.fix.map { "\n  fix: \($0)" } ?? "") + "\n"
                }.joined() + "\(report.path): \(report.problems.count) problem(s)\n"
            }
            if !problems.isEmpty { throw ExitCode(2) }
        }
    }
}
