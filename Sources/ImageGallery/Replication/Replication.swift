import CReflink
import Dispatch
import Synchronization
import SystemPackage
import VHD

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// What replication reports as it goes: a region's bytes done of its total, and its state.
/// `doneBytes` never goes down within one run.
public struct ReplicationEvent: Sendable, Equatable {
    /// The region's name.
    public var region: String
    /// Bytes of the region's replicas made so far.
    public var doneBytes: UInt64
    /// Bytes of all the region's replicas: each disk's virtual size times the replica count.
    public var totalBytes: UInt64
    /// The region's replication state.
    public var state: ReplicationState
    /// Why the region failed.
    public var details: String?
}

/// A problem ``GalleryStore/verify(gallery:definition:version:)`` found with a replica.
public struct ReplicaProblem: Sendable, Equatable, CustomStringConvertible {
    /// The region's name.
    public var region: String
    /// The replica file's path.
    public var path: String
    /// What is wrong with it (missing, another size, another content digest), in the library's words.
    public var problem: String

    /// The region, path and problem on one line.
    public var description: String { "\(region): \(path): \(problem)" }
}

extension GalleryStore {
    /// Makes every replica a version is missing, sharing the work with any other process
    /// replicating it: failed jobs are tried again, done jobs whose file is missing or has
    /// another size than recorded become pending again, then pending jobs are claimed one at a
    /// time (each under this process's lease, renewed by a heartbeat) until none is left and
    /// no other process still runs one.
    ///
    /// Each replica is written beside its final name in the version's folder under the region
    /// folder (reached without following symbolic links), synced, checked against the recorded
    /// content digest, and only then linked to its name, never over an existing file. The first
    /// replica of a disk in a region is a reflink of the source where the filesystem can share
    /// blocks, else a dynamic VHD written by the sparse copy engine; the source is the file the
    /// version was made from or, when that no longer holds the recorded content, a done replica.
    ///
    /// - Parameters:
    ///   - gallery: the gallery that holds the definition.
    ///   - definition: the image definition the version belongs to.
    ///   - name: the version's name (`MAJOR.MINOR.PATCH`).
    ///   - progress: called, from the worker threads (up to four at once), as replicas are
    ///     made: a region's bytes done of its total, then each region's final state once
    ///     replication ends. nil: no events.
    ///   - isCancelled: polled between and during replica copies; returning true stops them,
    ///     leaves the unfinished replicas pending (a later call makes them) and throws a
    ///     replication error. nil: never cancelled.
    ///   - wait: when a create, update or delete holds the version, wait for it instead
    ///     of refusing.
    /// - Returns: the version after replication.
    /// - Throws: ``GalleryError``: conflict when another live process holds the version (and
    ///   `wait` is false), replication when cancelled.
    public func replicate(
        gallery: String, definition: String, version name: String,
        progress: (@Sendable (ReplicationEvent) -> Void)? = nil, isCancelled: (@Sendable () -> Bool)? = nil, wait: Bool = false
    ) throws(GalleryError) -> VersionDetails {
        // A create, update or delete holding the version comes first.
        var details: VersionDetails
        while true {
            details = try version(name, gallery: gallery, definition: definition)
            let busy: String? = if let lease = details.lease, !lease.isMine, lease.isAlive {
                "the image version '\(name)' is held by \(lease.operation ?? "an operation") (\(lease.holder), alive)"
            } else { nil }
            guard let busy else { break }
            guard wait else { throw GalleryError.conflict(busy, remedy: .waitForHolder) }
            Self.pause(milliseconds: 250)
        }
        guard details.version.provisioningState != Self.deleting else {
            throw GalleryError.conflict("the image version '\(name)' is being deleted (a delete was interrupted); it is not replicated again, only deleting it again finishes it")
        }
        let versionId = details.version.id!
        if let lease = details.lease, !lease.isAlive {
            // The holder is gone: its lease is released and its work taken over.
            releaseAbandonedLease(version: versionId)
        }
        try recheckFiles(of: details)
        try retryFailedJobs(version: versionId)
        try runJobs(version: versionId, progress: progress, isCancelled: isCancelled)
        guard let settled = try settle(version: versionId) else {
            throw GalleryError.notFound("the image version '\(name)' was deleted while it was being replicated")
        }
        return settled
    }

    /// Clears a version's lease whose holder is gone.
    func releaseAbandonedLease(version versionId: Int64) {
        _ = try? write { db in
            guard var version = try ImageVersion.fetchOne(db, id: versionId, suffix: db.dialect.forUpdate), let lease = version.lease,
                  !lease.isAlive else { return }
            version.setLease(nil)
            try version.update(db)
        }
    }

