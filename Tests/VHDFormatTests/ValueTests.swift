import Testing
import VHDFormat

struct DiskGeometryTests {
    /// Geometries seen in real images and in QEMU's tests, for the exact requested sizes.
    static let knownGeometries: [(UInt64, DiskGeometry)] = [
        (UInt64(10 << 20), DiskGeometry(cylinders: 301, heads: 4, sectorsPerTrack: 17)),  // Windows 10 MiB
        (4 << 20, DiskGeometry(cylinders: 120, heads: 4, sectorsPerTrack: 17)),  // Windows 4 MiB
        (5 << 20, DiskGeometry(cylinders: 150, heads: 4, sectorsPerTrack: 17)),  // FreeBSD mkimg 5 MiB
        (64 << 20, DiskGeometry(cylinders: 963, heads: 8, sectorsPerTrack: 17)),  // QEMU then rounds up to 964
        (4 << 30, DiskGeometry(cylinders: 8322, heads: 16, sectorsPerTrack: 63)),  // QEMU then rounds up to 8323
        (127 << 30, DiskGeometry(cylinders: 65278, heads: 16, sectorsPerTrack: 255)),  // Hyper-V 127 GiB: 266,334,240 sectors
        (2040 << 30, .maximum),
        (0, DiskGeometry(cylinders: 0, heads: 4, sectorsPerTrack: 17)),
    ]

    @Test(arguments: knownGeometries)
    func specificationAlgorithm(size: UInt64, expected: DiskGeometry) {
        #expect(DiskGeometry(forSizeInBytes: size) == expected)
    }

    @Test func neverAddressesMoreThanTheSizeBelowTheCap() {
        var size: UInt64 = 512
        while size < 127 << 30 {
            let geometry = DiskGeometry(forSizeInBytes: size)
            #expect(geometry.sizeInBytes <= size, "size \(size) gave \(geometry)")
            size = size * 3 / 2 + 512
        }
    }
}

struct ValueTests {
    @Test func timestampsCountFrom2000() {
        #expect(VHDTimestamp(rawValue: 0).description == "2000-01-01T00:00:00Z")
        #expect(VHDTimestamp(rawValue: 0x1A39_73EA).description == "2013-12-10T06:40:42Z")
        #expect(VHDTimestamp(rawValue: 0xFFFF_FFFF).description == "2136-02-07T06:28:15Z")
        #expect(VHDTimestamp(unixSeconds: 946_684_800 + 86_400 * 366).description == "2001-01-01T00:00:00Z")
        #expect(VHDTimestamp(unixSeconds: 0).rawValue == 0)  // before 2000: clamped
    }

    @Test func uuidsPrintInStoredOrder() {
        let uuid = VHDUUID(high: 0x4B6A_0D04_F946_D74E, low: 0x836F_D3DC_87E1_816B)
        #expect(uuid.description == "4b6a0d04-f946-d74e-836f-d3dc87e1816b")
        #expect(VHDUUID(uuid.description) == uuid)
        #expect(VHDUUID("not-a-uuid") == nil)
    }

    @Test func fourCharacterCodesEscapeWhatIsNotPrintable() {
        #expect(FourCharacterCode("qemu").description == "qemu")
        #expect(FourCharacterCode(rawValue: 0x7461_7000).description == "tap\\x00")
        #expect(FourCharacterCode(rawValue: 0).description == "\\x00\\x00\\x00\\x00")
    }

    @Test func errorMessagesSayWhatWasFound() {
        #expect(VHDFormatError.checksumMismatch(.footer, stored: 0x1A2B_3C4D, computed: 0x1A2B_3C4E).description
            == "footer checksum is 0x1A2B3C4D but the bytes sum to 0x1A2B3C4E")
        #expect(VHDFormatError.unsupportedDiskType(5).description
            == "disk type 5 is not fixed (2), dynamic (3) or differencing (4)")
    }
}
