import VHDFormat

/// Whether an image was generalized (sysprep, waagent -deprovision: machine-specific data
/// removed, ready to make many VMs) or is a specialized copy of one machine.
public enum OSState: String, Codable, Sendable, Equatable, CaseIterable {
    /// `generalized`: machine-specific data removed; `specialized`: one machine as it was.
    case generalized, specialized
}

/// The operating system an image holds.
public enum OSType: String, Codable, Sendable, Equatable, CaseIterable {
    /// Windows or Linux, the two kinds Azure's image gallery knows.
    case windows, linux
}

/// How the VM boots: V1 is BIOS from an MBR disk, V2 is UEFI from a GPT disk.
public enum HyperVGeneration: String, Codable, Sendable, Equatable, CaseIterable {
    /// Generation 1: BIOS boot from an MBR disk.
    case v1 = "V1"
    /// Generation 2: UEFI boot from a GPT disk with an EFI system partition.
    case v2 = "V2"
}

/// The processor architecture an image is built for.
public enum Architecture: String, Codable, Sendable, Equatable, CaseIterable {
    /// 64-bit x86 or 64-bit ARM.
    case x64, arm64
}

/// An image's metadata, as `vhdtool tag` records it in the sidecar file beside the image
/// (``ImageTagFile``): what the user says about the image, and which image it was said about.
///
/// Key names and values are the documented sidecar format (README.md, "Tag sidecar").
public struct ImageTag: Codable, Sendable, Equatable {
    /// The sidecar format this code writes; readers refuse newer versions.
    public static let currentFormatVersion = 1

    /// The sidecar format the record was written in (key `formatVersion`): ``currentFormatVersion``
    /// for records this code makes; a reader refuses a newer one.
    public var formatVersion: Int
    /// Whether the image is generalized or specialized, as the user said: the one field every
    /// record has.
    public var osState: OSState
    /// The operating system the user says the image holds; nil when not given. Checked against the
    /// filesystems by ``contradictions(with:)``.
    public var osType: OSType?
    /// How the user says the image boots; nil when not given. Checked against the partition table by
    /// ``contradictions(with:)``.
    public var hyperVGeneration: HyperVGeneration?
    /// The processor architecture the user says the image is built for; nil when not given (never
    /// checked against the contents).
    public var architecture: Architecture?
    /// Free-form KEY=VALUE tags (Azure's rules: at most 50, keys up to 512 characters without
    /// `< > % & \ ? /`, values up to 256).
    public var tags: [String: String]
    /// The image the record belongs to.
    public var image: ImageBinding
    /// When the record was made, ISO 8601 UTC.
    public var taggedAt: String

    /// Makes a record of what the user says about an image, in the current format version.
    ///
    /// - Parameters:
    ///   - osState: generalized or specialized.
    ///   - osType: the operating system, nil when not given.
    ///   - hyperVGeneration: the Hyper-V generation, nil when not given.
    ///   - architecture: the processor architecture, nil when not given.
    ///   - tags: free-form KEY=VALUE tags; not checked here (see ``problem(withTags:)``).
    ///   - image: which image the record belongs to.
    ///   - taggedAtUnixSeconds: when the record is made, in seconds since 1970; stored in
    ///     ``taggedAt`` as ISO 8601 UTC, clamped to the years 2000 to 2136 a VHD timestamp holds.
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
    ///
    /// The rules: at most 50 tags; keys not empty, at most 512 characters, without any of
    /// `< > % & \ ? /`; values at most 256 characters.
    ///
    /// - Parameter tags: the tags to check.
    /// - Returns: the first broken rule as a sentence (keys checked in sorted order), or nil.
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
    ///
    /// Only given fields are checked, and only against what the probe suggests: an unknown
    /// OS type in `layout` contradicts nothing.
    ///
    /// - Parameter layout: what the probe found in the disk.
    /// - Returns: one sentence per contradiction; empty when there is none.
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
    /// The virtual size in bytes of the disk tagged; a disk of another size is stale.
    public var virtualSize: UInt64
    /// The content digest of the disk tagged, read through its whole chain; compared when the file
    /// stamps no longer vouch for the content.
    public var digest: ContentDigest
    /// Each file of the chain (the disk, then its parents) as it was when tagged.
    public var files: [FileStamp]
    /// When the stamps were taken, in nanoseconds since 1970: a stamp taken too soon after its
    /// file's last write cannot stand for the content (``FileStamp/isSettled(stampedAtNanoseconds:)``).
    public var stampedAtNanoseconds: Int64

    /// Makes a binding from its parts.
    ///
    /// - Parameters:
    ///   - uniqueId: the footer UUID of the disk tagged, as text; nil for a raw image.
    ///   - virtualSize: the virtual size in bytes.
    ///   - digest: the content digest.
    ///   - files: the stamp of each file of the chain, the disk first.
    ///   - stampedAtNanoseconds: when the stamps were taken, in nanoseconds since 1970.
    public init(uniqueId: String?, virtualSize: UInt64, digest: ContentDigest, files: [FileStamp], stampedAtNanoseconds: Int64) {
        self.uniqueId = uniqueId
        self.virtualSize = virtualSize
        self.digest = digest
        self.files = files
        self.stampedAtNanoseconds = stampedAtNanoseconds
    }

    /// The binding of an open disk whose digest was computed, its files stamped now.
    ///
    /// - Parameters:
    ///   - disk: the disk tagged, opened with its chain.
    ///   - digest: the disk's ``ContentDigest``, computed before the stamps are taken.
    /// - Throws: ``VHDError`` when a file of the chain cannot be stamped (`stat` fails).
    public init(disk: Disk, digest: ContentDigest) throws(VHDError) {
        let now = FileStamp.nowNanoseconds()
        self.init(
            uniqueId: disk.layers[0].layout?.footer.uniqueId.description, virtualSize: disk.virtualSize, digest: digest,
            files: try disk.layers.map { (layer) throws(VHDError) in try FileStamp(layer.file.path) }, stampedAtNanoseconds: now)
    }
}
