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

/// What SIGINT, SIGTERM and SIGHUP do.
///
/// ``installCleanup(_:)`` (at start-up): each removes the partial files (the cleanup function
/// must be safe in a signal handler) and ends the process with status 128 + the signal's
/// number, as the default action would have, minus what it leaves. ``install()`` (a command
/// that polls ``isRequested`` in its long loops): the first signal only sets the flag, and
/// the operation stops cleanly at its next poll, leaving no partial output; a second one
/// cleans up and ends the process at once (a step that blocks).
package enum Interruption {
    package static let requested = Atomic<Bool>(false)
    private static let polled = Atomic<Bool>(false)
    nonisolated(unsafe) private static var cleanup: (@convention(c) () -> Void)?

    /// Sets the handlers: every signal cleans up with `cleanup` and ends the process.
    package static func installCleanup(_ cleanup: @escaping @convention(c) () -> Void) {
        Self.cleanup = cleanup
        setHandlers()
    }

    /// From now on the first signal only asks the operation to stop (it polls ``isRequested``).
    package static func install() {
        polled.store(true, ordering: .relaxed)
        setHandlers()
    }

    private static func setHandlers() {
        for number in [SIGINT, SIGTERM, SIGHUP] {
            signal(number) { number in
                let again = Interruption.requested.exchange(true, ordering: .relaxed)
                guard again || !Interruption.polled.load(ordering: .relaxed) else { return }
                Interruption.cleanup?()
                _exit(128 + number)
            }
        }
    }

    package static var isRequested: Bool { requested.load(ordering: .relaxed) }
}
