/// How a disk is divided: `inspect --json` prints the raw values.
public enum PartitionScheme: String, Codable, Sendable, Equatable {
    /// A GUID partition table (with a protective MBR).
    case gpt
    /// A master boot record, with logical partitions in an extended partition.
    case mbr
    /// An Apple partition map.
    case apm
    /// No partition table: a filesystem on the whole disk, or nothing known.
    case none
}

/// One partition of a disk, with what was found in it.
public struct Partition: Codable, Sendable, Equatable {
    /// GPT: the entry's number, from 1. MBR: 1-4 for primary partitions, 5 and up for logical
    /// ones, in chain order (as Linux numbers them).
    public var index: Int
    /// Offset of the first byte on the virtual disk.
    public var start: UInt64
    /// Size in bytes.
    public var size: UInt64
    /// GPT: the type GUID, upper-case ("C12A7328-F81F-11D2-BA4B-00A0C93EC93B"). MBR: the type
    /// byte ("0x83").
    public var type: String
    /// The type's common name ("EFI System", "Linux filesystem"), when known.
    public var typeName: String?
    /// GPT: the partition's name (UTF-16 in the entry). MBR partitions have none (null).
    public var name: String?
    /// MBR: the active flag (0x80). GPT: attribute bit 2, "legacy BIOS bootable".
    public var bootable: Bool
    /// What the partition's first sectors hold, by signature; ``Filesystem/unknown`` when none is
    /// recognized.
    public var filesystem: Filesystem

    /// Makes a partition from what a table entry says and what its first sectors hold.
    ///
    /// - Parameters:
    ///   - index: the partition's number; see ``index``.
    ///   - start: byte offset of its first byte on the virtual disk.
    ///   - size: its size in bytes.
    ///   - type: GPT: the upper-case type GUID; MBR: the type byte as "0xNN".
    ///   - typeName: the type's common name, nil when not known.
    ///   - name: GPT: the partition's name; nil for MBR partitions.
    ///   - bootable: MBR: the active flag; GPT: attribute bit 2 ("legacy BIOS bootable").
    ///   - filesystem: the filesystem found by signature; ``Filesystem/unknown`` by default.
    public init(
        index: Int, start: UInt64, size: UInt64, type: String, typeName: String? = nil, name: String? = nil,
        bootable: Bool = false, filesystem: Filesystem = .unknown
    ) {
        self.index = index
        self.start = start
        self.size = size
        self.type = type
        self.typeName = typeName
        self.name = name
        self.bootable = bootable
        self.filesystem = filesystem
    }

    /// Writes the partition under the keys of `inspect --json`.
    ///
    /// `name` is written as null rather than left out, so that every partition has the same
    /// keys; `typeName` is left out when nil.
    ///
    /// - Parameter encoder: the encoder to write into.
    /// - Throws: whatever the encoder throws.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(index, forKey: .index)
        try container.encode(start, forKey: .start)
        try container.encode(size, forKey: .size)
        try container.encode(type, forKey: .type)
        try container.encodeIfPresent(typeName, forKey: .typeName)
        try container.encode(name, forKey: .name)
        try container.encode(bootable, forKey: .bootable)
        try container.encode(filesystem, forKey: .filesystem)
    }

    /// The offset just past the partition's last byte, or nil when it does not fit in 64 bits.
    var end: UInt64? {
        let (end, overflow) = start.addingReportingOverflow(size)
        return overflow ? nil : end
    }
}
