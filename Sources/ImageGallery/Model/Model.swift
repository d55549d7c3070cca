import GRDB
import VHD

/// The operating system of an image definition, as Azure writes it.
public enum GalleryOSType: String, Codable, Sendable, Equatable, CaseIterable {
    case linux = "Linux"
    case windows = "Windows"
}

/// Whether a definition's images are generalized or specialized, as Azure writes it.
public enum GalleryOSState: String, Codable, Sendable, Equatable, CaseIterable {
    case generalized = "Generalized"
    case specialized = "Specialized"
}

/// How a definition's images boot: V1 (BIOS, MBR) or V2 (UEFI, GPT).
public enum GalleryHyperVGeneration: String, Codable, Sendable, Equatable, CaseIterable {
    case v1 = "V1"
    case v2 = "V2"
}

/// The processor architecture of a definition's images, as Azure writes it.
public enum GalleryArchitecture: String, Codable, Sendable, Equatable, CaseIterable {
    case x64 = "x64"
    case arm64 = "Arm64"
}

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

extension RawRepresentable where RawValue == String, Self: CaseIterable {
    /// The case whose raw value is `text`, ignoring case.
    package init?(caseInsensitive text: String) {
        guard let found = Self.allCases.first(where: { $0.rawValue.lowercased() == text.lowercased() }) else { return nil }
        self = found
    }
}

/// A storage root of the store: replicas "in" the region are files under its folder.
public struct Region: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "region"
    package var id: Int64?
    public var name: String
    public var path: String
    /// Versions created without `--target-region` go to the default region.
    public var isDefault: Bool

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

/// A gallery: a named container of image definitions.
public struct Gallery: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "gallery"
    package var id: Int64?
    public var name: String
    public var description: String?
    public var createdDate: String

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

/// An image definition: what a family of image versions is (publisher/offer/SKU, OS, generation).
public struct ImageDefinition: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "definition"
    package var id: Int64?
    package var galleryId: Int64
    public var name: String
    public var publisher: String
    public var offer: String
    public var sku: String
    public var osType: GalleryOSType
    public var osState: GalleryOSState
    public var hyperVGeneration: GalleryHyperVGeneration
    public var architecture: GalleryArchitecture
    public var description: String?
    public var eula: String?
    public var privacyStatementUri: String?
    public var releaseNoteUri: String?
    public var endOfLifeDate: String?
    public var tags: [String: String]
    public var minVCPUs: Int?
    public var maxVCPUs: Int?
    /// Recommended memory in MB (MiB), as Azure's `recommended.memory` counts it.
    public var minMemoryMB: Int?
    public var maxMemoryMB: Int?
    public var disallowedDiskTypes: [String]
    public var planName: String?
    public var planPublisher: String?
    public var planProduct: String?
    public var createdDate: String

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

/// An image version: the disks published under a definition, and where they are replicated.
public struct ImageVersion: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "version"
    package var id: Int64?
    package var definitionId: Int64
    public var name: String
    public var major: Int
    public var minor: Int
    public var patch: Int
    /// The default replica count of a region (`--replica-count`).
    public var replicaCount: Int
    public var storageAccountType: StorageAccountType
    public var excludeFromLatest: Bool
    public var endOfLifeDate: String?
    public var tags: [String: String]
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

    package var number: VersionNumber { VersionNumber(major: major, minor: minor, patch: patch) }

    mutating func setLease(_ lease: Lease?) {
        leaseOperation = lease?.operation
        leaseHost = lease?.holder.host
        leasePid = lease.map { Int64($0.holder.pid) }
        leaseStart = lease.map { Int64($0.holder.startTime) }
        leaseExpiry = lease?.expiry
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

/// One disk of a version: the OS disk (no LUN) or a data disk, with the figures recorded when
/// the version was created. Replicas must have this content digest.
public struct VersionDisk: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "versionDisk"
    package var id: Int64?
    package var versionId: Int64
    /// nil for the OS disk.
    public var lun: Int?
    /// The local file the version was made from, as given (absolute).
    public var sourcePath: String
    public var virtualSize: UInt64
    /// Non-zero bytes at 512-byte granules: the occupied size snapshots are billed on.
    public var occupiedBytes: UInt64
    public var digest: String

    /// "os" or "lun<N>": the stem of the disk's replica file names.
    package var fileStem: String { lun.map { "lun\($0)" } ?? "os" }

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

/// A version's target region: replica count, storage type, its own exclude-from-latest, and the
/// replication state there.
public struct VersionRegion: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "versionRegion"
    package var id: Int64?
    package var versionId: Int64
    package var regionId: Int64
    /// Order of the target regions as given; the first is the source region of the cost model.
    public var position: Int
    public var replicaCount: Int
    public var storageAccountType: StorageAccountType
    /// Overrides the version's flag in this region when set.
    public var excludeFromLatest: Bool?
    public var state: ReplicationState
    /// 0...100.
    public var progress: Int
    /// Why replication failed, when it did.
    public var details: String?

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
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
package struct ReplicationJob: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    package static let databaseTableName = "replicationJob"
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

    package mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}
