import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A program started in the background by a test: vhdtool caught part-way, or qemu-io kept
/// open by holding its standard input. Every wait has a generous limit after which the
/// process is killed and the test fails: a hang becomes a failure, not a stuck test run.
/// No timing is asserted.
final class RunningProcess {
    /// Spawn attributes for a child that starts with no signal blocked and the default
    /// actions, as from a shell: the test runner's threads may block signals, and a spawned
    /// process inherits the mask (SIGTERM would never reach it). The caller destroys them.
    static func shellLikeSpawnAttributes() -> posix_spawnattr_t {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for number in [SIGINT, SIGTERM, SIGHUP] { sigaddset(&defaults, number) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        return attributes
    }

    let pid: pid_t
    private var input: Int32?
    private let outPath: String
    private let errPath: String
    private var finished: ExternalTool.Output?

    /// Starts `executable`; with `holdInput`, its standard input is a pipe kept open until
    /// ``finish(limit:)`` (qemu-io then waits for commands), else /dev/null.
    init(_ executable: String, _ arguments: [String], environment: [String: String] = [:], holdInput: Bool = false) throws {
        let folder = NSTemporaryDirectory()
        outPath = folder + "vhdtool-running-out-\(UUID().uuidString)"
        errPath = folder + "vhdtool-running-err-\(UUID().uuidString)"
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var pipeEnds: [Int32] = [-1, -1]
        if holdInput {
            guard pipe(&pipeEnds) == 0 else { throw POSIXError(.EIO) }
            for end in pipeEnds { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
            posix_spawn_file_actions_adddup2(&actions, pipeEnds[0], 0)
        } else {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        }
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        var merged = ProcessInfo.processInfo.environment
        merged.merge(environment) { $1 }
        let envp = merged.map { strdup("\($0)=\($1)") } + [nil]
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var attributes = RunningProcess.shellLikeSpawnAttributes()
        defer { posix_spawnattr_destroy(&attributes) }
        var child = pid_t()
        let spawned = posix_spawn(&child, executable, &actions, &attributes, argv, envp)
        if holdInput { close(pipeEnds[0]) }
        guard spawned == 0 else {
            if holdInput { close(pipeEnds[1]) }
            throw POSIXError(POSIXErrorCode(rawValue: spawned) ?? .EIO)
        }
        pid = child
        input = holdInput ? pipeEnds[1] : nil
    }

    deinit {
        if finished == nil {
            kill(pid, SIGKILL)
            _ = finish(limit: 10)
        }
    }

    /// Sends `signal` to the process.
    func send(_ signal: Int32) { kill(pid, signal) }

    /// Closes its input (qemu-io then quits) and waits for it to exit, at most `limit`
    /// seconds; past that it is killed and the test records a hang.
    @discardableResult
    func finish(limit: Double = 120) -> ExternalTool.Output {
        if let finished { return finished }
        if let input {
            close(input)
            self.input = nil
        }
        var status: Int32 = 0
        var waited = 0.0
        while true {
            let reaped = waitpid(pid, &status, WNOHANG)
            if reaped == pid { break }
            if reaped < 0 && errno != EINTR { break }
            if waited > limit {
                Issue.record("process \(pid) did not exit within \(limit) s: killed")
                kill(pid, SIGKILL)
                while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
                break
            }
            usleep(20_000)
            waited += 0.02
        }
        let exitStatus = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
        let output = ExternalTool.Output(
            status: exitStatus,
            stdout: (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "")
        unlink(outPath)
        unlink(errPath)
        finished = output
        return output
    }

    /// Runs `executable` and waits at most `limit` seconds for it (a hang is killed and fails).
    static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:], limit: Double = 120) throws -> ExternalTool.Output {
        try RunningProcess(executable, arguments, environment: environment).finish(limit: limit)
    }

    /// Waits until `condition` holds, at most `limit` seconds; false if it never did.
    static func waitUntil(limit: Double = 120, _ condition: () -> Bool) -> Bool {
        var waited = 0.0
        while !condition() {
            if waited > limit { return false }
            usleep(20_000)
            waited += 0.02
        }
        return true
    }

    /// Whether some open file description holds an OFD lock on byte `byte` of the file at
    /// `path` (from /proc/locks).
    static func isLocked(_ path: String, byte: Int) -> Bool {
        var status = stat()
        guard stat(path, &status) == 0, let locks = try? String(contentsOfFile: "/proc/locks", encoding: .utf8) else { return false }
        for line in locks.split(separator: "\n") where line.contains("OFDLCK") {
            let fields = line.split(separator: " ")
            guard fields.count >= 8, let inode = fields[5].split(separator: ":").last.flatMap({ UInt64($0) }),
                  inode == UInt64(status.st_ino), let start = Int(fields[6]), let end = Int(fields[7]) else { continue }
            if (start...end).contains(byte) { return true }
        }
        return false
    }
}
