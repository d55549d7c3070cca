/// The on-disk structures of a VHD, named in error messages.
public enum Structure: String, Sendable, Equatable, CustomStringConvertible {
    case footer
    case dynamicHeader = "dynamic disk header"
    case blockAllocationTable = "block allocation table"
    case parentLocator = "parent locator"
    case sectorBitmap = "sector bitmap"

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
