/// Cylinders, heads and sectors per track, stored at footer offset 56 (u16, u8, u8).
///
/// Virtual PC sizes a disk by this product; later tools by the footer's current size. The
/// product is reported beside the current size, never used to truncate the disk silently.
public struct DiskGeometry: Hashable, Sendable, CustomStringConvertible {
    /// Number of cylinders (0...65535). Stored big-endian at footer offset 56, two bytes.
    public var cylinders: UInt16
    /// Heads per cylinder (at most 16 in a geometry the specification computes). Stored at footer
    /// offset 58, one byte.
    public var heads: UInt8
    /// Sectors per track (17, 31, 63 or 255 in a geometry the specification computes). Stored at
    /// footer offset 59, one byte.
    public var sectorsPerTrack: UInt8

    /// Makes a geometry from its three stored values, taken as they are (no check against a size).
    ///
    /// - Parameters:
    ///   - cylinders: footer offset 56; see ``cylinders``.
    ///   - heads: footer offset 58; see ``heads``.
    ///   - sectorsPerTrack: footer offset 59; see ``sectorsPerTrack``.
    public init(cylinders: UInt16, heads: UInt8, sectorsPerTrack: UInt8) {
        self.cylinders = cylinders
        self.heads = heads
        self.sectorsPerTrack = sectorsPerTrack
    }

    /// 65535/16/255: the largest geometry, which tools write to say "use the current size".
    public static let maximum = DiskGeometry(cylinders: 65535, heads: 16, sectorsPerTrack: 255)

    /// Sectors the geometry addresses: cylinders x heads x sectors per track.
    public var sectorCount: UInt64 { UInt64(cylinders) * UInt64(heads) * UInt64(sectorsPerTrack) }

    /// Bytes the geometry addresses (512-byte sectors).
    public var sizeInBytes: UInt64 { sectorCount * 512 }

    /// The geometry the specification's appendix computes for a disk of `sizeInBytes`.
    ///
    /// The size is taken in whole sectors (rounded down) and capped at 65535 x 16 x 255 sectors.
    /// QEMU, blktap and VirtualBox compute the same values.
    ///
    /// - Parameter sizeInBytes: the disk's size in bytes.
    public init(forSizeInBytes sizeInBytes: UInt64) {
        let totalSectors = min(sizeInBytes / 512, 65535 * 16 * 255)
        var sectorsPerTrack: UInt64
        var heads: UInt64
        var cylinderTimesHeads: UInt64
        if totalSectors >= 65535 * 16 * 63 {
            sectorsPerTrack = 255
            heads = 16
            cylinderTimesHeads = totalSectors / sectorsPerTrack
        } else {
            sectorsPerTrack = 17
            cylinderTimesHeads = totalSectors / sectorsPerTrack
            heads = max((cylinderTimesHeads + 1023) / 1024, 4)
            if cylinderTimesHeads >= heads * 1024 || heads > 16 {
                sectorsPerTrack = 31
                heads = 16
                cylinderTimesHeads = totalSectors / sectorsPerTrack
            }
            if cylinderTimesHeads >= heads * 1024 {
                sectorsPerTrack = 63
                heads = 16
                cylinderTimesHeads = totalSectors / sectorsPerTrack
            }
        }
        self.init(
            cylinders: UInt16(cylinderTimesHeads / heads), heads: UInt8(heads),
            sectorsPerTrack: UInt8(sectorsPerTrack))
    }

    /// "C/H/S", e.g. "964/8/17".
    public var description: String { "\(cylinders)/\(heads)/\(sectorsPerTrack)" }
}
