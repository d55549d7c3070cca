/// The on-disk structures of a VHD, named in error messages.
public enum Structure: String, Sendable, Equatable, CustomStringConvertible {
    /// The 512-byte footer at the end of the file (and its copy at offset 0 of dynamic disks).
    case footer
    /// The 1024-byte dynamic disk header of dynamic and differencing disks.
    case dynamicHeader = "dynamic disk header"
    /// The block allocation table at the header's table offset.
    case blockAllocationTable = "block allocation table"
    /// One 24-byte parent locator entry of the dynamic disk header.
    case parentLocator = "parent locator"
    /// The sector bitmap in front of a block's data.
    case sectorBitmap = "sector bitmap"

    /// The structure's name as messages use it, e.g. "dynamic disk header".
    public var description: String { rawValue }
}

/// What is wrong with bytes that were supposed to hold a VHD structure.
///
/// Every case says what was found (and, where it applies, what was expected), so that a message
/// built from it lets a user find the byte in a hex dump.
public enum VHDFormatError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Fewer bytes than the structure needs.
    case truncated(Structure, needed: Int, available: Int)
    /// The 8-byte cookie ("conectix" or "cxsparse") is something else.
    case badCookie(Structure, found: UInt64)
    /// The stored checksum differs from the one's complement of the byte sum.
    case checksumMismatch(Structure, stored: UInt32, computed: UInt32)
    /// The footer's disk type (offset 60) is not fixed (2), dynamic (3) or differencing (4).
    case unsupportedDiskType(UInt32)

    /// One sentence saying what was found where, e.g. "footer checksum is 0x1A2B3C4D but the bytes
    /// sum to 0x1A2B3C4E": checksums in hex, cookies as quoted text, sizes and disk types in decimal.
    public var description: String {
        switch self {
        case let .truncated(structure, needed, available):
            "\(structure) needs \(needed) bytes but only \(available) are there"
        case let .badCookie(structure, found):
            "\(structure) cookie is \(FourCharacterCode.quoted(found)) but should be "
                + (structure == .dynamicHeader ? "\"cxsparse\"" : "\"conectix\"")
        case let .checksumMismatch(structure, stored, computed):
            "\(structure) checksum is \(hex(stored)) but the bytes sum to \(hex(computed))"
        case let .unsupportedDiskType(value):
            "disk type \(value) is not fixed (2), dynamic (3) or differencing (4)"
        }
    }
}

/// `0x1A2B3C4D`: how values read from a file are shown in messages.
package func hex<T: FixedWidthInteger>(_ value: T) -> String {
    let digits = String(value, radix: 16, uppercase: true)
    let width = T.bitWidth / 4
    return "0x" + String(repeating: "0", count: max(0, width - digits.count)) + digits
}
