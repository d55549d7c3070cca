import Foundation
import Synchronization

/// Progress of a long operation on stderr, when stderr is a terminal: bytes done of the total,
/// rate and time left, redrawn at most ten times a second.
final class ProgressLine {
    private let enabled: Bool
    private let started = Date()
    private var lastDrawn = Date.distantPast
    private var drewSomething = false

    init(quiet: Bool) {
        enabled = !quiet && isatty(STDERR_FILENO) == 1
    }

    func update(done: UInt64, total: UInt64) {
        guard enabled else { return }
        let now = Date()
        guard now.timeIntervalSince(lastDrawn) >= 0.1 || done == total else { return }
        lastDrawn = now
        let elapsed = max(now.timeIntervalSince(started), 0.001)
        let rate = Double(done) / elapsed
        let percent = total == 0 ? 100 : Int(Double(done) * 100 / Double(total))
        let left = rate > 0 ? Int(Double(total - done) / rate) : 0
        let line = "\r\(humanSize(done)) / \(humanSize(total))  \(percent)%  \(humanSize(UInt64(rate)))/s  \(left / 60):\(String(format: "%02d", left % 60)) left  "
        FileHandle.standardError.write(Data(line.utf8))
        drewSomething = true
    }

    /// Ends the line so that what follows starts on a new one.
    func finish() {
        if drewSomething { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}

/// Set by SIGINT and SIGTERM; long operations poll it and stop cleanly, leaving no partial output.
enum Interruption {
    static let requested = Atomic<Bool>(false)

    static func install() {
        signal(SIGINT) { _ in Interruption.requested.store(true, ordering: .relaxed) }
        signal(SIGTERM) { _ in Interruption.requested.store(true, ordering: .relaxed) }
    }

    static var isRequested: Bool { requested.load(ordering: .relaxed) }
}
