import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A vhdtool process started in the background (for the gallery's concurrency tests): its
/// output goes to files, it is waited for or killed by its pid.
final class BackgroundCommand: @unchecked Sendable {
    let pid: pid_t
    private let outPath: String
    private let errPath: String
    private var result: Result?

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Starts `vhdtool arguments`; `pauseMilliseconds` holds each replica that long before it
    /// gets its name (VHDTOOL_TEST_REPLICA_PAUSE_MS), so a test can act while a copy is under way.
    /// `workingFolder`, when given, is the process's current folder (a host's own folder).
    init(
        _ arguments: [String], pauseMilliseconds: Int = 0, environment extra: [String: String] = [:], workingFolder: String? = nil
    ) throws {
        let vhdtool = try #require(ExternalTool.vhdtool, "vhdtool is not built")
        let folder = FileManager.default.temporaryDirectory.path
        outPath = folder + "/vhdtool-bg-out-\(UUID().uuidString)"
        errPath = folder + "/vhdtool-bg-err-\(UUID().uuidString)"
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        if let workingFolder {
            // glibc (2.29+) has posix_spawn_file_actions_addchdir_np, but Swift's Glibc module
            // does not declare it: it is looked up by name.
            typealias AddChdir = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32
            guard let symbol = dlsym(nil, "posix_spawn_file_actions_addchdir_np") else { throw POSIXError(.ENOSYS) }
            _ = unsafeBitCast(symbol, to: AddChdir.self)(&actions, workingFolder)
        }
        let argv = ([vhdtool] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var environment = ProcessInfo.processInfo.environment
        environment["VHDTOOL_TEST_REPLICA_PAUSE_MS"] = pauseMilliseconds > 0 ? "\(pauseMilliseconds)" : nil
        environment.merge(extra) { $1 }
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { envp.forEach { free($0) } }
        var attributes = RunningProcess.shellLikeSpawnAttributes()
        defer { posix_spawnattr_destroy(&attributes) }
        var pid = pid_t()
        let spawned = posix_spawn(&pid, vhdtool, &actions, &attributes, argv, envp)
        guard spawned == 0 else { throw POSIXError(POSIXErrorCode(rawValue: spawned) ?? .EIO) }
        self.pid = pid
    }

    /// Waits for the process to end.
    @discardableResult
    func wait() -> Result {
        if let result { return result }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let exitStatus = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
        return finish(status: exitStatus)
    }

    /// Reads the output files of the ended process and keeps its result.
    private func finish(status exitStatus: Int32) -> Result {
        let output = Result(
            status: exitStatus,
            stdout: (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "")
        unlink(outPath)
        unlink(errPath)
        result = output
        return output
    }

    /// SIGKILL, then waits.
    func kill() {
        _ = Glibc.kill(pid, SIGKILL)
        wait()
    }

    /// Waits up to `seconds` for the process to end, then SIGKILLs it (its status then says
    /// so: 137), so that a process that does not end fails the test instead of hanging it.
    @discardableResult
    func wait(atMost seconds: Double) -> Result {
        let deadline = Date().addingTimeInterval(seconds)
        while result == nil && Date() < deadline {
            var status: Int32 = 0
            let ended = waitpid(pid, &status, WNOHANG)
            if ended == pid {
                let exitStatus = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
                return finish(status: exitStatus)
            }
            usleep(50_000)
        }
        if result == nil { _ = Glibc.kill(pid, SIGKILL) }
        return wait()
    }

    /// Sends `signal` (the process is still to be waited for).
    func signal(_ signal: Int32) {
        _ = Glibc.kill(pid, signal)
    }

    deinit {
        if result == nil { kill() }
    }
}

extension GalleryFixture {
    /// `version create` of `version` from `os` in the background.
    func startCreate(_ version: String, os: String, _ extra: [String] = [], pause: Int = 0) throws -> BackgroundCommand {
        try BackgroundCommand(["version", "create", version, "--gallery", "g", "--definition", "ubuntu", "--os-vhd", os,
                               "--os-state", "generalized", "-q", "--store", store] + extra, pauseMilliseconds: pause)
    }

    func startReplicate(_ version: String, _ extra: [String] = [], pause: Int = 0) throws -> BackgroundCommand {
        try BackgroundCommand(["version", "replicate", version, "--gallery", "g", "--definition", "ubuntu", "-q", "--json",
                               "--store", store] + extra, pauseMilliseconds: pause)
    }

    /// Waits (up to 60 s) until a partial replica file is in `region`'s folder.
    func waitForPartialFile(in region: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            let all = (FileManager.default.enumerator(atPath: self.region(region))?.allObjects as? [String]) ?? []
            if all.contains(where: { $0.hasSuffix(".vhdtool-partial") }) { return }
            usleep(20_000)
        }
        Issue.record("no partial file appeared in \(region)", sourceLocation: sourceLocation)
    }

    /// `store check` exits 0 and every version given verifies (every replica with its digest).
    func expectStoreClean(versions: [String], sourceLocation: SourceLocation = #_sourceLocation) throws {
        let check = try run(["store", "check", "--deep"])
        #expect(check.status == 0, "store check: \(check.stdout) \(check.stderr)", sourceLocation: sourceLocation)
        for version in versions {
            let verified = try run(["version", "show", version, "--gallery", "g", "--definition", "ubuntu", "--verify"])
            #expect(verified.status == 0, "\(version): \(verified.stderr)", sourceLocation: sourceLocation)
        }
    }

    func show(_ version: String) throws -> ExternalTool.Output {
        try run(["version", "show", version, "--gallery", "g", "--definition", "ubuntu"])
    }

    func aggregatedState(_ output: String) -> String? {
        let json = try? JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any]
        return (json?["replicationStatus"] as? [String: Any])?["aggregatedState"] as? String
    }
}

/// The gallery under several processes at once: each test runs real vhdtool processes and
/// ends with `store check --deep` clean and every replica verified.
@Suite(.serialized) struct GalleryConcurrencyTests {
    let regions = ["--target-region", "westus", "--target-region", "eastus"]

    @Test func replicateDuringACreateIsRefusedOrWaitsAndTheCreateSucceeds() throws {
        let gallery = try GalleryFixture()
        guard let os = try gallery.qemuDisk("os.vhd", size: "8M", writes: ["write -P 0x21 0 1M"]) else { return }
        try gallery.standardDefinition()
        let create = try gallery.startCreate("1.0.0", os: os, regions, pause: 1500)
        gallery.waitForPartialFile(in: "westus")
        let shown = try gallery.show("1.0.0")
        #expect(shown.stdout.contains("Creating (pid \(create.pid) on ") && shown.stdout.contains(", alive)"), "\(shown.stdout)")
        try gallery.refused(["version", "replicate", "1.0.0", "--gallery", "g", "--definition", "ubuntu", "-q"], status: 3,
                            "is held by creating (pid \(create.pid) on")
        let waited = try gallery.startReplicate("1.0.0", ["--wait"]).wait()
        let created = create.wait()
        #expect(created.status == 0, "\(created.stderr)")
        #expect(waited.status == 0 && gallery.aggregatedState(waited.stdout) == "Completed", "\(waited.stderr)")
        #expect(gallery.files(under: gallery.region("westus")) == ["g/ubuntu/1.0.0/os-1.vhd"])
        try gallery.expectStoreClean(versions: ["1.0.0"])
    }

    @Test func deleteDuringACreateIsRefusedAndWithWaitLeavesNoFile() throws {
        let gallery = try GalleryFixture()
        guard let os = try gallery.qemuDisk("os.vhd", size: "8M", writes: ["write -P 0x22 0 1M"]) else { return }
        try gallery.standardDefinition()
        let create = try gallery.startCreate("1.0.0", os: os, regions, pause: 1500)
        gallery.waitForPartialFile(in: "eastus")
        try gallery.refused(["version", "delete", "1.0.0", "--gallery", "g", "--definition", "ubuntu"], status: 3,
                            "is held by creating")
        try gallery.ok(["version", "delete", "1.0.0", "--gallery", "g", "--definition", "ubuntu", "--wait"])
        #expect(create.wait().status == 0)
        #expect(gallery.files(under: gallery.region("westus")).isEmpty)
        #expect(gallery.files(under: gallery.region("eastus")).isEmpty)
        try gallery.refused(["version", "show", "1.0.0", "--gallery", "g", "--definition", "ubuntu"], status: 2, "there is no image version")
        try gallery.expectStoreClean(versions: [])
    }

    @Test func twoReplicatesAtOnceShareTheJobsAndBothComplete() throws {
        let gallery = try GalleryFixture()
        guard let os = try gallery.qemuDisk("os.vhd", size: "8M", writes: ["write -P 0x23 0 1M"]) else { return }
        try gallery.standardDefinition()
        #expect(try gallery.createVersion("1.0.0", os: os, ["--target-region", "westus=2", "--target-region", "eastus=2"]).status == 0)
        for region in ["westus", "eastus"] {
            for index in [1, 2] { try FileManager.default.removeItem(atPath: gallery.region(region) + "/g/ubuntu/1.0.0/os-\(index).vhd") }
        }
        let first = try gallery.startReplicate("1.0.0", pause: 600)
        let second = try gallery.startReplicate("1.0.0", pause: 600)
        let outputs = [first.wait(), second.wait()]
        for output in outputs {
            #expect(output.status == 0 && gallery.aggregatedState(output.stdout) == "Completed", "\(output.stderr)")
        }
        #expect(gallery.files(under: gallery.region("eastus")) == ["g/ubuntu/1.0.0/os-1.vhd", "g/ubuntu/1.0.0/os-2.vhd"])
        try gallery.expectStoreClean(versions: ["1.0.0"])
    }

    @Test func severalCreatesOfDifferentVersionsAllSucceed() throws {
        let gallery = try GalleryFixture()
        guard let os = try gallery.qemuDisk("os.vhd", size: "4M", writes: ["write -P 0x24 0 512k"]) else { return }
        try gallery.standardDefinition()
        let versions = ["1.0.0", "1.0.1", "1.1.0", "2.0.0"]
        let creates = try versions.map { try gallery.startCreate($0, os: os, regions, pause: 100) }
        for (version, create) in zip(versions, creates) {
            let output = create.wait()
            #expect(output.status == 0, "\(version): \(output.stderr)")
        }
        #expect(try gallery.ok(["version", "list", "--gallery", "g", "--definition", "ubuntu"]).split(separator: "\n").count == 4)
        #expect(try gallery.json(["version", "latest", "--gallery", "g", "--definition", "ubuntu"])["name"] as? String == "2.0.0")
        try gallery.expectStoreClean(versions: versions)
    }

    @Test func aKilledCreateIsShownAbandonedAndReplicateTakesItOver() throws {
        let gallery = try GalleryFixture()
        guard let os = try gallery.qemuDisk("os.vhd", size: "8M", writes: ["write -P 0x25 0 1M"]) else { return }
        try gallery.standardDefinition()
        let create = try gallery.startCreate("1.0.0", os: os, regions, pause: 30_000)
        gallery.waitForPartialFile(in: "westus")
        let pid = create.pid
        create.kill()
        let shown = try gallery.show("1.0.0")
        #expect(shown.stdout.contains("Creating (abandoned: pid \(pid) on ") && shown.stdout.contains(" is gone)"), "\(shown.stdout)")
        #expect(try gallery.ok(["version", "list", "--gallery", "g", "--definition", "ubuntu"]).contains("abandoned: pid \(pid)"))
        // Found by store check before anything takes it over.
        let check = try gallery.run(["store", "check", "--json"])
        #expect(check.status == 2, "\(check.stdout)")
        #expect(check.stdout.contains("abandonedLease") && check.stdout.contains("partialFile"), "\(check.stdout)")
        try gallery.refused(["version", "latest", "--gallery", "g", "--definition", "ubuntu"], status: 2, "There is no latest")
        let replicated = try gallery.startReplicate("1.0.0").wait()
        #expect(replicated.status == 0 && gallery.aggregatedState(replicated.stdout) == "Completed", "\(replicated.stderr)")
        #expect(gallery.files(under: gallery.region("westus")) == ["g/ubuntu/1.0.0/os-1.vhd"])
        #expect(try gallery.show("1.0.0").stdout.contains("Provisioning:") )
        #expect(!(try gallery.show("1.0.0").stdout.contains("abandoned")))
        try gallery.expectStoreClean(versions: ["1.0.0"])
    }
}

extension GalleryConcurrencyTests {
    @Test func deleteDuringAReplicateIsRefusedAndWithWaitLeavesNoFile() throws {
        let gallery = try GalleryFixture()
        guard let os = try gallery.qemuDisk("os.vhd", size: "8M", writes: ["write -P 0x26 0 1M"]) else { return }
        try gallery.standardDefinition()
        #expect(try gallery.createVersion("1.0.0", os: os, regions).status == 0)
        for region in ["westus", "eastus"] { try FileManager.default.removeItem(atPath: gallery.region(region) + "/g/ubuntu/1.0.0/os-1.vhd") }
        let replicate = try gallery.startReplicate("1.0.0", pause: 1500)
        gallery.waitForPartialFile(in: "westus")
        try gallery.refused(["version", "delete", "1.0.0", "--gallery", "g", "--definition", "ubuntu"], status: 3,
                            "is being replicated by pid \(replicate.pid) on")
        try gallery.refused(["version", "update", "1.0.0", "--gallery", "g", "--definition", "ubuntu", "--tag", "a=b", "-q"], status: 3,
                            "is being replicated by pid \(replicate.pid) on")
        try gallery.ok(["version", "delete", "1.0.0", "--gallery", "g", "--definition", "ubuntu", "--wait"])
        let replicated = replicate.wait()
        #expect([0, 2].contains(replicated.status), "\(replicated.stderr)")
        #expect(gallery.files(under: gallery.region("westus")).isEmpty)
        #expect(gallery.files(under: gallery.region("eastus")).isEmpty)
        try gallery.expectStoreClean(versions: [])
    }
}
