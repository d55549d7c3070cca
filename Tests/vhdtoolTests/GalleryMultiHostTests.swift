import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A private PostgreSQL server of one test (scripts/postgres), which the test may stop and
/// start again: the connection-cut test must not stop the server the other tests share.
final class PrivatePostgresServer {
    let folder: String
    let url: String

    init() throws {
        let started = try ExternalTool.run(Self.script, ["start"])
        guard started.status == 0 else { throw GalleryTestServer.Missing(description: "scripts/postgres start: \(started.stderr)") }
        folder = started.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        url = try ExternalTool.run(Self.script, ["url", folder]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        // scripts/postgres turns synchronous_commit off (a throwaway server), so a commit is
        // on disk only some time after it returns and an immediate stop may lose it: this
        // server is stopped that way, so its database commits durably again (a setting of the
        // database outranks the server's command line).
        let psql = try #require(ExternalTool.find("psql"), "psql is not installed")
        let durable = try ExternalTool.run(psql, ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-c",
                                                  "ALTER DATABASE vhdtool SET synchronous_commit = on"])
        #expect(durable.status == 0, "\(durable.stderr)")
    }

    static var script: String { TestPaths.repositoryRoot.appendingPathComponent("scripts/postgres").path }

    /// pg_ctl as the server's owner (`postgres` when the tests run as root, as scripts/postgres does).
    func pgCtl(_ arguments: [String]) throws -> ExternalTool.Output {
        let pgCtl = try #require(ExternalTool.find("pg_ctl"), "pg_ctl is not on PATH")
        let all = arguments + ["-D", folder + "/data"]
        if getuid() == 0 {
            let runuser = try #require(ExternalTool.find("runuser"), "runuser is not on PATH")
            return try ExternalTool.run(runuser, ["-u", "postgres", "--", pgCtl] + all)
        }
        return try ExternalTool.run(pgCtl, all)
    }

    /// Stops the server at once, as a crash or a cut network would (open connections are dropped).
    func stopImmediately() throws {
        let stopped = try pgCtl(["stop", "-w", "-t", "30", "-m", "immediate"])
        #expect(stopped.status == 0, "pg_ctl stop: \(stopped.stderr)")
    }

    /// Starts the stopped server again with its first options (pg_ctl restart reads them from
    /// postmaster.opts when no server runs).
    func restart() throws {
        let started = try pgCtl(["restart", "-w", "-t", "60", "-l", folder + "/data/server.log"])
        #expect(started.status == 0, "pg_ctl restart: \(started.stdout) \(started.stderr)")
    }

    deinit {
        _ = try? ExternalTool.run(Self.script, ["stop", folder])
    }
}

/// One gallery on one PostgreSQL database, used by several "hosts": each command runs as a
/// process with its own `VHDTOOL_HOST`, its own working folder (current folder and TMPDIR), and
/// the region folders shared, as a shared mount would be.
final class MultiHostGallery {
    let folder: TemporaryFolder
    let store: String

    /// Whether the store is a database of its own on the test server, dropped when the gallery ends.
    private let dropsStore: Bool

    init(store: String, regions: [String] = ["westus", "eastus"], dropsStore: Bool = false) throws {
        folder = try TemporaryFolder()
        self.store = store
        self.dropsStore = dropsStore
        for region in regions {
            try FileManager.default.createDirectory(atPath: self.region(region), withIntermediateDirectories: true)
            try ok(["region", "add", region, self.region(region)], host: "admin")
        }
        try ok(["gallery", "create", "g"], host: "admin")
        try ok(["definition", "create", "ubuntu", "--gallery", "g", "--publisher", "Canonical", "--offer", "Ubuntu",
                "--sku", "22_04", "--os-type", "linux", "--os-state", "generalized"], host: "admin")
    }

    /// A gallery on a new database of its own on the test server, dropped when it ends.
    static func onNewDatabase() throws -> MultiHostGallery {
        try MultiHostGallery(store: GalleryTestServer.newDatabase(), dropsStore: true)
    }

    deinit {
        // The test's processes have ended or been killed by now (FORCE closes what a failed one left).
        if dropsStore { try? GalleryTestServer.dropDatabase(store) }
    }

    func region(_ name: String) -> String { folder.file("regions/" + name) }

