import Foundation
@testable import ImageGallery
import Synchronization
import SystemPackage
import TestSupport
import Testing

/// Replication workers through the library, on every catalog engine: regions a host cannot
/// see, and a delete that was interrupted.
struct ReplicationWorkerTests {
    let folder: TemporaryFolder

    init() throws { folder = try TemporaryFolder() }

    /// A store on `engine` with regions r1 and r2, gallery g, definition d, and version 1.0.0
    /// of a 1 MiB raw disk recorded in both regions for workers (nothing copied yet).
    func recordedVersion(_ engine: CatalogEngine) throws -> GalleryStore {
        let store = try engine.makeStore(folder, StoreLimits())
        try store.addRegion("r1", path: folder.file("r1"))
        try store.addRegion("r2", path: folder.file("r2"))
        try store.createGallery("g")
        try store.createDefinition(
            DefinitionRequest(name: "d", publisher: "p", offer: "o", sku: "s", osType: .linux, osState: .generalized), gallery: "g")
        let source = folder.file("a.raw")
        var bytes = [UInt8](repeating: 0, count: 1 << 20)
        for index in 0..<8192 { bytes[index] = 0x5c }
        try Data(bytes).write(to: URL(fileURLWithPath: source))
        var request = VersionRequest(name: "1.0.0", osDisk: source)
        request.targetRegions = ["r1", "r2"]
        request.osState = .generalized
        request.leaveReplicationToWorkers = true
        let recorded = try store.createVersion(request, gallery: "g", definition: "d")
        #expect(recorded.version.provisioningState == "Creating" && recorded.lease == nil)
        #expect(recorded.jobs.map(\.state) == [.pending, .pending])
        return store
    }

    /// A region whose folder this host cannot see is said once and its jobs are left pending
    /// (not failed); once the folder is there, a worker finishes the version.
    @Test(arguments: CatalogEngines.all)
    func anUnreachableRegionIsLeftToOthers(engine: CatalogEngine) throws {
        let store = try recordedVersion(engine)
        #expect(rmdir(folder.file("r2")) == 0)
        let events = Mutex<[WorkerEvent]>([])
        let first = try store.runWorker(once: true, events: { event in events.withLock { $0.append(event) } }, isCancelled: { false })
        #expect(first == WorkerSummary(done: 1, failed: 0, interrupted: 0))
        let unreachable = events.withLock { $0 }.filter { if case .regionUnreachable = $0 { true } else { false } }
        #expect(unreachable.count == 1 && unreachable.first?.description.contains("'r2'") == true, "\(unreachable)")
        let half = try store.version("1.0.0", gallery: "g", definition: "d")
        #expect(half.jobs.map(\.state) == [.done, .pending] && half.version.provisioningState == "Creating")
        #expect(half.progressBytes == (1 << 20, 2 << 20))

        #expect(mkdir(folder.file("r2"), 0o755) == 0)
        let second = try store.runWorker(regions: ["r2"], once: true, isCancelled: { false })
        #expect(second == WorkerSummary(done: 1, failed: 0, interrupted: 0))
        let finished = try store.version("1.0.0", gallery: "g", definition: "d")
        #expect(finished.version.provisioningState == "Succeeded" && finished.regions.map(\.target.state) == [.completed, .completed])
        #expect(try store.check(repair: false, deep: true).problems.isEmpty)
    }

    /// A delete killed half-way (state Deleting, its holder gone) is never revived: `replicate`
    /// refuses it, a worker leaves its jobs alone, and only a delete finishes it.
    @Test(arguments: CatalogEngines.all)
    func anInterruptedDeleteIsNeverRevived(engine: CatalogEngine) throws {
        let store = try recordedVersion(engine)
        let host = LeaseHolder.current.host
        let pid = Int64(LeaseHolder.current.pid)
        // What a delete killed after taking its lease leaves: Deleting, a lease of a process
        // that is gone (this pid, another start time).
        _ = try store.write { db in
            try db.execute("UPDATE version SET provisioningState = 'Deleting', leaseOperation = 'deleting', leaseHost = ?, leasePid = ?, leaseStart = 1, leaseExpiry = 0",
                           [.text(host), .integer(pid)])
        }
        #expect(throws: GalleryError.self) { try store.replicate(gallery: "g", definition: "d", version: "1.0.0") }
        let worked = try store.runWorker(once: true, isCancelled: { false })
        #expect(worked == WorkerSummary())
        let still = try store.version("1.0.0", gallery: "g", definition: "d")
        #expect(still.version.provisioningState == "Deleting" && still.jobs.map(\.state) == [.pending, .pending])
        #expect(try store.settle(version: still.version.id!)?.version.provisioningState == "Deleting")
        try store.deleteVersion("1.0.0", gallery: "g", definition: "d")
        #expect(try store.versions(gallery: "g", definition: "d").isEmpty)
        #expect(try store.check(repair: false, deep: true).problems.isEmpty)
    }
}
