import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Replication workers (`version replicate --worker`) and `version create --no-wait`, with real
/// processes; each test ends with `store check --deep` clean and every replica verified.
///
/// Several hosts are played on one machine by giving each worker its own `VHDTOOL_HOST`: a
/// worker then knows another's job only by its lease, which expires after
/// `VHDTOOL_LEASE_SECONDS` without renewal.
@Suite(.serialized) struct GalleryWorkerTests {
    /// `version create --no-wait` of `version` to `regions`.
    func createNoWait(_ gallery: GalleryFixture, _ version: String, os: String, regions: [String]) throws {
        let created = try gallery.createVersion(version, os: os, ["--no-wait"] + regions.flatMap { ["--target-region", $0] })
        #expect(created.status == 0, "\(created.stderr)")
    }

    /// A worker in the background, as host `host`.
    func startWorker(
        _ gallery: GalleryFixture, host: String, _ extra: [String] = ["--once"], pause: Int = 0, leaseSeconds: Int? = nil
    ) throws -> BackgroundCommand {
        var environment = ["VHDTOOL_HOST": host]
        environment["VHDTOOL_LEASE_SECONDS"] = leaseSeconds.map(String.init)
        return try BackgroundCommand(["version", "replicate", "--worker", "--json", "--store", gallery.store] + extra,
                                     pauseMilliseconds: pause, environment: environment)
    }