    /// Starts `vhdtool arguments --store STORE` as host `host` in the background.
    func start(
        _ arguments: [String], host: String, pause: Int = 0, leaseSeconds: Int? = nil
    ) throws -> BackgroundCommand {
        let working = folder.file("hosts/" + host)
        try FileManager.default.createDirectory(atPath: working, withIntermediateDirectories: true)
        var environment = ["VHDTOOL_HOST": host, "TMPDIR": working]
        environment["VHDTOOL_LEASE_SECONDS"] = leaseSeconds.map(String.init)
        return try BackgroundCommand(arguments + ["--store", store], pauseMilliseconds: pause, environment: environment,
                                     workingFolder: working)
    }

    /// Runs a command as host `host` and waits for it (at most 60 s: a hung command fails).
    func run(_ arguments: [String], host: String, leaseSeconds: Int? = nil) throws -> BackgroundCommand.Result {
        try start(arguments, host: host, leaseSeconds: leaseSeconds).wait(atMost: 60)
    }

    @discardableResult
    func ok(_ arguments: [String], host: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let output = try run(arguments, host: host)
        #expect(output.status == 0, "\(arguments.joined(separator: " ")): \(output.stderr)", sourceLocation: sourceLocation)
        return output.stdout
    }

    /// `version create version` of `os` to `regions` (NAME or NAME=COUNT), in the background.
    func startCreate(_ version: String, os: String, regions: [String], host: String, _ extra: [String] = [],
                     pause: Int = 0, leaseSeconds: Int? = nil) throws -> BackgroundCommand {
        try start(["version", "create", version, "--gallery", "g", "--definition", "ubuntu", "--os-vhd", os,
                   "--os-state", "generalized", "-q"] + regions.flatMap { ["--target-region", $0] } + extra,
                  host: host, pause: pause, leaseSeconds: leaseSeconds)
    }

    /// A replication worker as host `host`.
    func startWorker(host: String, _ extra: [String] = ["--once"], pause: Int = 0, leaseSeconds: Int? = nil) throws -> BackgroundCommand {
        try start(["version", "replicate", "--worker", "--json", "-q"] + extra, host: host, pause: pause, leaseSeconds: leaseSeconds)
    }

    /// The `done` count of a worker's JSON report.
    func done(_ output: BackgroundCommand.Result) -> Int? {
        (try? JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any])?["done"] as? Int
    }

    func versionJSON(_ version: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
        let text = try ok(["version", "show", version, "--gallery", "g", "--definition", "ubuntu", "--json"], host: "checker",
                          sourceLocation: sourceLocation)
        return try #require(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "\(text)")
    }

    func versionNames() throws -> [String] {
        let text = try ok(["version", "list", "--gallery", "g", "--definition", "ubuntu", "--json"], host: "checker")
        let list = try #require(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]], "\(text)")
        return list.compactMap { $0["name"] as? String }.sorted()
    }

    /// A VHD of 4 MiB with `pattern` in its first 512 KiB, made by qemu-img and qemu-io; nil without them.
    func qemuDisk(_ name: String, pattern: UInt8) throws -> String? {
        guard let qemuImg = ExternalTool.find("qemu-img"), let qemuIO = ExternalTool.find("qemu-io") else {
            if InspectInteropTests.requireOracles { Issue.record("qemu-img/qemu-io are not installed") }
            return nil
        }
        let path = folder.file(name)
        #expect(try ExternalTool.run(qemuImg, ["create", "-f", "vpc", "-o", "subformat=dynamic", path, "4M"]).status == 0)
        #expect(try ExternalTool.run(qemuIO, ["-f", "vpc", "-c", "write -P \(pattern) 0 512k", path]).status == 0)
        return path
    }

    func files(under path: String) -> [String] {
        (FileManager.default.enumerator(atPath: path)?.allObjects as? [String] ?? []).filter {
            var isFolder: ObjCBool = false
            return FileManager.default.fileExists(atPath: path + "/" + $0, isDirectory: &isFolder) && !isFolder.boolValue
        }.sorted()
    }

    /// Waits (up to 60 s) until a partial replica file is in `region`'s folder.
    func waitForPartialFile(in region: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if files(under: self.region(region)).contains(where: { $0.hasSuffix(".vhdtool-partial") }) { return }
            usleep(20_000)
        }
        Issue.record("no partial file appeared in \(region)", sourceLocation: sourceLocation)
    }

    /// `store check --deep` exits 0, and every Completed region of every version given holds its
    /// replicas, each with the recorded digest as `vhdtool digest` computes it.
    func expectStoreClean(versions: [String], sourceLocation: SourceLocation = #_sourceLocation) throws {
        let check = try run(["store", "check", "--deep"], host: "checker")
        #expect(check.status == 0, "store check: \(check.stdout) \(check.stderr)", sourceLocation: sourceLocation)
        let vhdtool = try #require(ExternalTool.vhdtool, "vhdtool is not built")
        for version in versions {
            let json = try versionJSON(version, sourceLocation: sourceLocation)
            let disk = (json["storageProfile"] as? [String: Any])?["osDiskImage"] as? [String: Any]
            let recorded = try #require(disk?["digest"] as? String, "\(version) records no digest: \(json)", sourceLocation: sourceLocation)
            let targets = ((json["publishingProfile"] as? [String: Any])?["targetRegions"] as? [[String: Any]]) ?? []
            let summary = ((json["replicationStatus"] as? [String: Any])?["summary"] as? [[String: Any]]) ?? []
            for entry in summary where entry["state"] as? String == "Completed" {
                let name = try #require(entry["region"] as? String)
                let count = targets.first { ($0["name"] as? String)?.lowercased() == name.lowercased() }?["regionalReplicaCount"] as? Int
                let replicas = files(under: region(name.lowercased()) + "/g/ubuntu/" + version)
                #expect(replicas == (1...(count ?? 1)).map { "os-\($0).vhd" }, "\(version) in \(name): \(replicas)",
                        sourceLocation: sourceLocation)
                for replica in replicas {
                    let digest = try ExternalTool.run(vhdtool, ["digest", "-q", region(name.lowercased()) + "/g/ubuntu/\(version)/" + replica])
                    #expect(digest.status == 0 && digest.stdout.hasPrefix(recorded + " "),
                            "\(version)/\(name)/\(replica): \(digest.stdout) \(digest.stderr), recorded \(recorded)", sourceLocation: sourceLocation)
                }
            }
        }
    }
}