    /// Done jobs whose file is missing, not a regular file, or of another size than recorded
    /// become pending again.
    func recheckFiles(of details: VersionDetails) throws(GalleryError) {
        var requeue: [Int64] = []
        var sizes: [Int64: Int64] = [:]
        let regions = try self.regions()
        for target in details.regions {
            let folder = try? RegionFolder(target.region, others: regions).folder(details.folderComponents, create: false)
            for job in details.jobs(in: target.region) where job.state == .done {
                guard let name = details.replicaName(of: job) else { continue }
                guard let entry = folder?.entry(name), entry.type == S_IFREG else {
                    requeue.append(job.id!)
                    continue
                }
                if let size = job.fileSize {
                    if size != entry.size { requeue.append(job.id!) }
                } else {
                    sizes[job.id!] = entry.size
                }
            }
        }
        try applyFileChecks(requeue: requeue, fail: [:], sizes: sizes)
    }

    /// Runs the version's pending jobs with a few workers (one per region, at most four), with
    /// a heartbeat renewing this process's leases.
    func runJobs(
        version versionId: Int64, progress: (@Sendable (ReplicationEvent) -> Void)?, isCancelled: (@Sendable () -> Bool)?
    ) throws(GalleryError) {
        guard let start = try details(versionId: versionId) else { return }
        let tally = RegionTally(start)
        let workers = max(1, min(4, start.regions.count))
        let failure = Mutex<GalleryError?>(nil)
        try withHeartbeat { () throws(GalleryError) in
            let group = DispatchGroup()
            for _ in 0..<workers {
                DispatchQueue.global().async(group: group) {
                    do {
                        try self.work(version: versionId, tally: tally, progress: progress, isCancelled: isCancelled)
                    } catch let error as GalleryError {
                        failure.withLock { $0 = $0 ?? error }
                    } catch {
                        failure.withLock { $0 = $0 ?? GalleryError(.replication, "\(error)") }
                    }
                }
            }
            group.wait()
        }
        if let error = failure.withLock({ $0 }) { throw error }
        if isCancelled?() == true { throw GalleryError(.replication, "replication was cancelled", remedy: .resumeReplication) }
        if let progress, let end = try details(versionId: versionId) {
            for target in end.regions {
                let total = tally.total(target.region.id!)
                progress(ReplicationEvent(
                    region: target.region.name, doneBytes: target.target.state == .completed ? total : tally.reported(target.region.id!),
                    totalBytes: total, state: target.target.state, details: target.target.details))
            }
        }
    }

    /// One worker: claims jobs until none is left.
    private func work(
        version versionId: Int64, tally: RegionTally, progress: (@Sendable (ReplicationEvent) -> Void)?,
        isCancelled: (@Sendable () -> Bool)?
    ) throws(GalleryError) {
        while isCancelled?() != true {
            switch try claimJob(version: versionId) {
            case .stop, .finished:
                return
            case .waitForOthers:
                Self.pause(milliseconds: 200)
            case let .job(job, details, regions):
                let outcome = run(job, of: details, regions: regions, tally: tally, progress: progress, isCancelled: isCancelled)
                try finishJob(job.id!, outcome)
                if case .done = outcome { tally.finish(job, of: details) } else { tally.abandon(job) }
                if let progress, let region = details.regions.first(where: { $0.region.id == job.regionId })?.region {
                    progress(ReplicationEvent(
                        region: region.name, doneBytes: tally.reported(job.regionId), totalBytes: tally.total(job.regionId), state: .replicating))
                }
            }
        }
    }

