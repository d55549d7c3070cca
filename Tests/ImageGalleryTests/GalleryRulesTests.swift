@testable import ImageGallery
import Foundation
import SystemPackage
import TestSupport
import Synchronization
import Testing
import VHD

struct NameRulesTests {
    @Test(arguments: ["a", "A1", "my-gallery", "my_gallery.v2", "9lives", String(repeating: "x", count: 80)])
    func acceptsAzureNames(_ name: String) throws {
        try NameRules.checkResourceName(name, kind: "gallery")
    }

    @Test(arguments: ["", "_a", "-a", ".a", "a-", "a.", "a b", "a/b", "é", String(repeating: "x", count: 81)])
    func refusesOtherNames(_ name: String) {
        #expect(throws: GalleryError.self) { try NameRules.checkResourceName(name, kind: "gallery") }
    }

    @Test func versionNumbersCompareNumericallyPartByPart() throws {
        let numbers = try ["1.10.0", "1.9.9", "1.2.0", "0.0.1", "2147483647.0.0", "1.10.1"].map { (text) throws(GalleryError) in try VersionNumber(parsing: text) }
        #expect(numbers.sorted().map(\.description) == ["0.0.1", "1.2.0", "1.9.9", "1.10.0", "1.10.1", "2147483647.0.0"])
    }

    @Test(arguments: ["1.0", "1.0.0.0", "01.0.0", "1.00.0", "1.0.-1", "2147483648.0.0", "1.0.0 ", "a.b.c", "1..0", "99999999999999999999.0.0"])
    func refusesBadVersionNumbers(_ text: String) {
        #expect(throws: GalleryError.self) { try VersionNumber(parsing: text) }
    }

    @Test func tagsFollowAzureRules() throws {
        #expect(try NameRules.parseTags(["a=b", "c=", "d=e=f"]) == ["a": "b", "c": "", "d": "e=f"])
        #expect(throws: GalleryError.self) { try NameRules.parseTags(["novalue"]) }
        #expect(throws: GalleryError.self) { try NameRules.parseTags(["a/b=c"]) }
        #expect(throws: GalleryError.self) { try NameRules.parseTags((0...50).map { "k\($0)=v" }) }
        #expect(throws: GalleryError.self) { try NameRules.parseTags(["k=" + String(repeating: "v", count: 257)]) }
    }

    @Test func datesParseAndPrintAsISO8601UTC() throws {
        #expect(try GalleryDate(parsing: "2030-01-02").description == "2030-01-02T12:59:59Z")
        #expect(try GalleryDate(parsing: "2030-01-02T03:04:05Z").unixSeconds == 1_893_553_445)
        #expect(try GalleryDate(parsing: "2030-01-02T03:04:05+01:00").description == "2030-01-02T02:04:05Z")
        #expect(try GalleryDate(parsing: "2024-02-29T00:00:00.123Z").description == "2024-02-29T00:00:00Z")
        #expect(GalleryDate(unixSeconds: 0).description == "1970-01-01T00:00:00Z")
        for bad in ["2023-02-29", "2030-13-01", "2030-1-1", "tomorrow", "2030-01-01T25:00:00Z"] {
            #expect(throws: GalleryError.self) { try GalleryDate(parsing: bad) }
        }
        #expect(throws: GalleryError.self) { try GalleryDate.endOfLife("2001-01-01") }
    }
}

/// The catalog through the library: limits, latest, crash recovery.
struct GalleryStoreTests {
    let folder: TemporaryFolder

    init() throws {
        folder = try TemporaryFolder()
    }

    /// A new store on `engine` with the regions r1 and r2.
    func open(_ engine: CatalogEngine, limits: StoreLimits = StoreLimits()) throws -> GalleryStore {
        let store = try engine.makeStore(folder, limits)
        try store.addRegion("r1", path: folder.file("r1"))
        try store.addRegion("r2", path: folder.file("r2"))
        return store
    }