    /// The `done` count of a worker's JSON report.
    func done(_ output: String) -> Int? {
        (try? JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any])?["done"] as? Int
    }

    func versionJSON(_ gallery: GalleryFixture, _ version: String) throws -> [String: Any] {
        try gallery.json(["version", "show", version, "--gallery", "g", "--definition", "ubuntu"])
    }

    func progress(_ json: [String: Any]) -> Int? {
        (json["replicationStatus"] as? [String: Any])?["progress"] as? Int
    }

    /// `--no-wait` records the version (Creating, 0%, no replica file) and returns; a worker
    /// with `--once` makes every replica, the version becomes Succeeded at 100%.
    @Test func noWaitThenAWorkerOnce() throws {
        let gallery = try GalleryFixture()
        guard let os = try gallery.qemuDisk("os.vhd", size: "8M", writes: ["write -P 0x31 0 1M"]) else { return }
        try gallery.standardDefinition()
        try createNoWait(gallery, "1.0.0", os: os, regions: ["westus=2", "eastus"])
        let recorded = try versionJSON(gallery, "1.0.0")
        #expect(recorded["provisioningState"] as? String == "Creating" && progress(recorded) == 0, "\(recorded)")
        #expect(gallery.files(under: gallery.region("westus")).isEmpty && gallery.files(under: gallery.region("eastus")).isEmpty)

        let worker = try gallery.run(["version", "replicate", "--worker", "--once", "-q", "--json"])
        #expect(worker.status == 0 && done(worker.stdout) == 3, "\(worker.stdout) \(worker.stderr)")
        let finished = try versionJSON(gallery, "1.0.0")
        #expect(finished["provisioningState"] as? String == "Succeeded" && progress(finished) == 100, "\(finished)")
        #expect(gallery.files(under: gallery.region("westus")) == ["g/ubuntu/1.0.0/os-1.vhd", "g/ubuntu/1.0.0/os-2.vhd"])
        // Nothing left: another worker finds nothing to do.
        let idle = try gallery.run(["version", "replicate", "--worker", "--once", "-q", "--json"])
        #expect(idle.status == 0 && done(idle.stdout) == 0, "\(idle.stdout) \(idle.stderr)")
        try gallery.expectStoreClean(versions: ["1.0.0"])
    }

    /// Two workers on two "hosts" split one version's six jobs: each job is done once (the
    /// workers' counts add up to six), by both workers, and every replica has the digest.
    @Test func twoWorkersSplitOneVersionsJobs() throws {
        let gallery = try GalleryFixture()
        guard let os = try gallery.qemuDisk("os.vhd", size: "8M", writes: ["write -P 0x32 0 1M"]) else { return }
        try gallery.standardDefinition()
        try createNoWait(gallery, "1.0.0", os: os, regions: ["westus=3", "eastus=3"])
        // The first worker holds each replica 2 s before naming it; the second starts once
        // the first is inside its first job, so both have work.
        let first = try startWorker(gallery, host: "host-a", pause: 2000)
        gallery.waitForPartialFile(in: "westus")
        let second = try startWorker(gallery, host: "host-b")
        let (a, b) = (first.wait(), second.wait())
        #expect(a.status == 0 && b.status == 0, "\(a.stderr) \(b.stderr)")
        let (doneA, doneB) = (done(a.stdout) ?? -1, done(b.stdout) ?? -1)
        #expect(doneA + doneB == 6 && doneA >= 1 && doneB >= 1, "\(a.stdout) \(b.stdout)")
        #expect(try versionJSON(gallery, "1.0.0")["provisioningState"] as? String == "Succeeded")
        #expect(gallery.files(under: gallery.region("eastus")).count == 3 && gallery.files(under: gallery.region("westus")).count == 3)
        try gallery.expectStoreClean(versions: ["1.0.0"])
    }

    /// A worker SIGKILLed mid-copy on one host leaves its job running under a lease that
    /// expires; a worker on another host then takes the job over and finishes it (its partial
    /// file removed), and the version becomes Succeeded.
    @Test func aKilledWorkersJobIsTakenOverWhenItsLeaseExpires() throws {
        let gallery = try GalleryFixture()
        guard let os = try gallery.qemuDisk("os.vhd", size: "8M", writes: ["write -P 0x33 0 1M"]) else { return }
        try gallery.standardDefinition()
        try createNoWait(gallery, "1.0.0", os: os, regions: ["westus"])
        let killed = try startWorker(gallery, host: "host-a", pause: 60_000, leaseSeconds: 2)
        gallery.waitForPartialFile(in: "westus")
        killed.kill()
        let held = try gallery.show("1.0.0")
        #expect(held.stdout.contains("Creating"), "\(held.stdout)")
        // Past the dead worker's lease (2 s from its last renewal).
        usleep(3_000_000)
        let taker = try startWorker(gallery, host: "host-b", leaseSeconds: 2).wait()
        #expect(taker.status == 0 && done(taker.stdout) == 1, "\(taker.stdout) \(taker.stderr)")
        #expect(try versionJSON(gallery, "1.0.0")["provisioningState"] as? String == "Succeeded")
        #expect(gallery.files(under: gallery.region("westus")) == ["g/ubuntu/1.0.0/os-1.vhd"])
        try gallery.expectStoreClean(versions: ["1.0.0"])
    }

    /// SIGTERM ends a waiting worker cleanly: the copy under way stops, its partial file is
    /// removed and its job is pending again; the next worker makes it.
    @Test func sigtermStopsAWorkerCleanly() throws {
        let gallery = try GalleryFixture()
        guard let os = try gallery.qemuDisk("os.vhd", size: "8M", writes: ["write -P 0x34 0 1M"]) else { return }
        try gallery.standardDefinition()
        try createNoWait(gallery, "1.0.0", os: os, regions: ["westus"])
        let worker = try startWorker(gallery, host: "host-a", [], pause: 60_000)
        gallery.waitForPartialFile(in: "westus")
        worker.signal(SIGTERM)
        let stopped = worker.wait(atMost: 60)
        #expect(stopped.status == 0, "\(stopped.stdout) \(stopped.stderr)")
        #expect(gallery.files(under: gallery.region("westus")).isEmpty, "\(gallery.files(under: gallery.region("westus")))")
        let pending = try versionJSON(gallery, "1.0.0")
        #expect(pending["provisioningState"] as? String == "Creating" && progress(pending) == 0, "\(pending)")
        let next = try gallery.run(["version", "replicate", "--worker", "--once", "-q", "--json"])
        #expect(next.status == 0 && done(next.stdout) == 1, "\(next.stdout) \(next.stderr)")
        try gallery.expectStoreClean(versions: ["1.0.0"])
    }

    /// `--worker` takes no version; a version without `--worker` needs its gallery and definition.
    @Test func workerArgumentsAreChecked() throws {
        let gallery = try GalleryFixture()
        try gallery.refused(["version", "replicate", "1.0.0", "--worker"], status: 64, "give no version")
        try gallery.refused(["version", "replicate", "--once"], status: 64, "Missing expected argument '<version>'")
        try gallery.refused(["version", "replicate", "--worker", "--region", "nowhere", "--once"], status: 2, "there is no region named 'nowhere'")
    }
}
