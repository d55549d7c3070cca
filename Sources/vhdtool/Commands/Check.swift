import ArgumentParser
import CommandLineSupport
import SystemPackage
import VHD

extension VHDTool {
    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check",
            abstract: "Validate a VHD: structure, checksums, sector bitmaps against data, the parent chain; --azure adds the upload rules.",
            discussion: """
                Each problem is a line, with the command that fixes it when there is one. \
                Notes (e.g. qemu-img reading another size) do not fail the check. \
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
            var problems: [Problem]
        }

        /// A problem as scripts read it: the fix is the command to run.
        struct Problem: Encodable {
            var check: String
            var message: String
            var fix: String?
            /// Worth knowing, but no reason to fail (exit 0).
            var note: Bool

            init(_ problem: CheckProblem) {
                check = problem.check
                message = problem.message
                fix = problem.fix.map(Self.command)
                note = problem.note
            }

            /// The vhdtool command line that does `fix`.
            static func command(_ fix: CheckFix) -> String {
                switch fix {
                case let .convertForAzure(source, destination, minimumSize):
                    let size = minimumSize.map { $0 % (1 << 20) == 0 ? " --size \($0 >> 20)M" : " --size \($0)" } ?? ""
                    return "vhdtool convert '\(source)' '\(destination)' --azure" + size
                case let .convertForAllReaders(source):
                    return "vhdtool convert '\(source)' NEW.vhd (writes a geometry every reader sizes alike)"
                case let .repair(path):
                    return "vhdtool repair '\(path)' (see --dry-run first)"
                case .giveOrReparentParent:
                    return "give the parent with --parent PATH, or point the child at it: vhdtool reparent"
                }
            }
        }

        func run() throws {
            let problems: [CheckProblem]
            do {
                problems = try DiskCheck.problems(at: FilePath(image), azure: azure, locking: !noLock)
            } catch {
                Terminal.standardError("Error: \(ErrorWording.sentence(for: error))\n")
                throw ExitCode(1)
            }
            let failures = problems.filter { !$0.note }
            let report = Report(path: image, clean: failures.isEmpty, problems: problems.map(Problem.init))
            try output.print(report) { report in
                let lines = report.problems.map { problem in
                    (problem.note ? "note: " : "\(problem.check): ") + problem.message
                        + (problem.fix.map { "\n  \(problem.note ? "to agree" : "fix"): \($0)" } ?? "") + "\n"
                }.joined()
                guard !report.clean else { return lines + "\(report.path): clean\(azure ? " (Azure would accept it)" : "")\n" }
                return lines + "\(report.path): \(failures.count) problem(s)\n"
            }
            if !failures.isEmpty { throw ExitCode(2) }
        }
    }
}
