import Dispatch

/// The catalog side of leases and replication jobs: every statement that reads or changes a
/// lease or a job is here, behind functions that say what they do (so that another catalog
/// engine implements these and nothing else changes).
extension GalleryStore {
    /// Adds pending jobs for replicas `indices` of every disk of a version in a region.
    static func insertJobs(version versionId: Int64, region regionId: Int64, disks: [VersionDisk], indices: ClosedRange<Int>, in db: any CatalogConnection) throws {
        for disk in disks {
            for index in indices {
                var job = ReplicationJob(
                    id: nil, versionId: versionId, regionId: regionId, versionDiskId: disk.id!, replicaIndex: index,
                    state: .pending, fileSize: nil, digest: nil, details: nil, doneBytes: 0)
                try job.insert(db)
            }
        }
    }

    /// Runs `body` on the version once this process holds its lease for `operation`.
    ///
    /// The lease is taken in the same transaction as `body` runs in. Another process holding
    /// the version (a live lease, or a replication job it runs) makes this a conflict, or with
    /// `wait` a wait until it is done; an abandoned lease is taken over.
    func withVersionLease<T>(
        _ name: String, gallery: String, definition: String, operation: String, wait: Bool,
        _ body: (inout ImageVersion, any CatalogConnection) throws -> T
    ) throws(GalleryError) -> T {
        while true {
            let attempt: Result<T, LeaseBusy> = try write { db in
                let found = try Self.version(name, gallery: gallery, definition: definition, in: db)
                // Locked (PostgreSQL) so that no worker's short transaction changes it until the lease is recorded.
                guard var version = try ImageVersion.fetchOne(db, id: found.id, suffix: db.dialect.forUpdate) else {
                    throw GalleryError.notFound("the image version '\(name)' was deleted")
                }
                if let busy = try Self.holder(of: version, in: db) { return .failure(LeaseBusy(reason: busy)) }
                version.setLease(.mine(operation))
                try version.update(db)
                return .success(try body(&version, db))
            }
            switch attempt {
            case let .success(value): return value
            case let .failure(busy):
                guard wait else { throw GalleryError.conflict(busy.reason, remedy: .waitForHolder) }
                Self.pause(milliseconds: 250)
            }
        }
    }

    struct LeaseBusy: Error {
        var reason: String
    }

    /// Who else works on the version now, in words, or nil when nobody alive does.
    static func holder(of version: ImageVersion, in db: any CatalogConnection) throws -> String? {
        if let lease = version.lease, !lease.isMine, lease.isAlive {
            return "the image version '\(version.name)' is held by \(lease.operation ?? "an operation") (\(lease.holder), alive)"
        }
        let running = try ReplicationJob.fetchAll(db, where: "versionId = ? AND state = 'running'", [CatalogValue(version.id)])
        if let job = running.first(where: { $0.lease.map { !$0.isMine && $0.isAlive } ?? false }), let lease = job.lease {
            return "the image version '\(version.name)' is being replicated by \(lease.holder) (alive)"
        }
        return nil
    }

    /// Releases this process's lease on the version, if it holds it, and sets its provisioning
    /// state from its jobs: Succeeded when all are done, Failed when one failed.
    @discardableResult
    func settle(version versionId: Int64) throws(GalleryError) -> VersionDetails? {
        try write { db in
            guard var version = try ImageVersion.fetchOne(db, id: versionId, suffix: db.dialect.forUpdate) else { return nil }
            let ownLease = version.lease?.isMine == true
            if let lease = version.lease, !ownLease, lease.isAlive { return try Self.details(of: version, in: db) }
            let jobs = try ReplicationJob.fetchAll(db, where: "versionId = ?", [.integer(versionId)])
            if jobs.contains(where: { $0.state == .failed }) {
                version.provisioningState = "Failed"
            } else if jobs.allSatisfy({ $0.state == .done }) {
                version.provisioningState = "Succeeded"
            }
            if ownLease || version.lease != nil { version.setLease(nil) }
            try version.update(db)
            return try Self.details(of: version, in: db)
        }
    }

    /// Releases this process's lease on a version without touching anything else.
    func releaseLease(version versionId: Int64) {
        let me = LeaseHolder.current
        _ = try? write { db in
            try db.execute(
                """
                UPDATE version SET leaseOperation = NULL, leaseHost = NULL, leasePid = NULL, leaseStart = NULL, leaseExpiry = NULL
                WHERE id = ? AND leaseHost = ? AND leasePid = ? AND leaseStart = ?
                """,
                [.integer(versionId), .text(me.host), .integer(Int64(me.pid)), .integer(Int64(me.startTime))])
        }
    }

    /// What a replication worker does next.
    enum ClaimStep {
        /// Make this replica (the job now runs under this process's lease).
        case job(ReplicationJob, VersionDetails, regions: [Region])
        /// Nothing is pending, but other processes still run jobs of the version.
        case waitForOthers
        /// Nothing is left to do.
        case finished
        /// The version is gone, or another process took it over (a delete or an update).
        case stop
    }