    /// A 1 MiB raw disk with some data.
    func disk(_ name: String, byte: UInt8 = 0x5a) throws -> String {
        let path = folder.file(name)
        var bytes = [UInt8](repeating: 0, count: 1 << 20)
        for index in 0..<8192 { bytes[index] = byte }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    func definition(in store: GalleryStore) throws {
        try store.createGallery("g")
        try store.createDefinition(
            DefinitionRequest(name: "d", publisher: "p", offer: "o", sku: "s", osType: .linux, osState: .generalized), gallery: "g")
    }

    func request(_ version: String, disk: String, regions: [String] = ["r1", "r2"]) -> VersionRequest {
        var request = VersionRequest(name: version, osDisk: disk)
        request.targetRegions = regions
        request.osState = .generalized
        return request
    }

    @Test(arguments: CatalogEngines.all)
    func storeLimitsAreEnforced(engine: CatalogEngine) throws {
        var limits = StoreLimits()
        limits.galleries = 2
        limits.definitions = 2
        limits.versionsPerRegion = 2
        let store = try open(engine, limits: limits)
        try definition(in: store)
        try store.createGallery("g2")
        #expect(throws: GalleryError.rule("the store already holds 2 galleries, the most allowed")) { try store.createGallery("g3") }
        try store.createDefinition(DefinitionRequest(name: "d2", publisher: "p", offer: "o", sku: "s2", osType: .linux, osState: .generalized), gallery: "g2")
        #expect(throws: GalleryError.rule("the store already holds 2 image definitions, the most allowed")) {
            try store.createDefinition(DefinitionRequest(name: "d3", publisher: "p", offer: "o", sku: "s3", osType: .linux, osState: .generalized), gallery: "g2")
        }
        let source = try disk("a.raw")
        _ = try store.createVersion(request("1.0.0", disk: source), gallery: "g", definition: "d")
        _ = try store.createVersion(request("1.0.1", disk: source, regions: ["r1"]), gallery: "g", definition: "d")
        #expect(throws: GalleryError.rule("the region 'r1' already holds 2 image versions, the most allowed")) {
            try store.createVersion(request("1.0.2", disk: source), gallery: "g", definition: "d")
        }
        // r2 still has room.
        _ = try store.createVersion(request("1.0.2", disk: source, regions: ["r2"]), gallery: "g", definition: "d")
    }

    @Test(arguments: CatalogEngines.all)
    func latestRuleOverDetails(engine: CatalogEngine) throws {
        let store = try open(engine)
        try definition(in: store)
        let source = try disk("a.raw")
        for version in ["1.0.0", "1.1.0", "0.9.0"] {
            _ = try store.createVersion(request(version, disk: source), gallery: "g", definition: "d")
        }
        let all = try store.versions(gallery: "g", definition: "d")
        #expect(all.map(\.version.name) == ["1.1.0", "1.0.0", "0.9.0"])
        #expect(LatestRule.latest(of: all)?.version.name == "1.1.0")
        var edited = all
        edited[0].version.excludeFromLatest = true
        #expect(LatestRule.latest(of: edited)?.version.name == "1.0.0")
        edited[0].regions[1].target.excludeFromLatest = false
        #expect(LatestRule.latest(of: edited, region: "r2")?.version.name == "1.1.0")
        #expect(LatestRule.latest(of: edited, region: "R1")?.version.name == "1.0.0")
        edited[1].regions[0].target.state = .replicating
        #expect(LatestRule.latest(of: edited, region: "r1")?.version.name == "0.9.0")
        edited[1].version.endOfLifeDate = "2000-01-01T00:00:00Z"
        #expect(LatestRule.latest(of: edited, region: "r2")?.version.name == "1.1.0")
        for index in edited.indices { edited[index].regions = edited[index].regions.map { var t = $0; t.target.state = .failed; return t } }
        #expect(LatestRule.latest(of: edited) == nil)
    }

    /// A create killed mid-copy leaves its lease and running jobs behind with a temporary file
    /// beside the replica, never a replica at its final path; the version shows as abandoned,
    /// and `replicate` takes it over and finishes it.
    @Test(arguments: CatalogEngines.all)
    func replicateFinishesAnInterruptedCreate(engine: CatalogEngine) throws {
        let store = try open(engine)
        try definition(in: store)
        let source = try disk("a.raw")
        let created = try store.createVersion(request("1.0.0", disk: source), gallery: "g", definition: "d")
        let replica = GalleryStore.replicaPath(created, region: created.regions[0].region, disk: created.disks[0], index: 1)
        // What a kill during the copy leaves behind: a lease and running jobs of a process that
        // is gone (this pid, another start time), a partial file.
        #expect(unlink(replica.string) == 0)
        let partial = replica.removingLastComponent().appending(".os-1.vhd.abc.vhdtool-partial")
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: partial.string))
        let host = LeaseHolder.current.host
        let pid = Int64(LeaseHolder.current.pid)
        try store.write { db in
            try db.execute("UPDATE replicationJob SET state = 'running', doneBytes = 400000, leaseHost = ?, leasePid = ?, leaseStart = 1, leaseExpiry = 0",
                           [.text(host), .integer(pid)])
            try db.execute("UPDATE version SET provisioningState = 'Creating', leaseOperation = 'creating', leaseHost = ?, leasePid = ?, leaseStart = 1, leaseExpiry = 0",
                           [.text(host), .integer(pid)])
        }
        let interrupted = try store.version("1.0.0", gallery: "g", definition: "d")
        #expect(interrupted.regions.map(\.target.state) == [.unknown, .unknown])
        #expect(interrupted.provisioningText == "Creating (abandoned: pid \(pid) on \(host) is gone)")
        #expect(LatestRule.latest(of: [interrupted]) == nil)
        let finished = try store.replicate(gallery: "g", definition: "d", version: "1.0.0")
        #expect(finished.regions.map(\.target.state) == [.completed, .completed])
        #expect(finished.version.provisioningState == "Succeeded" && finished.lease == nil)
        #expect(access(partial.string, F_OK) != 0)
        #expect(try store.verify(gallery: "g", definition: "d", version: "1.0.0").problems.isEmpty)
        #expect(try store.check(repair: false, deep: true).problems.isEmpty)
    }

    /// Cancelling replication leaves the jobs pending (not Completed, not a file at a final
    /// path); the next `replicate` resumes.
    @Test(arguments: CatalogEngines.all)
    func cancellingLeavesTheJobsPendingAndReplicateResumes(engine: CatalogEngine) throws {
        let store = try open(engine)
        try definition(in: store)
        let source = try disk("a.raw")
        _ = try store.createVersion(request("1.0.0", disk: source), gallery: "g", definition: "d")
        for replica in ["r1", "r2"] { #expect(unlink(folder.file("\(replica)/g/d/1.0.0/os-1.vhd")) == 0) }
        #expect(throws: GalleryError(.replication, "replication was cancelled", remedy: .resumeReplication)) {
            try store.replicate(gallery: "g", definition: "d", version: "1.0.0", isCancelled: { true })
        }
        let details = try store.version("1.0.0", gallery: "g", definition: "d")
        #expect(details.regions.map(\.target.state) == [.unknown, .unknown])
        #expect(details.jobs.map(\.state) == [.pending, .pending])
        for target in details.regions {
            let replica = GalleryStore.replicaPath(details, region: target.region, disk: details.disks[0], index: 1)
            #expect(access(replica.string, F_OK) != 0)
        }
        let resumed = try store.replicate(gallery: "g", definition: "d", version: "1.0.0")
        #expect(resumed.regions.map(\.target.state) == [.completed, .completed])
    }

    /// Progress reported while replicating never goes down in a region, and ends at the total.
    @Test(arguments: CatalogEngines.all)
    func progressNeverGoesBackwards(engine: CatalogEngine) throws {
        let store = try open(engine)
        try definition(in: store)
        let source = try disk("a.raw")
        var request = request("1.0.0", disk: source, regions: ["r1=3", "r2=2"])
        request.replicaCount = 1
        let events = Mutex<[ReplicationEvent]>([])
        _ = try store.createVersion(request, gallery: "g", definition: "d", progress: { event in events.withLock { $0.append(event) } })
        let all = events.withLock { $0 }
        #expect(!all.isEmpty)
        for region in ["r1", "r2"] {
            let done = all.filter { $0.region == region }.map(\.doneBytes)
            #expect(done == done.sorted(), "\(region): \(done)")
            #expect(all.last { $0.region == region }.map { $0.doneBytes == $0.totalBytes && $0.state == .completed } == true)
        }
    }

    @Test func contentDigestIgnoresTheContainer() throws {
        let source = try disk("a.raw")
        let vhd = folder.file("a.vhd")
        try Disk.withOpened(at: FilePath(source)) { disk in
            let output = try OutputFile.create(at: FilePath(vhd), overwrite: false)
            _ = try DiskConversion.convert(disk, to: .dynamic, output: output)
            try output.commit(sync: false)
        }
        let raw = try DiskFacts.gather(path: FilePath(source))
        let dynamic = try DiskFacts.gather(path: FilePath(vhd))
        #expect(raw.digest == dynamic.digest)
        #expect(raw.occupiedBytes == 8192 && raw.virtualSize == 1 << 20)
        let other = try DiskFacts.gather(path: FilePath(try disk("b.raw", byte: 0x5b)))
        #expect(other.digest != raw.digest)
    }

    @Test func catalogUsesWALAndForeignKeys() throws {
        let store = try open(CatalogEngines.sqlite)
        let (journal, keys) = try store.read { db in
            (try db.queryOne("PRAGMA journal_mode", [])?["journal_mode"], try db.queryOne("PRAGMA foreign_keys", [])?["foreign_keys"])
        }
        #expect(journal == .text("wal") && keys == .integer(1))
    }
}
