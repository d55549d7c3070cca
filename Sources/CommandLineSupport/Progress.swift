import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Progress of a long operation on stderr, when stderr is a terminal: bytes done of the total,
/// rate and time left, redrawn at most ten times a second.
package final class ProgressLine {
    private let enabled: Bool
    private let started = ContinuousClock.now
    private var lastDrawn: ContinuousClock.Instant?
    private var drewSomething = false

    package init(quiet: Bool) {
        enabled = !quiet && Terminal.standardErrorIsTerminal
    }

    package func update(done: UInt64, total: UInt64) {
        guard enabled else { return }
        let now = ContinuousClock.now
        if let lastDrawn, now - lastDrawn < .milliseconds(100) && done != total { return }
        lastDrawn = now
        let elapsed = max(Self.seconds(now - started), 0.001)
        let rate = Double(done) / elapsed
        let percent = total == 0 ? 100 : Int(Double(done) * 100 / Double(total))
        let left = rate > 0 ? Int(Double(total - done) / rate) : 0
        let line = "\r\(humanSize(done)) / \(humanSize(total))  \(percent)%  \(humanSize(UInt64(rate)))/s  \(left / 60):\(left % 60 < 10 ? "0" : "")\(left % 60) left  "
        Terminal.standardError(line)
        drewSomething = true
    }

    package static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    /// Ends the line so that what follows starts on a new one.
    package func finish() {
        if drewSomething { Terminal.standardError("\n") }
    }
}

/// Set by SIGINT and SIGTERM; long operations poll it and stop cleanly, leaving no partial output.
package enum Interruption {
    package static let requested = Atomic<Bool>(false)

    package static func install() {
        signal(SIGINT) { _ in Interruption.requested.store(true, ordering: .relaxed) }
        signal(SIGTERM) { _ in Interruption.requested.store(true, ordering: .relaxed) }
    }

    package static var isRequested: Bool { requested.load(ordering: .relaxed) }
}
