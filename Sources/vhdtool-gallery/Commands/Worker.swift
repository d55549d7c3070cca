import CommandLineSupport
import GalleryCommandLine
import ImageGallery

extension VersionCommand.Replicate {
    /// `version replicate --worker`: runs replication jobs of every version until none is left
    /// (`--once`) or a signal asks it to stop; says on stderr what it does (unless `--quiet`;
    /// an unreachable region is said always) and prints what it did.
    func runWorker() throws {
        let quiet = self.quiet
        let summary = try store.run { store in
            try store.runWorker(
                regions: regions, once: once,
                events: { event in
                    if case .regionUnreachable = event {
                        Terminal.standardError("Warning: \(event)\n")
                    } else if !quiet {
                        Terminal.standardError("\(event)\n")
                    }
                },
                isCancelled: { Interruption.isRequested })
        }
        let report = WorkerReport(done: summary.done, failed: summary.failed, interrupted: summary.interrupted)
        try output.print(report) { "\($0.done) replica\($0.done == 1 ? "" : "s") made, \($0.failed) failed, \($0.interrupted) stopped\n" }
        if summary.failed > 0 {
            throw GalleryExit(GalleryError(.replication, "\(summary.failed) replication job\(summary.failed == 1 ? "" : "s") failed; 'vhdtool version replicate' of the version tries again"))
        }
    }
}

/// What a worker did, for `--json`.
private struct WorkerReport: Encodable {
    var done: Int
    var failed: Int
    var interrupted: Int
}