    /// Makes one replica; says how it went.
    func run(
        _ job: ReplicationJob, of details: VersionDetails, regions: [Region], tally: RegionTally,
        progress: (@Sendable (ReplicationEvent) -> Void)?, isCancelled: (@Sendable () -> Bool)?
    ) -> JobOutcome {
        guard let target = details.regions.first(where: { $0.region.id == job.regionId }),
              let disk = details.disks.first(where: { $0.id == job.versionDiskId }),
              let name = details.replicaName(of: job) else {
            return .failed("the catalog is inconsistent: the job's region or disk is missing")
        }
        do {
            let regionFolder = try RegionFolder(target.region, others: regions)
            guard let folder = try regionFolder.folder(details.folderComponents, create: true) else {
                return .failed("the folder of the version in region '\(target.region.name)' cannot be made")
            }
            folder.removePartials(of: name)
            if let entry = folder.entry(name) {
                // A file is already there: a replica made by a run that ended before recording
                // it is kept; one this job made earlier and that changed is made again; any
                // other file is left alone and the job fails.
                guard entry.type == S_IFREG else {
                    return .failed("'\(folder.path.appending(name))' is not a regular file; it is left as it is")
                }
                if (try? folder.withFile(name) { try Disk.withOpened(at: $0) { try DiskFacts.contentDigest(of: $0) } }) == disk.digest {
                    return .done(fileSize: entry.size, digest: disk.digest)
                }
                guard job.fileSize != nil || job.digest != nil else {
                    return .failed("a file this version did not make is already at '\(folder.path.appending(name))'; it is left as it is")
                }
                folder.remove(name)
            }
            let lastRecorded = Mutex(ContinuousClock.now)
            let options = CopyOptions(progress: { done, _ in
                let bytes = min(done, disk.virtualSize)
                tally.update(job, bytes: bytes)
                progress?(ReplicationEvent(
                    region: target.region.name, doneBytes: tally.reported(job.regionId), totalBytes: tally.total(job.regionId), state: .replicating))
                let due = lastRecorded.withLock { last in
                    guard ContinuousClock.now - last > .seconds(1) else { return false }
                    last = ContinuousClock.now
                    return true
                }
                if due { self.recordProgress(job: job.id!, bytes: Int64(bytes)) }
            }, isCancelled: isCancelled)
            var failures: [String] = []
            for source in sources(of: disk, job: job, in: details, regions: regions) {
                do {
                    let size = try source.withPath { path in
                        try Self.makeReplica(of: path, in: folder, name: name, expecting: disk.digest, options: options)
                    }
                    return .done(fileSize: size, digest: disk.digest)
                } catch let error as VHDError where error.kind == .cancelled {
                    return .interrupted
                } catch let error as GalleryError where error.category == .replication && error.description.contains("already at") {
                    return .failed(error.description)
                } catch {
                    failures.append("\(source): \(error)")
                }
            }
            if isCancelled?() == true { return .interrupted }
            return .failed("no source of the \(disk.lun.map { "data disk at LUN \($0)" } ?? "OS disk") holds the recorded content (\(failures.joined(separator: "; ")))")
        } catch {
            return .failed("\(error)")
        }
    }

    /// Where a replica can be made from, best first: a done replica of the disk in the same
    /// region (a reflink there shares blocks), the file the version was made from, done
    /// replicas in other regions.
    func sources(of disk: VersionDisk, job: ReplicationJob, in details: VersionDetails, regions: [Region]) -> [ReplicaSource] {
        let done = details.jobs.filter { $0.versionDiskId == disk.id && $0.state == .done && $0.id != job.id }
            .sorted { ($0.regionId == job.regionId ? 0 : 1, $0.replicaIndex) < ($1.regionId == job.regionId ? 0 : 1, $1.replicaIndex) }
        let replicas = done.compactMap { other -> ReplicaSource? in
            guard let region = details.regions.first(where: { $0.region.id == other.regionId })?.region,
                  let name = details.replicaName(of: other) else { return nil }
            return .replica(region: region, regions: regions, components: details.folderComponents, name: name)
        }
        let sameRegion = replicas.prefix { if case let .replica(region, _, _, _) = $0 { region.id == job.regionId } else { false } }
        return Array(sameRegion) + [.file(FilePath(disk.sourcePath))] + replicas.dropFirst(sameRegion.count)
    }

    /// A source of a replica: a local file, or a replica in a region (reached without links).
    enum ReplicaSource: CustomStringConvertible {
        case file(FilePath)
        case replica(region: Region, regions: [Region], components: [String], name: String)

        func withPath<T>(_ body: (FilePath) throws -> T) throws -> T {
            switch self {
            case let .file(path):
                return try body(path)
            case let .replica(region, regions, components, name):
                guard let folder = try RegionFolder(region, others: regions).folder(components, create: false) else {
                    throw GalleryError(.replication, "the replica '\(description)' is missing")
                }
                return try folder.withFile(name, body)
            }
        }

        var description: String {
            switch self {
            case let .file(path): path.string
            case let .replica(region, _, components, name): ([region.path] + components + [name]).joined(separator: "/")
            }
        }
    }

