import VHDFormat

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The metadata of disks this project writes: sizes, geometry, identity.
///
/// Geometry rule: QEMU sizes a disk by its CHS geometry unless it knows the creator
/// application or the geometry is the maximum 65535/16/255; Hyper-V, Windows and libvhdi size
/// it by the current size. So that every reader sees exactly the size asked for, a disk whose
/// size is a whole number of sectors equal to the specification's CHS product gets that
/// geometry, and any other size gets the maximum geometry, which QEMU reads as "use the
/// current size" (as its own `force_size` does). The current size is always exactly the size
/// asked for.
public enum NewDiskMetadata {
    /// The largest virtual size we create: 2040 GiB, as QEMU and ocaml-vhd allow.
    public static let maximumVirtualSize: UInt64 = 2040 << 30
    /// Creator version written into our footers: 1.0.
    public static let creatorVersion: UInt32 = 0x0001_0000

    /// The geometry written for a disk of `size` bytes (see the rule above).
    ///
    /// - Parameter size: the virtual size in bytes.
    /// - Returns: the specification's geometry when its product is exactly `size`, otherwise
    ///   the maximum 65535/16/255.
    public static func geometry(forSizeInBytes size: UInt64) -> DiskGeometry {
        let geometry = DiskGeometry(forSizeInBytes: size)
        return geometry.sizeInBytes == size ? geometry : .maximum
    }

    /// Checks a requested virtual size: a whole number of sectors, more than zero, at most
    /// 2040 GiB.
    ///
    /// - Parameter size: the requested virtual size in bytes.
    /// - Throws: ``VHDError`` (with an empty path) if the size is zero, not a multiple of 512, or
    ///   over ``maximumVirtualSize``.
    public static func validate(size: UInt64) throws(VHDError) {
        guard size > 0, size % 512 == 0, size <= maximumVirtualSize else {
            throw VHDError(path: "", .invalidSize(size))
        }
    }

    /// The size Azure accepts for a disk of at least `size` bytes: rounded up to a whole MiB.
    ///
    /// The range Azure allows (20 MiB to 32 TiB) is not applied here.
    ///
    /// - Parameter size: the virtual size in bytes.
    /// - Returns: `size` rounded up to a multiple of 1 MiB (1,048,576 bytes).
    public static func azureSize(atLeast size: UInt64) -> UInt64 {
        (size + (1 << 20) - 1) / (1 << 20) * (1 << 20)
    }

    /// A footer for a new disk, checksum computed.
    ///
    /// Creator "vhdt" version 1.0 on "Wi2k"; original and current size both `size`; the geometry
    /// of ``geometry(forSizeInBytes:)``; data offset 512 for dynamic and differencing disks (the
    /// header follows the footer copy), all ones for fixed disks.
    ///
    /// - Parameters:
    ///   - type: the disk type, footer offset 60.
    ///   - size: the virtual size in bytes; not checked here (see ``validate(size:)``).
    ///   - uniqueId: footer offset 68; a new random UUID by default.
    ///   - timestamp: the creation time, footer offset 24; now by default.
    public static func footer(
        type: DiskType, size: UInt64, uniqueId: VHDUUID = randomUUID(), timestamp: VHDTimestamp = now()
    ) -> Footer {
        Footer(
            dataOffset: type == .fixed ? Footer.noDataOffset : 512, timestamp: timestamp,
            creatorApplication: .vhdtool, creatorVersion: creatorVersion, creatorHostOS: .windows,
            originalSize: size, currentSize: size, geometry: geometry(forSizeInBytes: size), diskType: type,
            uniqueId: uniqueId
        ).withComputedChecksum()
    }

    /// A random UUID: version 4, variant 1 (RFC 9562), from the system's random generator.
    public static func randomUUID() -> VHDUUID {
        var generator = SystemRandomNumberGenerator()
        let high = generator.next() & ~0xF000 | 0x4000  // version 4
        let low = generator.next() & ~(0xC000_0000_0000_0000 as UInt64) | 0x8000_0000_0000_0000  // variant 1
        return VHDUUID(high: high, low: low)
    }

    /// The current time as a VHD timestamp: seconds since 2000-01-01T00:00:00Z, clamped to what
    /// 32 bits hold (until 2136).
    public static func now() -> VHDTimestamp { VHDTimestamp(unixSeconds: Int64(time(nil))) }
}
