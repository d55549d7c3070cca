/// The on-disk structures of a VHDX, named in error messages.
public enum VHDXStructure: String, Sendable, Equatable, CustomStringConvertible {
    /// The file type identifier at file offset 0.
    case fileIdentifier = "file type identifier"
    /// One of the two headers, at 64 KiB and 128 KiB.
    case header = "header"
    /// One of the two region tables, at 192 KiB and 256 KiB.
    case regionTable = "region table"
    /// The block allocation table (BAT) region.
    case blockAllocationTable = "block allocation table"
    /// The table at the start of the metadata region.
    case metadataTable = "metadata table"
    /// A small metadata item: virtual disk size, virtual disk id or a sector size.
    case metadataItem = "metadata item"
    /// The file parameters metadata item.
    case fileParameters = "file parameters"
    /// The parent locator metadata item.
    case parentLocator = "parent locator"
    /// An entry of the log: its header and the whole entry's checksum.
    case logEntry = "log entry"
    /// A descriptor of a log entry ("desc" or "zero").
    case logDescriptor = "log descriptor"
    /// A 4 KiB data sector of a log entry ("data").
    case logDataSector = "log data sector"

    /// The structure's name in words, e.g. "region table".
    public var description: String { rawValue }
}

/// What is wrong with bytes that were supposed to hold a VHDX structure.
///
/// Every case says what was found and, where it applies, what was expected.
public enum VHDXFormatError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Fewer bytes than the structure needs.
    case truncated(VHDXStructure, needed: Int, available: Int)
    /// The signature ("vhdxfile", "head", "regi", "metadata", "loge", "desc", "zero", "data")
    /// is something else.
    case badSignature(VHDXStructure, found: UInt64)
    /// The stored CRC-32C differs from the one computed.
    case checksumMismatch(VHDXStructure, stored: UInt32, computed: UInt32)
    /// A field holds a value the specification does not allow.
    case invalidField(VHDXStructure, field: String, value: UInt64, rule: String)
    /// The same GUID is listed twice in a table.
    case duplicateEntry(VHDXStructure, VHDXGUID)

    /// A sentence saying what was found, e.g. "header CRC-32C is 0x1A2B3C4D but the bytes give 0x1A2B3C4E".
    public var description: String {
        switch self {
        case let .truncated(structure, needed, available):
            "\(structure) needs \(needed) bytes but only \(available) are there"
        case let .badSignature(structure, found):
            "\(structure) signature is \(found > 0xFFFF_FFFF ? signatureText(found) : signatureText(UInt32(found))) but should be \(Self.expectedSignature(structure))"
        case let .checksumMismatch(structure, stored, computed):
            "\(structure) CRC-32C is \(hexText(stored)) but the bytes give \(hexText(computed))"
        case let .invalidField(structure, field, value, rule):
            "\(structure) \(field) is \(value) (\(hexText(value))); \(rule)"
        case let .duplicateEntry(structure, guid):
            "\(structure) lists \(guid) twice"
        }
    }

    static func expectedSignature(_ structure: VHDXStructure) -> String {
        switch structure {
        case .fileIdentifier: "\"vhdxfile\""
        case .header: "\"head\""
        case .regionTable: "\"regi\""
        case .metadataTable: "\"metadata\""
        case .logEntry: "\"loge\""
        case .logDescriptor: "\"desc\" or \"zero\""
        case .logDataSector: "\"data\""
        default: "its signature"
        }
    }
}

/// Whether a parser refuses a wrong checksum or records it and goes on (for `inspect`).
public enum VHDXChecksumPolicy: Sendable, Equatable {
    /// A wrong checksum throws ``VHDXFormatError/checksumMismatch(_:stored:computed:)``.
    case verify
    /// A wrong checksum is kept in the parsed value (stored and computed) and parsing goes on.
    case ignore
}
