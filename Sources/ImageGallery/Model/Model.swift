import VHD

/// Per-region replication state: not yet known, being copied, usable there, or failed.
public enum ReplicationState: String, Codable, Sendable, Equatable, CaseIterable {
    case unknown = "Unknown"
    case replicating = "Replicating"
    case completed = "Completed"
    case failed = "Failed"
}

/// The disk types a definition may disallow (Azure's managed disk SKUs).
enum DiskTypes {
    static let all = ["Standard_LRS", "StandardSSD_LRS", "StandardSSD_ZRS", "Premium_LRS", "Premium_ZRS", "PremiumV2_LRS", "UltraSSD_LRS"]
}

/// A storage root of the store: replicas "in" the region are files under its folder.
public struct Region: Codable, Sendable, Equatable {
    package var id: Int64?
    /// The region's name (the same rules as a gallery name); unique in the store, ignoring case.
    public var name: String
    /// The region's folder (absolute): replicas in the region are files below it.
    public var path: String
    /// Versions created without target regions go to the default region.
    public var isDefault: Bool
}

/// A gallery: a named container of image definitions.
public struct Gallery: Codable, Sendable, Equatable {
    package var id: Int64?
    /// The gallery's name: at most 80 ASCII letters, digits, `_`, `-` and `.`; unique in the store,
    /// ignoring case.
    public var name: String
    /// What the gallery holds, or nil.
    public var description: String?
    /// When the gallery was created: `YYYY-MM-DDTHH:MM:SSZ` (UTC).
    public var createdDate: String
}

/// An image definition: what a family of image versions is (publisher/offer/SKU, OS, generation).
public struct ImageDefinition: Codable, Sendable, Equatable {
    package var id: Int64?
    package var galleryId: Int64
    /// The definition's name; unique in its gallery, ignoring case.
    public var name: String
    /// The identifier's publisher.
    public var publisher: String
    /// The identifier's offer.
    public var offer: String
    /// The identifier's SKU; publisher, offer and SKU together are unique in the gallery.
    public var sku: String
    /// The operating system of the images.
    public var osType: GalleryOSType
    /// Whether the images are generalized or specialized.
    public var osState: GalleryOSState
    /// How the images boot.
    public var hyperVGeneration: GalleryHyperVGeneration
    /// The images' processor architecture.
    public var architecture: GalleryArchitecture
    /// A free-text description, or nil.
    public var description: String?
    /// The end-user license agreement text, or nil.
    public var eula: String?
    /// The privacy statement's URI, or nil.
    public var privacyStatementUri: String?
    /// The release notes' URI, or nil.
    public var releaseNoteUri: String?
    /// The end of life, `YYYY-MM-DDTHH:MM:SSZ` (UTC), or nil for none.
    public var endOfLifeDate: String?
    /// Resource tags.
    public var tags: [String: String]
    /// The recommended minimum of virtual CPUs, or nil.
    public var minVCPUs: Int?
    /// The recommended maximum of virtual CPUs, or nil.
    public var maxVCPUs: Int?
    /// Recommended memory in MB (MiB), as Azure's `recommended.memory` counts it.
    public var minMemoryMB: Int?
    /// The recommended maximum memory in MB (MiB), or nil.
    public var maxMemoryMB: Int?
    /// Azure managed disk types the images must not run on, as Azure spells them; empty allows all.
    public var disallowedDiskTypes: [String]
    /// The purchase plan's name, or nil for no plan.
    public var planName: String?
    /// The purchase plan's publisher, or nil for no plan.
    public var planPublisher: String?
    /// The purchase plan's product, or nil for no plan.
    public var planProduct: String?
    /// When the definition was created: `YYYY-MM-DDTHH:MM:SSZ` (UTC).
    public var createdDate: String
}

/// An image version: the disks published under a definition, and where they are replicated.
public struct ImageVersion: Codable, Sendable, Equatable {
    package var id: Int64?
    package var definitionId: Int64
    /// The version's name, `MAJOR.MINOR.PATCH`.
    public var name: String
    /// The major number of the name.
    public var major: Int
    /// The minor number of the name.
    public var minor: Int
    /// The patch number of the name.
    public var patch: Int
    /// The replica count of a target region that gives none, 1...100.
    public var replicaCount: Int
    /// The storage account type of regions that do not give their own.
    public var storageAccountType: StorageAccountType
    /// Whether `latest` skips this version, unless a region's own flag says otherwise.
    public var excludeFromLatest: Bool
    /// The end of life, `YYYY-MM-DDTHH:MM:SSZ` (UTC), or nil for none.
    public var endOfLifeDate: String?
    /// Resource tags.
    public var tags: [String: String]
    /// When the version was created: `YYYY-MM-DDTHH:MM:SSZ` (UTC).
    public var publishedDate: String
    /// Creating, Updating, Deleting, Succeeded (every region Completed) or Failed (some
    /// region Failed).
    public var provisioningState: String
    /// Who holds the version while a create, update or delete works on it (nil: nobody).
    package var leaseOperation: String?
    package var leaseHost: String?
    package var leasePid: Int64?
    package var leaseStart: Int64?
    /// Unix seconds; renewed by the holder's heartbeat.
    package var leaseExpiry: Double?

