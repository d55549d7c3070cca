import VHDFormat

/// Whether an image was generalized (sysprep, waagent -deprovision: machine-specific data
/// removed, ready to make many VMs) or is a specialized copy of one machine.
public enum OSState: String, Codable, Sendable, Equatable, CaseIterable {
    case generalized, specialized
}

/// The operating system an image holds.
public enum OSType: String, Codable, Sendable, Equatable, CaseIterable {
    case windows, linux
}

/// How the VM boots: V1 is BIOS from an MBR disk, V2 is UEFI from a GPT disk.
public enum HyperVGeneration: String, Codable, Sendable, Equatable, CaseIterable {
    case v1 = "V1"
    case v2 = "V2"
}

/// The processor architecture an image is built for.
public enum Architecture: String, Codable, Sendable, Equatable, CaseIterable {
    case x64, arm64
}

/// An image's metadata, as `vhdtool tag` records it in the sidecar file beside the image
/// (``ImageTagFile``): what the user says about the image, and which image it was said about.
///
/// Key names and values are the documented sidecar format (README.md, "Tag sidecar").
public struct ImageTag: Codable, Sendable, Equatable {
    /// The sidecar format this code writes; readers refuse newer versions.
    public static let currentFormatVersion = 1

    public var formatVersion: Int
    public var osState: OSState
    public var osType: OSType?
    public var hyperVGeneration: HyperVGeneration?
    public var architecture: Architecture?
    /// Free-form KEY=VALUE tags (Azure's rules: at most 50, keys up to 512 characters without
    /// `< > % & \ ? /`, values up to 256).
    public var tags: [String: String]
    /// The image the record belongs to.
    public var image: ImageBinding
    /// When the record was made, ISO 8601 UTC.
    public var taggedAt: String

    public init(
        osState: OSState, osType: OSType? = nil, hyperVGeneration: HyperVGeneration? = nil, architecture: Architecture? = nil,
        tags: [String: String] = [:], image: ImageBinding, taggedAtUnixSeconds: Int64
    ) {
        formatVersion = Self.currentFormatVersion
        self.osState = osState
        self.osType = osType
        self.hyperVGeneration = hyperVGeneration
        self.architecture = architecture
        self.tags = tags
        self.image = image
        taggedAt = VHDTimestamp(unixSeconds: taggedAtUnixSeconds).description
    }

    /// Why `tags` break Azure's tag rules, or nil when they keep them.
    public static func problem(withTags tags: [String: String]) -> String? {
        if tags.count > 50 { return "\(tags.count) tags; at most 50 are allowed" }
        for (key, value) in tags.sorted(by: { $0.key < $1.key }) {
            if key.isEmpty { return "a tag has an empty key" }
            if key.count > 512 { return "the tag key \"\(key.prefix(20))...\" is longer than 512 characters" }
            if let bad = key.first(where: { "<>%&\\?/".contains($0) }) { return "the tag key \"\(key)\" contains '\(bad)'" }
            if value.count > 256 { return "the value of tag \"\(key)\" is longer than 256 characters" }
        }
        return nil
    }

    /// Where this record disagrees with what the disk holds: an OS type the filesystems
    /// contradict, a Hyper-V generation the partition table cannot boot.
    public func contradictions(with layout: DiskLayout) -> [String] {
        var problems: [String] = []
        if let osType, let found = layout.suggestedOSType, found != osType {
            let names = Set(layout.filesystems.filter { $0.isLinux || $0.isWindows }.map(\.rawValue)).sorted()
            let evidence = names.isEmpty ? "\(found.rawValue) partition types" : "\(found.rawValue) filesystems (\(names.joined(separator: ", ")))"
            problems.append("tagged \(osType.rawValue), but the disk holds only \(evidence)")
        }
        switch (hyperVGeneration, layout.scheme) {
        case (.v2?, .mbr):
            problems.append("tagged V2, but the disk has an MBR partition table (generation 2 boots only from GPT)")
        case (.v2?, .gpt) where !layout.hasGPTPartition(ofType: PartitionTypes.efiSystem):
            problems.append("tagged V2, but the GPT disk has no EFI system partition")
        case (.v1?, .gpt) where !layout.hasGPTPartition(ofType: PartitionTypes.biosBoot):
            problems.append("tagged V1, but the disk is GPT without a BIOS boot partition (generation 1 boots from MBR)")
        default:
            break
        }
        return problems
    }
}

/// Which image a tag belongs to: its footer UUID and content digest, and quick stamps of its
/// files that spare re-reading the content while nothing has changed.
public struct ImageBinding: Codable, Sendable, Equatable {
    /// The footer UUID of the disk tagged (not its parents'); nil for a raw image.
    public var uniqueId: String?
    public var virtualSize: UInt64
    public var digest: ContentDigest
    /// Each file of the chain (the disk, then its parents) as it was when tagged.
    public var files: [FileStamp]
    /// When the stamps were taken, in nanoseconds since 1970: a stamp taken too soon after its
    /// file's last write cannot stand for the content (``FileStamp/isSettled(stampedAtNanoseconds:)``).
    public var stampedAtNanoseconds: Int64

    public init(uniqueId: String?, virtualSize: UInt64, digest: ContentDigest, files: [FileStamp], stampedAtNanoseconds: Int64) {
        self.uniqueId = uniqueId
        self.virtualSize = virtualSize
        self.digest = digest
        self.files = files
        self.stampedAtNanoseconds = stampedAtNanoseconds
    }

    /// The binding of an open disk whose digest was computed.
    public init(disk: Disk, digest: ContentDigest) throws(VHDError) {
        let now = FileStamp.nowNanoseconds()
        self.init(
            uniqueId: disk.layers[0].layout?.footer.uniqueId.description, virtualSize: disk.virtualSize, digest: digest,
            files: try disk.layers.map { (layer) throws(VHDError) in try FileStamp(layer.file.path) }, stampedAtNanoseconds: now)
    }
}