    /// Claims the version's next pending job; jobs whose holders are gone go back to pending first.
    func claimJob(version versionId: Int64) throws(GalleryError) -> ClaimStep {
        try write { db in
            guard let version = try ImageVersion.fetchOne(db, id: versionId) else { return .stop }
            if let lease = version.lease, !lease.isMine, lease.isAlive { return .stop }
            let jobs = try ReplicationJob.fetchAll(db, where: "versionId = ?", [.integer(versionId)])
            var othersRunning = false
            for var job in jobs where job.state == .running {
                guard let lease = job.lease, !lease.isMine else { continue }
                if lease.isAlive {
                    othersRunning = true
                } else {
                    job.state = .pending
                    job.doneBytes = 0
                    job.setLease(nil)
                    try job.update(db)
                }
            }
            let next = try ReplicationJob.fetchOne(
                db, where: "versionId = ? AND state = 'pending'", [.integer(versionId)],
                order: "replicaIndex, regionId, versionDiskId, id", suffix: db.dialect.skipLocked)
            guard var job = next else { return othersRunning ? .waitForOthers : .finished }
            job.state = .running
            job.doneBytes = 0
            job.details = nil
            job.setLease(.mine("replicating"))
            try job.update(db)
            let regions = try Region.fetchAll(db)
            return .job(job, try Self.details(of: version, in: db), regions: regions)
        }
    }

    /// How a job ended.
    enum JobOutcome {
        case done(fileSize: Int64, digest: String)
        case failed(String)
        /// Cancelled: pending again.
        case interrupted
    }

    /// Records how a job this process ran ended (nothing, when its lease was taken over).
    func finishJob(_ id: Int64, _ outcome: JobOutcome) throws(GalleryError) {
        try write { db in
            guard var job = try ReplicationJob.fetchOne(db, id: id, suffix: db.dialect.forUpdate), job.state == .running,
                  job.lease?.isMine == true else { return }
            switch outcome {
            case let .done(size, digest):
                let disk = try VersionDisk.fetchOne(db, id: job.versionDiskId)
                job.state = .done
                job.fileSize = size
                job.digest = digest
                job.doneBytes = Int64(disk?.virtualSize ?? 0)
            case let .failed(reason):
                job.state = .failed
                job.details = reason
            case .interrupted:
                job.state = .pending
                job.doneBytes = 0
            }
            job.setLease(nil)
            try job.update(db)
        }
    }

    /// Records how far a running job of this process got (for `show` in other processes).
    func recordProgress(job id: Int64, bytes: Int64) {
        let me = LeaseHolder.current
        _ = try? write { db in
            try db.execute(
                """
                UPDATE replicationJob SET doneBytes = CASE WHEN doneBytes > ? THEN doneBytes ELSE ? END
                WHERE id = ? AND state = 'running' AND leasePid = ? AND leaseStart = ? AND leaseHost = ?
                """,
                [.integer(bytes), .integer(bytes), .integer(id), .integer(Int64(me.pid)), .integer(Int64(me.startTime)), .text(me.host)])
        }
    }

    /// Renews the expiry of every lease this process holds (the heartbeat).
    func renewLeases() {
        let me = LeaseHolder.current
        let expiry = Lease.now() + Lease.duration
        _ = try? write { db in
            for table in ["version", "replicationJob"] {
                try db.execute(
                    "UPDATE \(table) SET leaseExpiry = ? WHERE leaseHost = ? AND leasePid = ? AND leaseStart = ?",
                    [.real(expiry), .text(me.host), .integer(Int64(me.pid)), .integer(Int64(me.startTime))])
            }
        }
    }

    /// Runs `body` while a heartbeat renews this process's leases.
    func withHeartbeat<T>(_ body: () throws(GalleryError) -> T) throws(GalleryError) -> T {
        let stop = DispatchSemaphore(value: 0)
        let ended = DispatchGroup()
        ended.enter()
        DispatchQueue.global().async {
            while stop.wait(timeout: .now() + .milliseconds(Int(Lease.duration * 1000 / 3))) == .timedOut {
                self.renewLeases()
            }
            ended.leave()
        }
        defer {
            stop.signal()
            ended.wait()
        }
        return try body()
    }

    /// Puts done jobs whose files were found missing or changed back to pending (`reasons`
    /// nil) or marks them failed with the reason; records the size of done jobs that had none.
    func applyFileChecks(requeue: [Int64], fail: [Int64: String], sizes: [Int64: Int64]) throws(GalleryError) {
        guard !requeue.isEmpty || !fail.isEmpty || !sizes.isEmpty else { return }
        try write { db in
            for id in requeue {
                guard var job = try ReplicationJob.fetchOne(db, id: id, suffix: db.dialect.forUpdate), job.state == .done || job.state == .failed else { continue }
                job.state = .pending
                job.doneBytes = 0
                job.details = nil
                try job.update(db)
            }
            for (id, reason) in fail {
                guard var job = try ReplicationJob.fetchOne(db, id: id, suffix: db.dialect.forUpdate), job.state == .done else { continue }
                job.state = .failed
                job.details = reason
                try job.update(db)
            }
            for (id, size) in sizes {
                try db.execute("UPDATE replicationJob SET fileSize = ? WHERE id = ? AND state = 'done' AND fileSize IS NULL", [.integer(size), .integer(id)])
            }
        }
    }

    /// Failed jobs of the version go back to pending (`replicate` tries them again).
    func retryFailedJobs(version versionId: Int64) throws(GalleryError) {
        try write { db in
            try db.execute(
                "UPDATE replicationJob SET state = 'pending', details = NULL, doneBytes = 0 WHERE versionId = ? AND state = 'failed'",
                [.integer(versionId)])
        }
    }

    /// The versions whose names match, with everything about them.
    func details(versionId: Int64) throws(GalleryError) -> VersionDetails? {
        try read { db in try ImageVersion.fetchOne(db, id: versionId).map { try Self.details(of: $0, in: db) } }
    }

    static func pause(milliseconds: Int) {
        usleep(useconds_t(milliseconds * 1000))
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
