import VHDFormat

/// Something odd about an image that does not stop it from being read. `inspect` lists these.
public enum VHDWarning: Sendable, Equatable, CustomStringConvertible {
    /// A stored checksum is wrong (reported when the caller accepts bad checksums).
    case checksumMismatch(Structure, offset: Int64, stored: UInt32, computed: UInt32)
    /// The footer at the end is damaged or missing; the copy at offset 0 is used.
    case footerRecoveredFromCopy(reason: String)
    /// The file ends with a 511-byte footer (file size 512n + 511), as some old tools wrote.
    case legacyShortFooter
    /// A dynamic or differencing disk without a usable footer copy at offset 0.
    case footerCopyMissing(reason: String)
    /// The copy at offset 0 differs from the footer at the end.
    case footerCopyDiffers
    /// qemu-img reads `qemuSize` (the geometry's product) where every other reader takes the
    /// current size: reported only when the two differ (a note, not a problem).
    case chsSizeDiffers(currentSize: UInt64, chsSize: UInt64, qemuSize: UInt64)
    /// The footer's format version (offset 12) or the header's version (offset 24) has a major
    /// version other than 1; the value found.
    case unexpectedFormatVersion(Structure, UInt32)
    /// A data offset that should be all ones is not: the footer's of a fixed disk (offset 16) or the
    /// dynamic header's (offset 8); the value found.
    case unexpectedDataOffset(Structure, UInt64)
    /// The footer's reserved feature bit 0x2 (offset 8), which must be set, is clear.
    case reservedFeatureBitClear
    /// The footer's temporary feature bit 0x1 (offset 8) is set: a candidate for deletion on shutdown.
    case temporaryDisk
    /// The footer's saved-state byte (offset 84) is set: the disk belongs to a saved virtual machine.
    case savedState
    /// The footer's creation time (offset 24) is more than a day after ``OpenOptions/nowInUnixSeconds``.
    case timestampInFuture(VHDTimestamp)
    /// The footer's current size (offset 48), in bytes, is not a whole number of 512-byte sectors.
    case virtualSizeNotSectorMultiple(UInt64)
    /// A fixed disk's file holds more bytes between the data and the footer than the size says.
    case fixedDiskTrailingBytes(Int64)
    /// The BAT has more entries than the virtual size needs; the extra ones are ignored.
    case tableHasExtraEntries(entries: UInt32, needed: UInt64)
    /// A differencing disk's header records an all-zero parent UUID (header offset 40).
    case zeroParentUniqueId
    /// Parent locator `index` says it holds `length` bytes, more than its `spaceInBytes`.
    case locatorLengthExceedsSpace(index: Int, length: UInt32, spaceInBytes: UInt64)
    /// A dynamic disk has `count` parent locators, which only differencing disks use.
    case locatorsOnDynamicDisk(count: Int)
    /// A differencing disk has no parent locator: its parent can be found only by name.
    case noParentLocators
    /// Why Azure would refuse the image as it is.
    case notAzureReady(reason: String)

    /// The warning as a sentence, saying what was found where.
    public var description: String {
        switch self {
        case let .checksumMismatch(structure, offset, stored, computed):
            "\(structure) checksum (at offset \(offset)) is \(hexText(stored)) but the bytes sum to \(hexText(computed))"
        case let .footerRecoveredFromCopy(reason):
            "footer recovered from the copy at offset 0: \(reason)"
        case .legacyShortFooter:
            "the file ends with a 511-byte footer (an old tool's layout); the missing reserved byte reads as 0"
        case let .footerCopyMissing(reason):
            "no usable footer copy at offset 0: \(reason)"
        case .footerCopyDiffers:
            "the footer copy at offset 0 differs from the footer at the end"
        case let .chsSizeDiffers(current, chs, qemu):
            "qemu-img reads \(qemu) bytes (the CHS geometry's product is \(chs)) where Hyper-V, libvhdi and this library read the current size, \(current) bytes"
                + (qemu == current ? "" : "; qemu-img agrees when its vpc driver is given force_size_calc=current_size")
        case let .unexpectedFormatVersion(structure, version):
            "\(structure) version is \(hexText(version)), expected 0x00010000"
        case let .unexpectedDataOffset(structure, offset):
            "\(structure) data offset is \(offset), expected all ones (0xFFFFFFFFFFFFFFFF)"
        case .reservedFeatureBitClear:
            "the footer's reserved feature bit 0x2 is clear; the specification says it must be set"
        case .temporaryDisk:
            "the footer marks the disk as temporary (a candidate for deletion on shutdown)"
        case .savedState:
            "the footer's saved-state flag is set: the disk belongs to a virtual machine in a saved state"
        case let .timestampInFuture(timestamp):
            "the creation time \(timestamp) is in the future"
        case let .virtualSizeNotSectorMultiple(size):
            "the virtual size \(size) is not a whole number of 512-byte sectors"
        case let .fixedDiskTrailingBytes(count):
            "\(count) bytes between the end of the disk's data and the footer are not part of the disk"
        case let .tableHasExtraEntries(entries, needed):
            "the block allocation table has \(entries) entries but the virtual size needs only \(needed); the rest are ignored"
        case .zeroParentUniqueId:
            "the differencing disk records an all-zero parent UUID"
        case let .locatorLengthExceedsSpace(index, length, space):
            "parent locator \(index) holds \(length) bytes in a space of \(space) bytes"
        case let .locatorsOnDynamicDisk(count):
            "a dynamic disk has \(count) parent locator\(count == 1 ? "" : "s"), which only differencing disks use"
        case .noParentLocators:
            "the differencing disk has no parent locators; its parent can be found only by name"
        case let .notAzureReady(reason):
            "not Azure-ready: \(reason)"
        }
    }
}
