import ArgumentParser
import CommandLineSupport
import GalleryCommandLine
import ImageGallery

extension StoreCommand.Check: GalleryCommandImplementation {
    func perform() throws {
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