    /// Writes a replica of the disk at `source` as `name` in `folder`: a reflink of a single VHD
    /// file where the filesystem can, else a dynamic VHD made by the sparse copy engine. The copy
    /// is synced and its digest checked before it gets its name (never over an existing file).
    ///
    /// - Returns: the replica's size in bytes.
    static func makeReplica(
        of source: FilePath, in folder: RegionFolder.Folder, name: String, expecting digest: String, options: CopyOptions
    ) throws -> Int64 {
        try Disk.withOpened(at: source) { disk in
            let output = try OutputFile.create(at: folder.pathThroughDescriptor(name), overwrite: false)
            defer { output.discard() }
            let layer = disk.layers[0]
            let isSingleVHD: Bool
            if case .vhd = layer.contents, disk.layers.count == 1 { isSingleVHD = true } else { isSingleVHD = false }
            if isSingleVHD && vhdtool_reflink(output.descriptor.rawValue, layer.file.descriptor.rawValue) == 0 {
                options.progress?(disk.virtualSize, disk.virtualSize)
            } else {
                _ = try DiskConversion.convert(disk, to: .dynamic, output: output, options: options)
            }
            try output.descriptor.synchronize(output.temporaryPath.string)
            let written = try Disk.withOpened(at: output.temporaryPath) { try DiskFacts.contentDigest(of: $0, options: options) }
            guard written == digest else {
                throw GalleryError(.replication, "the copy of '\(source)' holds content \(written), not the recorded \(digest)")
            }
            let status = try output.descriptor.status(output.temporaryPath.string)
            try testPause(path: output.temporaryPath.string, isCancelled: options.isCancelled)
            guard let temporary = output.temporaryPath.lastComponent?.string else {
                throw GalleryError(.io, "the temporary file of '\(name)' has no name")
            }
            try folder.publish(temporary, as: name)
            return Int64(status.st_size)
        }
    }

    /// Tests only: `VHDTOOL_TEST_REPLICA_PAUSE_MS` holds each replica, written and checked,
    /// that long before it gets its name, so that tests can act while a copy is under way.
    /// A cancellation during the pause cancels the copy, as it would during the copy itself.
    static func testPause(path: String, isCancelled: (() -> Bool)?) throws(VHDError) {
        guard let text = getenv("VHDTOOL_TEST_REPLICA_PAUSE_MS"), let milliseconds = Int(String(cString: text)), milliseconds > 0 else { return }
        for _ in 0..<(milliseconds + 49) / 50 {
            if isCancelled?() == true { throw VHDError(path: path, .cancelled) }
            pause(milliseconds: 50)
        }
    }

    /// Checks every done replica of the version: present, opens as a disk, and holds the
    /// recorded content. A replica with a problem fails its job (so the region is Failed,
    /// "latest" passes it by and `replicate` makes it again).
    public func verify(
        gallery: String, definition: String, version name: String
    ) throws(GalleryError) -> (details: VersionDetails, problems: [ReplicaProblem]) {
        let details = try version(name, gallery: gallery, definition: definition)
        let regions = try self.regions()
        var problems: [ReplicaProblem] = []
        var failed: [Int64: String] = [:]
        for target in details.regions {
            let folder = try? RegionFolder(target.region, others: regions).folder(details.folderComponents, create: false)
            for job in details.jobs(in: target.region) where job.state == .done {
                guard let name = details.replicaName(of: job), let disk = details.disks.first(where: { $0.id == job.versionDiskId }) else { continue }
                let path = ([target.region.path] + details.folderComponents + [name]).joined(separator: "/")
                let problem: String?
                if let folder, folder.entry(name) != nil {
                    do {
                        let digest = try folder.withFile(name) { try Disk.withOpened(at: $0) { try DiskFacts.contentDigest(of: $0) } }
                        problem = digest == disk.digest ? nil : "holds different content (digest \(digest), recorded \(disk.digest))"
                    } catch {
                        problem = "cannot be read: \(error)"
                    }
                } else {
                    problem = "is missing"
                }
                if let problem {
                    problems.append(ReplicaProblem(region: target.region.name, path: path, problem: problem))
                    failed[job.id!] = "the replica '\(path)' \(problem)"
                }
            }
        }
        guard !failed.isEmpty else { return (details, problems) }
        try applyFileChecks(requeue: [], fail: failed, sizes: [:])
        _ = try settle(version: details.version.id!)
        return (try version(name, gallery: gallery, definition: definition), problems)
    }

