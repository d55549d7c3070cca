/// A region an image version is replicated to, as `az sig image-version create --target-regions`
/// takes it: `name`, `name=count`, `name=type` or `name=count=type`.
public struct TargetRegion: Sendable, Equatable {
    /// The region's name as `az` takes it, e.g. "westeurope".
    public var name: String
    /// Replicas in the region, 1...100.
    public var replicaCount: Int
    /// The storage account type of the region's replicas.
    public var storageType: StorageAccountType

    /// The replica counts a region accepts.
    public static let replicaCountRange = 1...100

    /// Makes a target region from its parts, unchecked.
    ///
    /// - Parameters:
    ///   - name: The region's name.
    ///   - replicaCount: Replicas in the region, in ``replicaCountRange``.
    ///   - storageType: The storage account type of its replicas.
    public init(name: String, replicaCount: Int, storageType: StorageAccountType) {
        self.name = name
        self.replicaCount = replicaCount
        self.storageType = storageType
    }

    /// Parses `argument` as `az sig` does (`split('=', 2)`): one part is the name; with two
    /// parts the second is a replica count if it is an integer, else a storage type; with three
    /// the second must be a count and the third a type. Types are case-insensitive; a missing
    /// count or type takes the default.
    ///
    /// - Throws: ``SnapshotCostError`` for an empty name, a part that is neither a count nor a
    ///   type, or a count outside 1...100 (which the service refuses; the CLI does not check).
    public init(
        parsing argument: String, defaultReplicaCount: Int = 1, defaultStorageType: StorageAccountType = .standardLRS
    ) throws(SnapshotCostError) {
        let parts = argument.split(separator: "=", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
        let name = parts[0].trimmingSpaces
        guard !name.isEmpty else { throw .emptyRegionName(argument) }
        var count = defaultReplicaCount
        var type = defaultStorageType
        if parts.count == 2 {
            if let number = Int(parts[1]) {
                count = number
            } else if let named = StorageAccountType(caseInsensitive: parts[1]) {
                type = named
            } else {
                throw .neitherCountNorType(argument, part: parts[1])
            }
        } else if parts.count == 3 {
            guard let number = Int(parts[1]) else { throw .invalidReplicaCount(argument, part: parts[1]) }
            guard let named = StorageAccountType(caseInsensitive: parts[2]) else {
                throw .invalidStorageType(argument, part: parts[2])
            }
            count = number
            type = named
        }
        guard Self.replicaCountRange.contains(count) else { throw .replicaCountOutOfRange(count, region: name) }
        self.init(name: name, replicaCount: count, storageType: type)
    }

    /// Parses each argument and refuses a region named twice (names compared as Azure
    /// normalizes locations: case and spaces ignored, so `East US` is `eastus`).
    ///
    /// - Throws: ``SnapshotCostError`` for the first bad argument or duplicate.
    public static func parseList(
        _ arguments: [String], defaultReplicaCount: Int = 1, defaultStorageType: StorageAccountType = .standardLRS
    ) throws(SnapshotCostError) -> [TargetRegion] {
        guard replicaCountRange.contains(defaultReplicaCount) else {
            throw .replicaCountOutOfRange(defaultReplicaCount, region: nil)
        }
        var regions: [TargetRegion] = []
        var seen: [String: String] = [:]
        for argument in arguments {
            let region = try TargetRegion(
                parsing: argument, defaultReplicaCount: defaultReplicaCount, defaultStorageType: defaultStorageType)
            if let first = seen[region.normalizedName] { throw .duplicateRegion(first, region.name) }
            seen[region.normalizedName] = region.name
            regions.append(region)
        }
        return regions
    }

    /// The name as Azure compares locations: lower case, without spaces.
    var normalizedName: String { String(name.lowercased().filter { $0 != " " }) }
}

extension String {
    /// Without leading and trailing spaces.
    var trimmingSpaces: String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}
