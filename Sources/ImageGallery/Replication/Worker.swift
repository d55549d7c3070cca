import SystemPackage
import VHD

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// What a replication worker reports as it goes.
public enum WorkerEvent: Sendable, Equatable, CustomStringConvertible {
    /// The region's folder cannot be seen from this host; its jobs are left to other hosts.
    /// Said once, until the folder can be seen again.
    case regionUnreachable(region: String, reason: String)
    /// The region's folder, unreachable before, can be seen again.
    case regionReachable(region: String)
    /// A replica is being made: `version` is `GALLERY/DEFINITION/VERSION`, `replica` its file name.
    case started(version: String, region: String, replica: String)
    /// A replica was made.
    case done(version: String, region: String, replica: String)
    /// A replica could not be made; its job failed with `reason`.
    case failed(version: String, region: String, replica: String, reason: String)
    /// A copy was stopped (the worker was asked to stop); its job is pending again.
    case interrupted(version: String, region: String, replica: String)

    /// One line in the library's words.
    public var description: String {
        switch self {
        case let .regionUnreachable(region, reason):
            "the folder of region '\(region)' cannot be seen from this host (\(reason)); its jobs are left to other hosts"
        case let .regionReachable(region): "the folder of region '\(region)' can be seen again"
        case let .started(version, region, replica): "\(version): making \(replica) in '\(region)'"
        case let .done(version, region, replica): "\(version): \(replica) in '\(region)' is done"
        case let .failed(version, region, replica, reason): "\(version): \(replica) in '\(region)' failed: \(reason)"
        case let .interrupted(version, region, replica): "\(version): \(replica) in '\(region)' was stopped; it is pending again"
        }
    }
}

/// What a replication worker did.
public struct WorkerSummary: Sendable, Equatable {
    /// Replicas made.
    public var done = 0
    /// Jobs that failed.
    public var failed = 0
    /// Copies stopped by a request to stop (their jobs are pending again).
    public var interrupted = 0
}

extension GalleryStore {
    /// Runs replication jobs of any version until none is left (`once`) or until `isCancelled`.
    ///
    /// Each round claims one pending job, in a short transaction that skips the jobs other
    /// workers hold (PostgreSQL: `FOR UPDATE SKIP LOCKED`), under this process's lease (renewed
    /// by a heartbeat while it copies); it makes the replica as ``replicate(gallery:definition:version:progress:isCancelled:wait:)``
    /// does and records the replica's digest and file size. A running job whose holder is gone
    /// (on this host: its process; on another: its lease expired) goes back to pending and is
    /// taken over. Versions being deleted are never touched. After each job the version's
    /// provisioning state is settled: Succeeded when its last job is done, Failed when one failed.
    ///
    /// - Parameters:
    ///   - names: only jobs in the regions of these names (the `regions` argument); empty: every region.
    ///   - once: run the jobs there are now, then return; false: wait for new jobs, looking
    ///     every `pollSeconds`, until `isCancelled`.
    ///   - pollSeconds: how long to wait between looks when there is nothing to do.
    ///   - events: called as jobs start and end and as region folders are found unreachable
    ///     (a region whose folder this host cannot see is left to others, and said once).
    ///   - isCancelled: polled during copies and between jobs; returning true stops the copy
    ///     under way (its partial file is removed, its job pending again) and returns.
    /// - Returns: how many jobs were done, failed and interrupted.
    /// - Throws: ``GalleryError``: not found for a region that does not exist, io when the
    ///   catalog cannot be read or changed.
    public func runWorker(
        regions names: [String] = [], once: Bool, pollSeconds: Double = 2,
        events: @escaping @Sendable (WorkerEvent) -> Void = { _ in }, isCancelled: @escaping @Sendable () -> Bool
    ) throws(GalleryError) -> WorkerSummary {
        let wanted: Set<Int64>? = names.isEmpty ? nil : Set(try read { db in try names.compactMap { try Self.region($0, in: db).id } })
        var unreachable: Set<Int64> = []
        var summary = WorkerSummary()
        try withHeartbeat { () throws(GalleryError) in
            while !isCancelled() {
                var allowed: [Int64] = []
                for region in try self.regions() {
                    guard let id = region.id, wanted?.contains(id) ?? true else { continue }
                    if let reason = Self.unreachableReason(region) {
                        if unreachable.insert(id).inserted { events(.regionUnreachable(region: region.name, reason: reason)) }
                    } else {
                        if unreachable.remove(id) != nil { events(.regionReachable(region: region.name)) }
                        allowed.append(id)
                    }
                }
                guard let (job, details, regions) = try claimAnyJob(regions: allowed) else {
                    if once { return }
                    let until = Lease.now() + pollSeconds
                    while !isCancelled() && Lease.now() < until { Self.pause(milliseconds: 100) }
                    continue
                }
                let label = details.folderComponents.joined(separator: "/")
                let region = details.regions.first { $0.region.id == job.regionId }?.region.name ?? "?"
                let replica = details.replicaName(of: job) ?? "?"
                events(.started(version: label, region: region, replica: replica))
                let outcome = run(job, of: details, regions: regions, tally: RegionTally(details), progress: nil, isCancelled: isCancelled)
                try finishJob(job.id!, outcome)
                switch outcome {
                case .done:
                    summary.done += 1
                    events(.done(version: label, region: region, replica: replica))
                case let .failed(reason):
                    summary.failed += 1
                    events(.failed(version: label, region: region, replica: replica, reason: reason))
                case .interrupted:
                    summary.interrupted += 1
                    events(.interrupted(version: label, region: region, replica: replica))
                }
                _ = try settle(version: details.version.id!)
            }
        }
        return summary
    }

