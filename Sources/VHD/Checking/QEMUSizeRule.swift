import VHDFormat

/// How QEMU's vpc driver (7.2, `vpc_open`) decides a VHD's virtual size, so that we can say
/// when qemu-img will read a different size than we do.
///
/// QEMU takes cylinders x heads x sectors per track, except for creator applications it knows
/// to size disks by the footer's current size, and except when the geometry is the maximum
/// 65535/16/255, which means "use the current size".
package enum QEMUSizeRule {
    /// Creator applications for which QEMU trusts the current size.
    package static let currentSizeCreators: Set<FourCharacterCode> = [
        FourCharacterCode("win "), FourCharacterCode("qem2"), FourCharacterCode("d2v "),
        FourCharacterCode("CTXS"), FourCharacterCode(rawValue: 0x7461_7000),  // "tap\0"
    ]

    /// The virtual size in bytes that qemu-img reports for a disk with this footer.
    ///
    /// - Parameter footer: the disk's footer.
    /// - Returns: the footer's current size (offset 48) for a creator in
    ///   ``currentSizeCreators`` or the maximum geometry, otherwise the bytes the geometry
    ///   (offset 56) addresses.
    package static func virtualSize(of footer: Footer) -> UInt64 {
        if currentSizeCreators.contains(footer.creatorApplication)
            || footer.geometry.sectorCount >= DiskGeometry.maximum.sectorCount
        {
            return footer.currentSize
        }
        return footer.geometry.sizeInBytes
    }
}
