import Foundation
@testable import ImageGallery
import SystemPackage
import TestSupport
import Testing
import VHD

/// The job table and `store check` through the library: upgrades of older stores, and what a
/// check finds and repairs.
struct GalleryJobTests {
    let folder: TemporaryFolder

    init() throws { folder = try TemporaryFolder() }

    /// A 1 MiB raw disk with some data.
    func disk(_ name: String, byte: UInt8 = 0x5a) throws -> String {
        let path = folder.file(name)
        var bytes = [UInt8](repeating: 0, count: 1 << 20)
        for index in 0..<8192 { bytes[index] = byte }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// A store made before leases and jobs (the v1 schema, as the previous vhdtool left it)
    /// opens upgraded: a Completed region's replicas are done jobs, a Failed region's pending
    /// ones, and `replicate` finishes it.
    @Test(arguments: CatalogEngines.all)
    func aStoreMadeBeforeJobsIsUpgraded(engine: CatalogEngine) throws {
        let source = try disk("a.raw")
        let facts = try DiskFacts.gather(path: FilePath(source))
        let r1 = folder.file("r1")
        let r2 = folder.file("r2")
        try FileManager.default.createDirectory(atPath: r1 + "/g/d/1.0.0", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: r2, withIntermediateDirectories: true)
        try Disk.withOpened(at: FilePath(source)) { disk in
            let output = try OutputFile.create(at: FilePath(r1 + "/g/d/1.0.0/os-1.vhd"), overwrite: false)
            _ = try DiskConversion.convert(disk, to: .dynamic, output: output)
            try output.commit(sync: false)
        }
        // The rows as literals (the test's own paths and digest hold no quote), so that one text
        // serves both engines.
        let date = "'2026-01-01T00:00:00Z'"
        let store = try engine.makeStoreFromFirstSchema(folder, [
            "INSERT INTO region (id, name, path, isDefault) VALUES (1, 'r1', '\(r1)', 1), (2, 'r2', '\(r2)', 0)",
            "INSERT INTO gallery (id, name, createdDate) VALUES (1, 'g', \(date))",
            """
            INSERT INTO definition (id, galleryId, name, publisher, offer, sku, osType, osState, hyperVGeneration, architecture,
                                    tags, disallowedDiskTypes, createdDate)
            VALUES (1, 1, 'd', 'p', 'o', 's', 'Linux', 'Generalized', 'V1', 'x64', '{}', '[]', \(date))
            """,
            """
            INSERT INTO version (id, definitionId, name, major, minor, patch, replicaCount, storageAccountType, excludeFromLatest,
                                 tags, publishedDate, provisioningState)
            VALUES (1, 1, '1.0.0', 1, 0, 0, 1, 'Standard_LRS', 0, '{}', \(date), 'Failed')
            """,
            """
            INSERT INTO versionDisk (id, versionId, lun, sourcePath, virtualSize, occupiedBytes, digest)
            VALUES (1, 1, NULL, '\(source)', \(facts.virtualSize), \(facts.occupiedBytes), '\(facts.digest)')
            """,
            """
            INSERT INTO versionRegion (versionId, regionId, position, replicaCount, storageAccountType, state, progress, details)
            VALUES (1, 1, 0, 1, 'Standard_LRS', 'Completed', 100, NULL), (1, 2, 1, 1, 'Standard_LRS', 'Failed', 40, 'disk full')
            """,
        ])
        let upgraded = try store.version("1.0.0", gallery: "g", definition: "d")
        #expect(upgraded.regions.map(\.target.state) == [.completed, .unknown])
        #expect(upgraded.jobs.map(\.state) == [.done, .pending])
        #expect(try store.latestVersion(gallery: "g", definition: "d", region: "r1").version.name == "1.0.0")
        #expect(try store.check(repair: false, deep: true).problems.isEmpty)
        let replicated = try store.replicate(gallery: "g", definition: "d", version: "1.0.0")
        #expect(replicated.regions.map(\.target.state) == [.completed, .completed])
        #expect(replicated.version.provisioningState == "Succeeded")
        #expect(replicated.jobs.allSatisfy { $0.fileSize != nil && $0.digest == facts.digest })
    }

    /// Orphans, partial files, a symbolic link and a missing replica are found; `--repair`
    /// removes what is old enough (never through the link), re-queues the missing replica, and
    /// `replicate` makes it.
    @Test(arguments: CatalogEngines.all)
    func storeCheckFindsAndRepairs(engine: CatalogEngine) throws {
        let store = try engine.makeStore(folder, StoreLimits())
        try store.addRegion("r1", path: folder.file("r1"))
        try store.addRegion("r2", path: folder.file("r2"))
        try store.createGallery("g")
        try store.createDefinition(
            DefinitionRequest(name: "d", publisher: "p", offer: "o", sku: "s", osType: .linux, osState: .generalized), gallery: "g")
        var request = VersionRequest(name: "1.0.0", osDisk: try disk("a.raw"))
        request.targetRegions = ["r1", "r2"]
        request.osState = .generalized
        _ = try store.createVersion(request, gallery: "g", definition: "d")
        #expect(try store.check(repair: false, deep: true).problems.isEmpty)

        let outside = folder.file("outside.txt")
        try Data("keep".utf8).write(to: URL(fileURLWithPath: outside))
        try Data("stray".utf8).write(to: URL(fileURLWithPath: folder.file("r1/g/d/stray.vhd")))
        try Data([1]).write(to: URL(fileURLWithPath: folder.file("r1/g/d/1.0.0/.os-1.vhd.xyz.vhdtool-partial")))
        try FileManager.default.createSymbolicLink(atPath: folder.file("r2/link"), withDestinationPath: outside)
        #expect(unlink(folder.file("r2/g/d/1.0.0/os-1.vhd")) == 0)
        let found = try store.check(repair: false, deep: false)
        #expect(Set(found.problems.map(\.kind)) == [.orphanFile, .partialFile, .missingReplica], "\(found.problems)")
        #expect(found.problems.count == 4 && !found.isClean)
        // Young files are kept even with --repair.
        let young = try store.check(repair: true, deep: false)
        #expect(young.problems.filter { !$0.repaired }.map(\.kind).sorted { $0.rawValue < $1.rawValue } == [.orphanFile, .orphanFile, .partialFile])
        let repaired = try store.check(repair: true, deep: false, minimumAge: 0)
        #expect(repaired.isClean, "\(repaired.problems)")
        #expect(try String(contentsOfFile: outside, encoding: .utf8) == "keep")
        #expect(!FileManager.default.fileExists(atPath: folder.file("r1/g/d/stray.vhd")))
        #expect(try store.version("1.0.0", gallery: "g", definition: "d").regions.map(\.target.state) == [.completed, .unknown])
        _ = try store.replicate(gallery: "g", definition: "d", version: "1.0.0")
        #expect(try store.check(repair: false, deep: true).problems.isEmpty)
    }
}

/// Who a lease's holder is, and whether it is alive.
struct LeaseTests {
    @Test func liveAndAbandonedHolders() {
        let me = LeaseHolder.current
        #expect(me.pid == getpid() && me.startTime > 0)
        #expect(Lease(holder: me, expiry: 0, operation: nil).status == .alive)
        // This pid with another start time: a process that reused the pid is not the holder.
        var reused = me
        reused.startTime += 1
        #expect(Lease(holder: reused, expiry: Lease.now() + 60, operation: nil).status == .abandoned("pid \(me.pid) on \(me.host) is gone"))
        // Another host: alive until the lease expires.
        let other = LeaseHolder(host: me.host + "-elsewhere", pid: 1, startTime: 1)
        #expect(Lease(holder: other, expiry: Lease.now() + 60, operation: nil).isAlive)
        #expect(Lease(holder: other, expiry: Lease.now() - 1, operation: nil).status == .abandoned("the lease of \(other) expired"))
    }
}