    /// Claims one pending job in `regions` (row ids) of any version not being deleted, first
    /// putting running jobs whose holders are gone back to pending; nil when there is none.
    ///
    /// Its own short transaction: job rows are claimed skipping those other transactions hold,
    /// and the version's row is locked while its state is read (so that a delete that has just
    /// begun is seen, and a delete that begins later sees this job running).
    func claimAnyJob(regions: [Int64]) throws(GalleryError) -> (ReplicationJob, VersionDetails, [Region])? {
        guard !regions.isEmpty else { return nil }
        // Row ids from the catalog: integers, safe to write into the statement.
        let inRegions = "regionId IN (\(regions.map(String.init).joined(separator: ", ")))"
        return try writeRows { db in
            let running = try ReplicationJob.fetchAll(db, where: "state = 'running' AND \(inRegions)", suffix: db.dialect.skipLocked)
            for var job in running {
                guard let lease = job.lease, !lease.isMine, !lease.isAlive else { continue }
                job.state = .pending
                job.doneBytes = 0
                job.setLease(nil)
                try job.update(db)
            }
            let candidates = try ImageVersion.fetchAll(
                db, where: "provisioningState <> ? AND id IN (SELECT versionId FROM replicationJob WHERE state = 'pending' AND \(inRegions))",
                [.text(Self.deleting)])
            for candidate in candidates {
                guard let version = try ImageVersion.fetchOne(db, id: candidate.id, suffix: db.dialect.forUpdate),
                      version.provisioningState != Self.deleting else { continue }
                guard var job = try ReplicationJob.fetchOne(
                    db, where: "versionId = ? AND state = 'pending' AND \(inRegions)", [CatalogValue(version.id)],
                    order: "replicaIndex, regionId, versionDiskId, id", suffix: db.dialect.skipLocked) else { continue }
                job.state = .running
                job.doneBytes = 0
                job.details = nil
                job.setLease(.mine("replicating"))
                try job.update(db)
                return (job, try Self.details(of: version, in: db), try Region.fetchAll(db))
            }
            return nil
        }
    }

    /// Why this host cannot work in the region's folder (missing, not a folder, not
    /// readable and writable), or nil when it can.
    static func unreachableReason(_ region: Region) -> String? {
        do throws(VHDError) {
            let status = try SystemCalls.status(of: FilePath(region.path))
            guard (status.st_mode & S_IFMT) == S_IFDIR else { return "'\(region.path)' is not a folder" }
            try SystemCalls.checkAccess(FilePath(region.path), R_OK | W_OK | X_OK)
            return nil
        } catch {
            return GalleryError.io("'\(region.path)'", error).description
        }
    }
}
