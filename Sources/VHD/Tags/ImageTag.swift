import VHDFormat

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
        do {
            try AzureTags.check(tags)
            return nil
        } catch {
            return error.description
        }
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
            let evidence = names.isEmpty ? "\(found.tagName) partition types" : "\(found.tagName) filesystems (\(names.joined(separator: ", ")))"
            problems.append("tagged \(osType.tagName), but the disk holds only \(evidence)")
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

extension ImageTag {
    enum CodingKeys: String, CodingKey {
        case formatVersion, osState, osType, hyperVGeneration, architecture, tags, image, taggedAt
    }

    /// Reads a record as the sidecar holds it. The OS state, OS type, Hyper-V generation and
    /// architecture are read in any case (`generalized`, `Generalized`).
    ///
    /// - Parameter decoder: the decoder holding the sidecar's JSON object.
    /// - Throws: `DecodingError` when a key is missing, a value has the wrong type, or a word
    ///   names no case.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        func word<Word: RawRepresentable & CaseIterable>(_: Word.Type, _ key: CodingKeys) throws -> Word?
        where Word.RawValue == String {
            guard let text = try container.decodeIfPresent(String.self, forKey: key) else { return nil }
            guard let word = Word(caseInsensitive: text) else {
                let expected = Word.allCases.map { $0.rawValue.lowercased() }.joined(separator: " or ")
                throw DecodingError.dataCorruptedError(forKey: key, in: container, debugDescription: "'\(text)' is not \(expected)")
            }
            return word
        }
        formatVersion = try container.decode(Int.self, forKey: .formatVersion)
        guard let osState = try word(OSState.self, .osState) else {
            throw DecodingError.keyNotFound(CodingKeys.osState, .init(codingPath: container.codingPath, debugDescription: "no OS state"))
        }
        self.osState = osState
        osType = try word(OSType.self, .osType)
        hyperVGeneration = try word(HyperVGeneration.self, .hyperVGeneration)
        architecture = try word(Architecture.self, .architecture)
        tags = try container.decode([String: String].self, forKey: .tags)
        image = try container.decode(ImageBinding.self, forKey: .image)
        taggedAt = try container.decode(String.self, forKey: .taggedAt)
    }

    /// Writes the record in the sidecar's words, each enum's `tagName`
    /// (`generalized`, `linux`, `V2`, `x64`); fields not given are left out.
    ///
    /// - Parameter encoder: the encoder to write into.
    /// - Throws: whatever the encoder throws.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(formatVersion, forKey: .formatVersion)
        try container.encode(osState.tagName, forKey: .osState)
        try container.encodeIfPresent(osType?.tagName, forKey: .osType)
        try container.encodeIfPresent(hyperVGeneration?.tagName, forKey: .hyperVGeneration)
        try container.encodeIfPresent(architecture?.tagName, forKey: .architecture)
        try container.encode(tags, forKey: .tags)
        try container.encode(image, forKey: .image)
        try container.encode(taggedAt, forKey: .taggedAt)
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