    /// Whether every replica of the version in `region` is done and its file is there with
    /// the recorded size ("latest" counts a region only then).
    func replicasPresent(_ details: VersionDetails, in target: VersionDetails.Target, regions: [Region]) -> Bool {
        guard target.target.state == .completed,
              let folder = try? RegionFolder(target.region, others: regions).folder(details.folderComponents, create: false) else { return false }
        return details.jobs(in: target.region).allSatisfy { job in
            guard let name = details.replicaName(of: job), let entry = folder.entry(name), entry.type == S_IFREG else { return false }
            return job.fileSize.map { $0 == entry.size } ?? true
        }
    }

    /// Removes the replica files (and partial files) of `jobs` and then the version's folders
    /// where they are empty.
    func removeReplicas(_ jobs: [ReplicationJob], of details: VersionDetails, regions: [Region]) throws(GalleryError) {
        for target in details.regions {
            let ofRegion = jobs.filter { $0.regionId == target.region.id }
            guard !ofRegion.isEmpty else { continue }
            // A region folder that is gone holds nothing to remove.
            do throws(VHDError) {
                try SystemCalls.checkAccess(FilePath(target.region.path), F_OK)
            } catch where error.errno == .noSuchFileOrDirectory {
                continue
            } catch {
                // Another failure: opening the folder below reports it.
            }
            let regionFolder = try RegionFolder(target.region, others: regions)
            guard let folder = try regionFolder.folder(details.folderComponents, create: false) else { continue }
            for job in ofRegion {
                guard let name = details.replicaName(of: job) else { continue }
                folder.remove(name)
                folder.removePartials(of: name)
            }
        }
    }

    /// Removes the version's folder in each region, and its definition's and gallery's
    /// folders, where they are empty.
    func removeEmptyFolders(of details: VersionDetails, regions: [Region]) {
        for target in details.regions {
            guard let regionFolder = try? RegionFolder(target.region, others: regions) else { continue }
            let parts = details.folderComponents
            if let definition = try? regionFolder.folder(Array(parts.prefix(2)), create: false) { definition.removeFolderIfEmpty(parts[2]) }
            if let gallery = try? regionFolder.folder(Array(parts.prefix(1)), create: false) { gallery.removeFolderIfEmpty(parts[1]) }
            if let root = try? regionFolder.folder([], create: false) { root.removeFolderIfEmpty(parts[0]) }
        }
    }

    /// `<region>/<gallery>/<definition>/<version>/<os|lunN>-<index>.vhd`, index from 1 (for
    /// display: files are always reached through the region folder's descriptor).
    public static func replicaPath(_ details: VersionDetails, region: Region, disk: VersionDisk, index: Int) -> FilePath {
        FilePath(([region.path] + details.folderComponents + ["\(disk.fileStem)-\(index).vhd"]).joined(separator: "/"))
    }
}

/// Bytes per region in one run: done jobs plus the running ones of this process, never
/// reported lower than before.
final class RegionTally: Sendable {
    private struct State {
        var total: [Int64: UInt64] = [:]
        var done: [Int64: UInt64] = [:]
        var running: [Int64: (region: Int64, bytes: UInt64)] = [:]
        var reported: [Int64: UInt64] = [:]
    }

    private let state: Mutex<State>

    init(_ details: VersionDetails) {
        var state = State()
        let sizes = Dictionary(details.disks.map { ($0.id!, $0.virtualSize) }) { first, _ in first }
        for job in details.jobs {
            let size = sizes[job.versionDiskId] ?? 0
            state.total[job.regionId, default: 0] += size
            if job.state == .done { state.done[job.regionId, default: 0] += size }
        }
        self.state = Mutex(state)
    }

    func total(_ region: Int64) -> UInt64 { state.withLock { $0.total[region] ?? 0 } }

    func update(_ job: ReplicationJob, bytes: UInt64) {
        state.withLock { $0.running[job.id!] = (job.regionId, bytes) }
    }

    func finish(_ job: ReplicationJob, of details: VersionDetails) {
        let size = details.disks.first { $0.id == job.versionDiskId }?.virtualSize ?? 0
        state.withLock {
            $0.running[job.id!] = nil
            $0.done[job.regionId, default: 0] += size
        }
    }

    func abandon(_ job: ReplicationJob) {
        state.withLock { $0.running[job.id!] = nil }
    }

    /// The region's bytes done, monotonic.
    func reported(_ region: Int64) -> UInt64 {
        state.withLock { state in
            let running = state.running.values.filter { $0.region == region }.reduce(0) { $0 + $1.bytes }
            let now = min(state.total[region] ?? 0, (state.done[region] ?? 0) + running)
            let value = max(now, state.reported[region] ?? 0)
            state.reported[region] = value
            return value
        }
    }
}
