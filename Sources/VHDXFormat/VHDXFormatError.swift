/// The on-disk structures of a VHDX, named in error messages.
public enum VHDXStructure: String, Sendable, Equatable, CustomStringConvertible {
    case fileIdentifier = "file type identifier"
    case header = "header"
    case regionTable = "region table"
    case blockAllocationTable = "block allocation table"
    case metadataTable = "metadata table"
    case metadataItem = "metadata item"
    case fileParameters = "file parameters"
    case parentLocator = "parent locator"
    case logEntry = "log entry"
    case logDescriptor = "log descriptor"
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
    case verify
    case ignore
}