    /// The version's lease, when one is recorded.
    package var lease: Lease? {
        guard let leaseHost, let leasePid, let leaseStart, let leaseExpiry else { return nil }
        return Lease(
            holder: LeaseHolder(host: leaseHost, pid: Int32(truncatingIfNeeded: leasePid), startTime: UInt64(leaseStart)),
            expiry: leaseExpiry, operation: leaseOperation)
    }

    /// The version number of ``name``, for ordering versions numerically.
    public var number: VersionNumber { VersionNumber(major: major, minor: minor, patch: patch) }

    mutating func setLease(_ lease: Lease?) {
        leaseOperation = lease?.operation
        leaseHost = lease?.holder.host
        leasePid = lease.map { Int64($0.holder.pid) }
        leaseStart = lease.map { Int64($0.holder.startTime) }
        leaseExpiry = lease?.expiry
    }
}

/// One disk of a version: the OS disk (no LUN) or a data disk, with the figures recorded when
/// the version was created. Replicas must have this content digest.
public struct VersionDisk: Codable, Sendable, Equatable {
    package var id: Int64?
    package var versionId: Int64
    /// nil for the OS disk.
    public var lun: Int?
    /// The local file the version was made from, as given (absolute).
    public var sourcePath: String
    /// The disk's virtual size in bytes, as the guest sees it.
    public var virtualSize: UInt64
    /// Non-zero bytes at 512-byte granules: the occupied size snapshots are billed on.
    public var occupiedBytes: UInt64
    /// The content digest of the disk's virtual content; every replica must have it.
    public var digest: String

    /// "os" or "lun<N>": the stem of the disk's replica file names.
    package var fileStem: String { lun.map { "lun\($0)" } ?? "os" }
}

/// A version's target region: replica count, storage type, its own exclude-from-latest, and the
/// replication state there.
public struct VersionRegion: Codable, Sendable, Equatable {
    package var id: Int64?
    package var versionId: Int64
    package var regionId: Int64
    /// Order of the target regions as given; the first is the source region of the cost model.
    public var position: Int
    /// Replicas of each disk in this region, 1...100.
    public var replicaCount: Int
    /// The storage account type in this region; it cannot change after creation.
    public var storageAccountType: StorageAccountType
    /// Overrides the version's flag in this region when set.
    public var excludeFromLatest: Bool?
    /// The replication state in this region, derived from its replication jobs.
    public var state: ReplicationState
    /// 0...100.
    public var progress: Int
    /// Why replication failed, when it did.
    public var details: String?
}

/// The state of one replication job.
package enum JobState: String, Codable, Sendable, Equatable, CaseIterable {
    /// Not made yet (or found missing or resized): the next `replicate` makes it.
    case pending
    /// Being made by the holder of the job's lease.
    case running
    /// Made and checked: the file has the recorded size and content digest.
    case done
    /// Could not be made; ``ReplicationJob/details`` says why.
    case failed
}

/// One replica to make: a disk of a version in a region, replica number `replicaIndex` (from
/// 1). A region's replication state is derived from its jobs (``VersionDetails/Target``).
package struct ReplicationJob: Codable, Sendable, Equatable {
    package var id: Int64?
    package var versionId: Int64
    package var regionId: Int64
    package var versionDiskId: Int64
    package var replicaIndex: Int
    package var state: JobState
    /// The replica file's size in bytes, recorded when the job was done.
    package var fileSize: Int64?
    /// The replica's content digest, recorded when the job was done.
    package var digest: String?
    /// Why the job failed.
    package var details: String?
    /// Bytes of the disk copied so far (the disk's virtual size when done).
    package var doneBytes: Int64
    package var leaseHost: String?
    package var leasePid: Int64?
    package var leaseStart: Int64?
    package var leaseExpiry: Double?

    /// The job's lease, while it runs.
    package var lease: Lease? {
        guard let leaseHost, let leasePid, let leaseStart, let leaseExpiry else { return nil }
        return Lease(
            holder: LeaseHolder(host: leaseHost, pid: Int32(truncatingIfNeeded: leasePid), startTime: UInt64(leaseStart)),
            expiry: leaseExpiry, operation: "replicating")
    }

    mutating func setLease(_ lease: Lease?) {
        leaseHost = lease?.holder.host
        leasePid = lease.map { Int64($0.holder.pid) }
        leaseStart = lease.map { Int64($0.holder.startTime) }
        leaseExpiry = lease?.expiry
    }
}
