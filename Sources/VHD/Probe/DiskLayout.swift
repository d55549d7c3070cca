/// What is inside a disk: its partition table, each partition's filesystem, and what that
/// suggests about the operating system and how it boots. Built by ``DiskLayoutProbe``.
///
/// Key names are part of the command-line interface (`inspect --json`'s `layout`).
public struct DiskLayout: Codable, Sendable, Equatable {
    /// How the disk is divided: GPT when sector 1 holds "EFI PART" or sector 0 is a protective
    /// MBR; MBR when sector 0 holds a plausible table and the whole disk shows no filesystem
    /// signature other than FAT's; otherwise none.
    public var scheme: PartitionScheme
    /// The partitions in table order (MBR: primary, then logical ones in chain order); empty when
    /// ``scheme`` is ``PartitionScheme/none``.
    public var partitions: [Partition]
    /// With no partition table: the filesystem on the whole disk (unknown when none is found).
    public var filesystem: Filesystem?
    /// GPT: the disk GUID. MBR: the 32-bit disk signature at byte 440, "0x1A2B3C4D".
    public var diskIdentifier: String?
    /// GPT: whether the backup header and its entries are sound and agree with the primary.
    public var backupHeaderValid: Bool?
    /// Windows when only Windows marks are found (NTFS, BitLocker, Windows partition types),
    /// Linux when only Linux marks are (ext2/3/4, XFS, Btrfs, swap, LVM, Linux types); nil
    /// ("unknown") otherwise.
    public var suggestedOSType: OSType?
    /// Which system the suggestion stands for when the OS type alone does not say it:
    /// "FreeBSD" (Azure's OS type for FreeBSD is Linux).
    public var suggestedOSDetail: String?
    /// V2 for a GPT disk with an EFI system partition, V1 for an MBR disk with an active
    /// partition; nil ("unknown") otherwise.
    public var suggestedHyperVGeneration: HyperVGeneration?
    /// What is wrong with the tables: damaged headers, partitions past the end, overlaps.
    public var warnings: [String]

    /// Makes a layout from what a probe found; everything but the scheme defaults to "nothing
    /// found".
    ///
    /// - Parameters:
    ///   - scheme: how the disk is divided; see ``scheme``.
    ///   - partitions: the partitions in table order.
    ///   - filesystem: with no partition table, the filesystem on the whole disk.
    ///   - diskIdentifier: the GPT disk GUID or the MBR disk signature as text.
    ///   - backupHeaderValid: GPT only: whether the backup header agrees with the primary.
    ///   - suggestedOSType: the operating system the contents suggest, nil for unknown.
    ///   - suggestedHyperVGeneration: the generation the table can boot, nil for unknown.
    ///   - warnings: what is wrong with the tables.
    public init(
        scheme: PartitionScheme, partitions: [Partition] = [], filesystem: Filesystem? = nil, diskIdentifier: String? = nil,
        backupHeaderValid: Bool? = nil, suggestedOSType: OSType? = nil, suggestedHyperVGeneration: HyperVGeneration? = nil,
        warnings: [String] = []
    ) {
        self.scheme = scheme
        self.partitions = partitions
        self.filesystem = filesystem
        self.diskIdentifier = diskIdentifier
        self.backupHeaderValid = backupHeaderValid
        self.suggestedOSType = suggestedOSType
        self.suggestedHyperVGeneration = suggestedHyperVGeneration
        self.warnings = warnings
    }

    /// The filesystems found, in partition order (the whole disk's when there is no table).
    public var filesystems: [Filesystem] {
        partitions.map(\.filesystem) + (filesystem.map { [$0] } ?? [])
    }

    /// Whether a GPT partition of this type is present.
    func hasGPTPartition(ofType type: String) -> Bool {
        scheme == .gpt && partitions.contains { $0.type == type }
    }

    enum CodingKeys: String, CodingKey {
        case scheme, partitions, filesystem, diskIdentifier, backupHeaderValid, suggestedOSType, suggestedOSDetail,
             suggestedHyperVGeneration, warnings
    }

    /// Writes the layout under the keys of `inspect --json`'s `layout`.
    ///
    /// The suggestions are written "unknown" rather than left out: scripts read them. The
    /// whole-disk filesystem, the disk identifier and the backup header's validity are left
    /// out when nil.
    ///
    /// - Parameter encoder: the encoder to write into.
    /// - Throws: whatever the encoder throws.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(scheme, forKey: .scheme)
        try container.encode(partitions, forKey: .partitions)
        try container.encodeIfPresent(filesystem, forKey: .filesystem)
        try container.encodeIfPresent(diskIdentifier, forKey: .diskIdentifier)
        try container.encodeIfPresent(backupHeaderValid, forKey: .backupHeaderValid)
        try container.encode(suggestedOSType?.tagName ?? "unknown", forKey: .suggestedOSType)
        try container.encodeIfPresent(suggestedOSDetail, forKey: .suggestedOSDetail)
        try container.encode(suggestedHyperVGeneration?.tagName ?? "unknown", forKey: .suggestedHyperVGeneration)
        try container.encode(warnings, forKey: .warnings)
    }

    /// Reads a layout as ``encode(to:)`` writes it; a suggestion of "unknown" (or any other value
    /// that names no case) reads as nil.
    ///
    /// - Parameter decoder: the decoder holding the `layout` object of `inspect --json`.
    /// - Throws: `DecodingError` when `scheme`, `partitions`, `suggestedOSType`,
    ///   `suggestedHyperVGeneration` or `warnings` is missing, or a value has the wrong type.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        scheme = try container.decode(PartitionScheme.self, forKey: .scheme)
        partitions = try container.decode([Partition].self, forKey: .partitions)
        filesystem = try container.decodeIfPresent(Filesystem.self, forKey: .filesystem)
        diskIdentifier = try container.decodeIfPresent(String.self, forKey: .diskIdentifier)
        backupHeaderValid = try container.decodeIfPresent(Bool.self, forKey: .backupHeaderValid)
        suggestedOSType = OSType(caseInsensitive: try container.decode(String.self, forKey: .suggestedOSType))
        suggestedOSDetail = try container.decodeIfPresent(String.self, forKey: .suggestedOSDetail)
        suggestedHyperVGeneration = HyperVGeneration(caseInsensitive: try container.decode(String.self, forKey: .suggestedHyperVGeneration))
        warnings = try container.decode([String].self, forKey: .warnings)
    }
}
