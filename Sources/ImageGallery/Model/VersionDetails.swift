/// An image version with everything about it: its definition and gallery, its disks (the OS
/// disk first, then data disks by LUN) and its target regions (in the order given).
public struct VersionDetails: Sendable, Equatable {
    /// A target region of the version: the region and the version's settings and state there.
    public struct Target: Sendable, Equatable {
        /// The region: its name and folder.
        public var region: Region
        /// The version's replica count, storage type, flag and replication state in the region.
        public var target: VersionRegion

        /// The regional exclude-from-latest flag, else the version's.
        public func excludedFromLatest(version: ImageVersion) -> Bool { target.excludeFromLatest ?? version.excludeFromLatest }
    }

    /// The gallery the version is in.
    public var gallery: Gallery
    /// The definition the version is a version of.
    public var definition: ImageDefinition
    /// The version itself.
    public var version: ImageVersion
    /// The version's disks: the OS disk first, then data disks by LUN.
    public var disks: [VersionDisk]
    /// The target regions, in the order given; the first is the source region.
    public var regions: [Target]
    /// One job per replica (disk x region x replica number); the regions' states and
    /// progress are derived from them.
    package var jobs: [ReplicationJob] = []

    /// The lease of a create, update or delete working on the version, if any, and whether its
    /// holder is alive.
    package var lease: Lease? { version.lease }

    /// "Creating (pid N on HOST, alive)", "Creating (abandoned: pid N on HOST is gone)" or the
    /// bare provisioning state when no lease is held.
    public var provisioningText: String {
        guard let lease else { return version.provisioningState }
        switch lease.status {
        case .alive: return "\(version.provisioningState) (\(lease.holder), alive)"
        case let .abandoned(reason): return "\(version.provisioningState) (abandoned: \(reason))"
        }
    }

    /// The jobs of one region.
    package func jobs(in region: Region) -> [ReplicationJob] { jobs.filter { $0.regionId == region.id } }

    /// The file name of a job's replica in the version's folder: `<os|lunN>-<index>.vhd`.
    package func replicaName(of job: ReplicationJob) -> String? {
        disks.first { $0.id == job.versionDiskId }.map { "\($0.fileStem)-\(job.replicaIndex).vhd" }
    }

    /// The folder of the version's replicas below a region's folder: gallery, definition, version.
    package var folderComponents: [String] { [gallery.name, definition.name, version.name] }

    /// Bytes of the version's replicas made so far (done jobs whole, running ones as far as
    /// they got), of the bytes of all its replicas: the sum of its jobs, whoever runs them.
    public var progressBytes: (done: UInt64, total: UInt64) {
        let sizes = Dictionary(disks.map { ($0.id ?? 0, $0.virtualSize) }) { first, _ in first }
        var done: UInt64 = 0
        var total: UInt64 = 0
        for job in jobs {
            let size = sizes[job.versionDiskId] ?? 0
            total += size
            switch job.state {
            case .done: done += size
            case .running: done += min(UInt64(max(job.doneBytes, 0)), size)
            case .pending, .failed: break
            }
        }
        return (done, total)
    }

    /// Unknown, InProgress, Completed or Failed over all regions (Failed wins, then InProgress).
    public var aggregatedState: String {
        let states = regions.map(\.target.state)
        if states.contains(.failed) { return "Failed" }
        if states.contains(.replicating) { return "InProgress" }
        if !states.isEmpty && states.allSatisfy({ $0 == .completed }) { return "Completed" }
        return "Unknown"
    }
}