/// The gallery on one PostgreSQL server used by several hosts at once: publishers and workers are
/// vhdtool processes with their own `VHDTOOL_HOST` and working folders, the region folders shared.
/// Each test ends with `store check --deep` clean and every Completed replica present with its
/// recorded digest.
@Suite(.serialized, .enabled(if: GalleryTestServer.isConfigured))
struct GalleryMultiHostTests {
    /// The error lines of a command's stderr (its warnings about the disk are other lines).
    func errorLines(_ stderr: String) -> [Substring] {
        stderr.split(separator: "\n").filter { $0.hasPrefix("Error: ") }
    }

    /// Four publishers on four hosts create four versions at once (two with `--no-wait`, two
    /// waiting for their copies); two workers on two more hosts then make the pending copies.
    /// Every version is recorded and Succeeded, and no job is lost or done twice.
    @Test func fourPublishersCreateDifferentVersionsAtOnce() throws {
        let gallery = try MultiHostGallery.onNewDatabase()
        guard let os = try gallery.qemuDisk("os.vhd", pattern: 0x41) else { return }
        let versions = ["1.0.0", "1.0.1", "1.1.0", "2.0.0"]
        let creates = try versions.enumerated().map { index, version in
            try gallery.startCreate(version, os: os, regions: ["westus", "eastus"], host: "publisher-\(index)",
                                    index < 2 ? ["--no-wait"] : [], pause: 200)
        }
        for (version, create) in zip(versions, creates) {
            let output = create.wait(atMost: 60)
            #expect(output.status == 0, "\(version): \(output.stderr)")
        }
        #expect(try gallery.versionNames() == versions)
        // The two --no-wait versions left 2 jobs each; the workers' counts add up to them.
        let workers = try ["worker-a", "worker-b"].map { try gallery.startWorker(host: $0, pause: 200) }
        let reports = workers.map { $0.wait(atMost: 60) }
        for report in reports { #expect(report.status == 0, "\(report.stdout) \(report.stderr)") }
        #expect(reports.map { gallery.done($0) ?? -100 }.reduce(0, +) == 4, "\(reports.map(\.stdout))")
        for version in versions {
            let json = try gallery.versionJSON(version)
            let progress = (json["replicationStatus"] as? [String: Any])?["progress"] as? Int
            #expect(json["provisioningState"] as? String == "Succeeded" && progress == 100, "\(version): \(json)")
        }
        let latest = try gallery.ok(["version", "latest", "--gallery", "g", "--definition", "ubuntu"], host: "checker")
        #expect(latest.contains("2.0.0"), "\(latest)")
        try gallery.expectStoreClean(versions: versions)
    }

    /// Two hosts create the same version at once: one records and replicates it (exit 0), the
    /// other is refused (exit 3, already exists) and leaves nothing; one record, one set of files.
    @Test func twoHostsCreatingTheSameVersionOneWins() throws {
        let gallery = try MultiHostGallery.onNewDatabase()
        guard let os = try gallery.qemuDisk("os.vhd", pattern: 0x42) else { return }
        let creates = try ["host-a", "host-b"].map {
            try gallery.startCreate("1.0.0", os: os, regions: ["westus=2", "eastus"], host: $0, pause: 300)
        }
        let outputs = creates.map { $0.wait(atMost: 60) }
        #expect(outputs.map(\.status).sorted() == [0, 3], "\(outputs.map(\.stderr))")
        let refused = try #require(outputs.first { $0.status == 3 })
        let refusal = errorLines(refused.stderr)
        #expect(refusal.count == 1 && refusal[0].contains("already exists"), "\(refused.stderr)")
        #expect(try gallery.versionNames() == ["1.0.0"])
        #expect(gallery.files(under: gallery.region("westus")) == ["g/ubuntu/1.0.0/os-1.vhd", "g/ubuntu/1.0.0/os-2.vhd"])
        #expect(gallery.files(under: gallery.region("eastus")) == ["g/ubuntu/1.0.0/os-1.vhd"])
        try gallery.expectStoreClean(versions: ["1.0.0"])
    }

    /// A worker on host A is SIGKILLed while it holds a copy (before the replica gets its name);
    /// its job stays running under A's lease, which another host must wait out. A worker on
    /// host B started before the lease expires leaves the job alone; one started after takes it
    /// over and makes the replica: the job done once, A's partial file gone, the digest right.
    @Test func aWorkerKilledOnOneHostIsFinishedByAnother() throws {
        let gallery = try MultiHostGallery.onNewDatabase()
        guard let os = try gallery.qemuDisk("os.vhd", pattern: 0x43) else { return }
        let created = try gallery.startCreate("1.0.0", os: os, regions: ["westus"], host: "publisher", ["--no-wait"]).wait(atMost: 60)
        #expect(created.status == 0, "\(created.stderr)")
        let killed = try gallery.startWorker(host: "host-a", pause: 60_000, leaseSeconds: 2)
        gallery.waitForPartialFile(in: "westus")
        killed.kill()
        // Host B cannot tell a dead process on host A from a live one: the lease is still
        // held, so the job is not its to take (this runs well within A's 2 s lease only when
        // the machine is not too slow; a 0 here could only mean it ran late, so it is not asserted
        // beyond "at most the one job").
        let early = try gallery.startWorker(host: "host-b", leaseSeconds: 2).wait(atMost: 60)
        #expect(early.status == 0 && (gallery.done(early) ?? -1) <= 1, "\(early.stdout) \(early.stderr)")
        let tookItEarly = gallery.done(early) == 1
        if !tookItEarly {
            #expect(try gallery.versionJSON("1.0.0")["provisioningState"] as? String == "Creating")
            // Past the dead worker's lease (2 s from its last renewal).
            usleep(3_000_000)
            let taker = try gallery.startWorker(host: "host-b", leaseSeconds: 2).wait(atMost: 60)
            #expect(taker.status == 0 && gallery.done(taker) == 1, "\(taker.stdout) \(taker.stderr)")
        }
        let idle = try gallery.startWorker(host: "host-c").wait(atMost: 60)
        #expect(idle.status == 0 && gallery.done(idle) == 0, "\(idle.stdout) \(idle.stderr)")
        #expect(try gallery.versionJSON("1.0.0")["provisioningState"] as? String == "Succeeded")
        #expect(gallery.files(under: gallery.region("westus")) == ["g/ubuntu/1.0.0/os-1.vhd"])
        try gallery.expectStoreClean(versions: ["1.0.0"])
    }

    /// The server stops (immediately, as a crash would) while a `version create` on host A waits
    /// for its copies: the create fails with exit 1 and one sentence naming the connection.
    /// After a restart the version is either absent or recorded with its jobs, and a replicate
    /// from host B completes it. On a private server: the shared one must stay up.
    @Test func aConnectionCutMidCreateLeavesNothingHalfRecorded() throws {
        let server = try PrivatePostgresServer()
        let gallery = try MultiHostGallery(store: server.url)
        guard let os = try gallery.qemuDisk("os.vhd", pattern: 0x44) else { return }
        let create = try gallery.startCreate("1.0.0", os: os, regions: ["westus", "eastus"], host: "host-a", pause: 3000, leaseSeconds: 2)
        gallery.waitForPartialFile(in: "westus")
        try server.stopImmediately()
        let failed = create.wait(atMost: 60)
        #expect(failed.status == 1, "\(failed.status): \(failed.stdout) \(failed.stderr)")
        let error = errorLines(failed.stderr)
        #expect(error.count == 1 && error[0].contains("connection"), "\(failed.stderr)")
        try server.restart()

        let names = try gallery.versionNames()
        #expect(names == [] || names == ["1.0.0"], "\(names)")
        if names == ["1.0.0"] {
            // Recorded with its jobs: host A's lease expires (2 s), then host B finishes it.
            usleep(3_000_000)
            let replicated = try gallery.run(["version", "replicate", "1.0.0", "--gallery", "g", "--definition", "ubuntu", "-q", "--json"],
                                             host: "host-b", leaseSeconds: 2)
            #expect(replicated.status == 0, "\(replicated.stdout) \(replicated.stderr)")
        } else {
            // Nothing recorded: the rerun creates it.
            let rerun = try gallery.startCreate("1.0.0", os: os, regions: ["westus", "eastus"], host: "host-b").wait(atMost: 60)
            #expect(rerun.status == 0, "\(rerun.stderr)")
        }
        #expect(try gallery.versionJSON("1.0.0")["provisioningState"] as? String == "Succeeded")
        #expect(gallery.files(under: gallery.region("westus")) == ["g/ubuntu/1.0.0/os-1.vhd"])
        #expect(gallery.files(under: gallery.region("eastus")) == ["g/ubuntu/1.0.0/os-1.vhd"])
        try gallery.expectStoreClean(versions: ["1.0.0"])
    }

    /// The server stops (immediately) while a worker on host A holds a copy: the worker fails
    /// with exit 1 and one sentence naming the connection, its job is still recorded running
    /// under A's lease after a restart, and once that lease expires a worker on host B does it.
    @Test func aConnectionCutUnderAWorkerLeavesItsJobToAnother() throws {
        let server = try PrivatePostgresServer()
        let gallery = try MultiHostGallery(store: server.url)
        guard let os = try gallery.qemuDisk("os.vhd", pattern: 0x45) else { return }
        let created = try gallery.startCreate("1.0.0", os: os, regions: ["westus"], host: "publisher", ["--no-wait"]).wait(atMost: 60)
        #expect(created.status == 0, "\(created.stderr)")
        let worker = try gallery.startWorker(host: "host-a", pause: 3000, leaseSeconds: 2)
        gallery.waitForPartialFile(in: "westus")
        try server.stopImmediately()
        let failed = worker.wait(atMost: 60)
        #expect(failed.status == 1, "\(failed.status): \(failed.stdout) \(failed.stderr)")
        let error = errorLines(failed.stderr)
        #expect(error.count == 1 && error[0].contains("connection"), "\(failed.stderr)")
        try server.restart()

        #expect(try gallery.versionJSON("1.0.0")["provisioningState"] as? String == "Creating")
        usleep(3_000_000)
        let taker = try gallery.startWorker(host: "host-b", leaseSeconds: 2).wait(atMost: 60)
        #expect(taker.status == 0 && gallery.done(taker) == 1, "\(taker.stdout) \(taker.stderr)")
        #expect(try gallery.versionJSON("1.0.0")["provisioningState"] as? String == "Succeeded")
        #expect(gallery.files(under: gallery.region("westus")) == ["g/ubuntu/1.0.0/os-1.vhd"])
        try gallery.expectStoreClean(versions: ["1.0.0"])
    }
}
