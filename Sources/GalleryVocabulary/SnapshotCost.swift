/// What storing and replicating an image's snapshots costs, in bytes (Azure Compute Gallery
/// billing): each replica is a snapshot billed on the occupied size; each region but the
/// source receives one copy across regions (egress); further replicas are copied in-region.
///
/// The first target region is taken as the source region (no egress there), as the service
/// requires the source region to be a target region.
public struct SnapshotCost: Sendable, Equatable {
    /// One region's share.
    public struct Region: Sendable, Equatable {
        /// The region's name.
        public var name: String
        /// Replicas in the region.
        public var replicas: Int
        /// The storage account type of the region's replicas.
        public var storageType: StorageAccountType
        /// Occupied size x replicas in this region.
        public var storedBytes: UInt64
        /// Occupied size for every region but the first (the source), else 0.
        public var egressBytes: UInt64
    }

    /// Snapshots billed: disks that hold data x replicas over all regions. An empty disk adds
    /// none (it costs nothing to store or replicate).
    public var snapshots: Int
    /// Occupied size x replicas, summed over regions.
    public var storedBytes: UInt64
    /// Occupied size x (regions - 1).
    public var egressBytes: UInt64
    /// Each target region's share, in the order given (the first is the source).
    public var regions: [Region]

    /// The cost of an image whose disks occupy `occupiedBytes` (one figure per disk, e.g. each
    /// disk's `OccupiedSize.nonZeroBytes` in VHD), replicated to `regions`.
    ///
    /// Example (the gallery documentation's): a 127 GB OS disk occupying 10 GB and an empty
    /// 32 GB data disk, in 3 regions with 2 replicas each: 6 snapshots, 60 GB stored, 20 GB egress.
    ///
    /// - Throws: ``SnapshotCostError/noRegions`` for an empty list, ``SnapshotCostError/overflow``
    ///   if a figure does not fit in 64 bits.
    public init(occupiedBytes: [UInt64], regions targets: [TargetRegion]) throws(SnapshotCostError) {
        guard !targets.isEmpty else { throw .noRegions }
        func add(_ a: UInt64, _ b: UInt64) throws(SnapshotCostError) -> UInt64 {
            let (sum, overflow) = a.addingReportingOverflow(b)
            guard !overflow else { throw .overflow }
            return sum
        }
        func multiply(_ a: UInt64, _ b: UInt64) throws(SnapshotCostError) -> UInt64 {
            let (product, overflow) = a.multipliedReportingOverflow(by: b)
            guard !overflow else { throw .overflow }
            return product
        }
        var occupied: UInt64 = 0
        for bytes in occupiedBytes { occupied = try add(occupied, bytes) }
        let disksWithData = occupiedBytes.count { $0 > 0 }
        var replicas = 0
        var stored: UInt64 = 0
        var egress: UInt64 = 0
        regions = []
        for (index, target) in targets.enumerated() {
            guard TargetRegion.replicaCountRange.contains(target.replicaCount) else {
                throw .replicaCountOutOfRange(target.replicaCount, region: target.name)
            }
            let regionStored = try multiply(occupied, UInt64(target.replicaCount))
            let regionEgress = index == 0 ? 0 : occupied
            regions.append(Region(
                name: target.name, replicas: target.replicaCount, storageType: target.storageType,
                storedBytes: regionStored, egressBytes: regionEgress))
            replicas += target.replicaCount
            stored = try add(stored, regionStored)
            egress = try add(egress, regionEgress)
        }
        let (snapshotCount, overflow) = disksWithData.multipliedReportingOverflow(by: replicas)
        guard !overflow else { throw .overflow }
        snapshots = snapshotCount
        storedBytes = stored
        egressBytes = egress
    }
}

/// Why target regions or a cost cannot be worked out.
public enum SnapshotCostError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `=eastus`, or an empty argument.
    case emptyRegionName(String)
    /// `name=X` where X is neither an integer nor a storage type.
    case neitherCountNorType(String, part: String)
    /// `name=X=type` where X is not an integer.
    case invalidReplicaCount(String, part: String)
    /// `name=count=X` where X is not a storage type.
    case invalidStorageType(String, part: String)
    /// A replica count outside 1...100 (region nil: the default count).
    case replicaCountOutOfRange(Int, region: String?)
    /// The same region twice (as first written, as written again).
    case duplicateRegion(String, String)
    /// No target region was given.
    case noRegions
    /// A figure that does not fit in 64 bits.
    case overflow

    /// A sentence saying what is wrong and, for an argument, what is expected.
    public var description: String {
        let types = StorageAccountType.allCases.map(\.rawValue).joined(separator: ", ")
        switch self {
        case let .emptyRegionName(argument):
            return "target region '\(argument)' has no region name (expected NAME[=COUNT][=TYPE])"
        case let .neitherCountNorType(argument, part):
            return "target region '\(argument)': '\(part)' is neither a replica count nor a storage account type (\(types))"
        case let .invalidReplicaCount(argument, part):
            return "target region '\(argument)': the second part must be a valid integer replica count, not '\(part)'"
        case let .invalidStorageType(argument, part):
            return "target region '\(argument)': '\(part)' is not a storage account type (\(types))"
        case let .replicaCountOutOfRange(count, region):
            let what = region.map { "region '\($0)'" } ?? "the default replica count"
            return "\(what): a replica count of \(count) is out of range; it must be between 1 and 100"
        case let .duplicateRegion(first, again):
            return first == again ? "duplicate target region '\(first)'"
                : "duplicate target region: '\(again)' is the same region as '\(first)'"
        case .noRegions:
            return "no target regions"
        case .overflow:
            return "the figures do not fit in 64 bits"
        }
    }
}
