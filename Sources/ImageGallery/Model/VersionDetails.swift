/// An image version with everything about it: its definition and gallery, its disks (the OS
/// disk first, then data disks by LUN) and its target regions (in the order given).
public struct VersionDetails: Sendable, Equatable {
    public struct Target: Sendable, Equatable {
        public var region: Region
        public var target: VersionRegion

        /// The regional exclude-from-latest flag, else the version's.
        public func excludedFromLatest(version: ImageVersion) -> Bool { target.excludeFromLatest ?? version.excludeFromLatest }
    }

    public var gallery: Gallery
    public var definition: ImageDefinition
    public var version: ImageVersion
    public var disks: [VersionDisk]
    public var regions: [Target]

    /// Unknown, InProgress, Completed or Failed over all regions (Failed wins, then InProgress).
    public var aggregatedState: String {
        let states = regions.map(\.target.state)
        if states.contains(.failed) { return "Failed" }
        if states.contains(.replicating) { return "InProgress" }
        if !states.isEmpty && states.allSatisfy({ $0 == .completed }) { return "Completed" }
        return "Unknown"
    }
}
