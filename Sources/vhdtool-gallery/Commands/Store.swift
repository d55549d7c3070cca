import ArgumentParser
import CommandLineSupport
import ImageGallery

extension VHDTool {
    struct StoreCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "store", abstract: "Check the store: that what the catalog says is true of the region folders.",
            subcommands: [Check.self])

        struct Check: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Check the catalog and every region folder; --repair puts right what can be.",
                discussion: """
                    Reports replicas missing or of the wrong size (--deep: of the wrong content digest), files in region \\
                    folders that no replication job owns (orphans) and partial files no live job writes, leases whose \\
                    process is gone, regions whose folders overlap, and the catalog's integrity (SQLite integrity_check, \\
                    foreign keys, the names it holds). --repair makes missing and changed replicas pending again (run \\
                    'vhdtool version replicate' to make them), releases abandoned leases, and removes orphans and \\
                    partial files older than an hour. Exit 0: nothing wrong (or all repaired); 2: problems remain; 1: \\
                    the store could not be checked.
                    """)
            @Flag(help: "Put right what can be put right.") var repair = false
            @Flag(help: "Also read every replica and compare its content digest with the recorded one.") var deep = false
            @OptionGroup var store: StoreOptions
            @OptionGroup var output: OutputOptions

            func run() throws {
                let report: StoreCheckReport
                do {
                    report = try store.run { try $0.check(repair: repair, deep: deep) }
                } catch {
                    // Whatever kept the check from running (no store, a damaged catalog): exit 1.
                    throw ExitCode(1)
                }
                try output.print(report) { report in
                    var text = report.problems.map { problem in
                        // A missing replica made pending again: say what makes it.
                        let hint = problem.kind == .missingReplica && problem.repaired ? " ('vhdtool version replicate' makes it)" : ""
                        return "\(problem.kind.rawValue): \(problem)\(hint)\n"
                    }.joined()
                    let open = report.problems.filter { !$0.repaired }.count
                    text += "\(report.regionsChecked) region\(report.regionsChecked == 1 ? "" : "s"), \(report.replicasChecked) replica\(report.replicasChecked == 1 ? "" : "s") checked: "
                    text += report.problems.isEmpty ? "no problems\n"
                        : "\(report.problems.count) problem\(report.problems.count == 1 ? "" : "s"), \(report.problems.count - open) repaired\n"
                    return text
                }
                if !report.isClean { throw ExitCode(2) }
            }
        }
    }
}
