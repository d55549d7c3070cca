import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Runs the oracles (qemu-img, vhdiinfo) and the built vhdtool from tests.
package enum ExternalTool {
    /// The absolute path of `name` on PATH, or nil.
    package static func find(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(name)" }
            .first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    package struct Output: Sendable {
        package var status: Int32
        package var stdout: String
        package var stderr: String

        package init(status: Int32, stdout: String, stderr: String) {
            self.status = status
            self.stdout = stdout
            self.stderr = stderr
        }
    }

    /// Runs `executable` with `arguments` and waits for it to exit.
    ///
    /// Spawned with posix_spawn and reaped with waitpid, output through temporary files: a tool
    /// that leaves a daemon behind (vhdimount keeps serving its mount) holds no pipe or
    /// descriptor of ours that could keep this call waiting.
    package static func run(_ executable: String, _ arguments: [String], stdoutTo stdoutFile: String? = nil) throws -> Output {
        let folder = FileManager.default.temporaryDirectory.path
        let outPath = stdoutFile ?? folder + "/vhdtool-test-out-\(UUID().uuidString)"
        let errPath = folder + "/vhdtool-test-err-\(UUID().uuidString)"
        defer {
            if stdoutFile == nil { unlink(outPath) }
            unlink(errPath)
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid = pid_t()
        let spawned = posix_spawn(&pid, executable, &actions, nil, argv, environ)
        guard spawned == 0 else { throw POSIXError(POSIXErrorCode(rawValue: spawned) ?? .EIO) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let exitStatus = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
        return Output(
            status: exitStatus,
            stdout: String(decoding: (try? Data(contentsOf: URL(fileURLWithPath: outPath))) ?? Data(), as: UTF8.self),
            stderr: String(decoding: (try? Data(contentsOf: URL(fileURLWithPath: errPath))) ?? Data(), as: UTF8.self))
    }

    /// The vhdtool executable built beside the test bundle.
    package static var vhdtool: String? {
        var url = Bundle.main.bundleURL
        for _ in 0..<4 {
            let candidate = url.appendingPathComponent("vhdtool").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            url.deleteLastPathComponent()
        }
        let debug = TestPaths.repositoryRoot.appendingPathComponent(".build/debug/vhdtool").path
        return FileManager.default.isExecutableFile(atPath: debug) ? debug : nil
    }
}

extension ExternalTool {
    /// The virtual disk of `image` as vhdimount (libvhdi) reads it, through its parents; nil
    /// when vhdimount or FUSE is not here. Throws when mounting fails, or when vhdimount is
    /// missing and VHDTOOL_REQUIRE_ORACLES=1. vhdimount shows every layer as vhdi1, vhdi2, ...:
    /// the last is the disk opened, so `layerCount` says which to read.
    package static func vhdimountRead(_ image: String, layerCount: Int) throws -> [UInt8]? {
        guard let vhdimount = find("vhdimount") else {
            if ProcessInfo.processInfo.environment["VHDTOOL_REQUIRE_ORACLES"] == "1" {
                throw OracleError(message: "vhdimount is not installed but VHDTOOL_REQUIRE_ORACLES=1")
            }
            return nil
        }
        guard FileManager.default.fileExists(atPath: "/dev/fuse") else { return nil }
        let mountPoint = FileManager.default.temporaryDirectory.appendingPathComponent("vhdtool-mount-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: mountPoint) }
        let mount = try run(vhdimount, [image, mountPoint])
        guard mount.status == 0 else { throw OracleError(message: "vhdimount failed: \(mount.stderr)") }
        defer { unmount(mountPoint) }
        return try Array(Data(contentsOf: URL(fileURLWithPath: mountPoint + "/vhdi\(layerCount)")))
    }

    /// Unmounts a FUSE mount, retrying while it is busy and detaching it lazily at last, so that
    /// no test leaves a mount behind.
    static func unmount(_ mountPoint: String) {
        for _ in 0..<20 {
            if (try? run("/bin/umount", [mountPoint]))?.status == 0 { return }
            usleep(100_000)
        }
        _ = try? run("/bin/umount", ["-l", mountPoint])
    }
}

/// An oracle that should have answered did not.
package struct OracleError: Error, CustomStringConvertible {
    package var message: String
    package var description: String { message }
}
