/// The kind of VHD. Stored big-endian at footer offset 60.
///
/// The specification also lists None (0) and three deprecated values (1, 5, 6); no tool writes
/// them and no reader accepts them, so parsing rejects them.
public enum DiskType: UInt32, Sendable, Equatable, CaseIterable, CustomStringConvertible {
    /// Every sector stored in order, then the footer.
    case fixed = 2
    /// Blocks allocated on first write, located through the block allocation table.
    case dynamic = 3
    /// A dynamic disk whose unallocated sectors come from a parent disk.
    case differencing = 4

    /// Validates a stored disk type.
    ///
    /// - Parameter rawValue: the value read big-endian at footer offset 60.
    /// - Throws: ``VHDFormatError/unsupportedDiskType(_:)`` for any other value.
    public init(validating rawValue: UInt32) throws(VHDFormatError) {
        guard let type = DiskType(rawValue: rawValue) else { throw .unsupportedDiskType(rawValue) }
        self = type
    }

    /// Whether the disk has a dynamic disk header and a block allocation table.
    public var hasDynamicHeader: Bool { self != .fixed }

    /// The type's name in lower case, "fixed", "dynamic" or "differencing", as reports show it.
    public var description: String {
        switch self {
        case .fixed: "fixed"
        case .dynamic: "dynamic"
        case .differencing: "differencing"
        }
    }
}
