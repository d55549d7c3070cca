import Testing
import VHDXFormat

/// The VHDX structures: known values, round trips, and corruption caught.
struct VHDXFormatTests {
    @Test func crc32cOfTheStandardCheckString() {
        // The CRC-32C check value of "123456789" (RFC 3720, appendix B.4).
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
    }

    @Test func guidsPrintInMicrosoftsMixedEndianForm() {
        let bat = VHDXRegionTable.batGUID
        #expect(bat.storedBytes == [0x66, 0x77, 0xC2, 0x2D, 0x23, 0xF6, 0x00, 0x42, 0x9D, 0x64, 0x11, 0x5E, 0x9B, 0xFD, 0x4A, 0x08])
        #expect(bat.description == "2DC27766-F623-4200-9D64-115E9BFD4A08")
        #expect(VHDXGUID("not a guid") == nil)
    }

    static let header = VHDXHeader(
        sequenceNumber: 7, fileWriteGUID: VHDXGUID.random(), dataWriteGUID: VHDXGUID.random(), logGUID: .zero,
        logLength: 1 << 20, logOffset: 1 << 20)

    @Test func headerRoundTripsWithItsChecksum() throws {
        let bytes = Self.header.serialized()
        #expect(bytes.count == 4096)
        let parsed = try VHDXHeader(parsing: bytes)
        #expect(parsed.checksumIsValid)
        #expect(parsed.sequenceNumber == 7 && parsed.fileWriteGUID == Self.header.fileWriteGUID && parsed.logOffset == 1 << 20)
    }

    @Test(arguments: [0, 4, 8, 20, 66, 100, 4095])
    func corruptingAHeaderByteIsCaught(at index: Int) {
        var bytes = Self.header.serialized()
        bytes[index] ^= 0x10
        #expect(throws: VHDXFormatError.self) { try VHDXHeader(parsing: bytes) }
    }

    @Test func headerWithWrongChecksumIsReadWhenAsked() throws {
        var bytes = Self.header.serialized()
        bytes[200] = 1
        #expect(throws: VHDXFormatError.checksumMismatch(.header, stored: CRC32C.checksum(Self.header.serialized(), zeroing: 4), computed: CRC32C.checksum(bytes, zeroing: 4))) {
            try VHDXHeader(parsing: bytes)
        }
        #expect(try !VHDXHeader(parsing: bytes, checksumPolicy: .ignore).checksumIsValid)
    }

    @Test func shortInputIsTruncatedNotATrap() {
        #expect(throws: VHDXFormatError.truncated(.header, needed: 4096, available: 10)) { try VHDXHeader(parsing: [UInt8](repeating: 0, count: 10)) }
        #expect(throws: VHDXFormatError.self) { try VHDXRegionTable(parsing: [UInt8](repeating: 0, count: 100)) }
        #expect(throws: VHDXFormatError.self) { try VHDXMetadataTable(parsing: [UInt8](repeating: 0, count: 100)) }
        #expect(throws: VHDXFormatError.self) { try VHDXParentLocator(parsing: [UInt8](repeating: 0, count: 3)) }
        #expect(throws: VHDXFormatError.self) { try VHDXLogEntry(parsing: [UInt8](repeating: 0, count: 3)) }
        #expect(throws: VHDXFormatError.self) { try VHDXFileIdentifier(parsing: [UInt8](repeating: 0, count: 3)) }
    }

    @Test func regionTableRoundTripsAndRefusesMisalignedRegions() throws {
        let table = VHDXRegionTable(entries: [
            .init(guid: VHDXRegionTable.batGUID, fileOffset: 2 << 20, length: 1 << 20, isRequired: true),
            .init(guid: VHDXRegionTable.metadataGUID, fileOffset: 3 << 20, length: 1 << 20, isRequired: true),
        ])
        let parsed = try VHDXRegionTable(parsing: table.serialized())
        #expect(parsed.entries == table.entries && parsed.checksumIsValid)
        var bad = table
        bad.entries[0].fileOffset = (2 << 20) + 4096
        #expect(throws: VHDXFormatError.self) { try VHDXRegionTable(parsing: bad.serialized()) }
        var duplicate = table
        duplicate.entries[1].guid = VHDXRegionTable.batGUID
        #expect(throws: VHDXFormatError.duplicateEntry(.regionTable, VHDXRegionTable.batGUID)) { try VHDXRegionTable(parsing: duplicate.serialized()) }
    }

    @Test func metadataTableAndItemsRoundTrip() throws {
        let table = VHDXMetadataTable(entries: [
            .init(itemId: VHDXMetadataTable.fileParametersGUID, offset: 64 << 10, length: 8, isVirtualDisk: false),
            .init(itemId: VHDXMetadataTable.virtualDiskSizeGUID, offset: (64 << 10) + 8, length: 8, isVirtualDisk: true),
        ])
        #expect(try VHDXMetadataTable(parsing: table.serialized()) == table)
        let parameters = VHDXFileParameters(blockSize: 32 << 20, leaveBlockAllocated: false, hasParent: true)
        #expect(try VHDXFileParameters(parsing: parameters.serialized()) == parameters)
        #expect(throws: VHDXFormatError.self) { try VHDXFileParameters(parsing: VHDXFileParameters(blockSize: 3 << 20, leaveBlockAllocated: false, hasParent: false).serialized()) }
        #expect(throws: VHDXFormatError.self) { try VHDXMetadataValue.sectorSize(parsing: VHDXMetadataValue.serialized(UInt32(1024)).span.bytes, field: "logical sector size") }
        #expect(throws: VHDXFormatError.self) { try VHDXMetadataValue.virtualDiskSize(parsing: VHDXMetadataValue.serialized(UInt64(1000)).span.bytes, logicalSectorSize: 512) }
        #expect(throws: VHDXFormatError.self) { try VHDXMetadataValue.virtualDiskSize(parsing: VHDXMetadataValue.serialized(UInt64(128) << 40).span.bytes, logicalSectorSize: 512) }
    }

    @Test func parentLocatorKeyValuesRoundTripAndStayInside() throws {
        let linkage = VHDXGUID.random()
        let locator = VHDXParentLocator(entries: [
            ("parent_linkage", "{\(linkage)}"), ("relative_path", ".\\base.vhdx"), ("absolute_win32_path", "C:\\disks\\base.vhdx"),
        ])
        let parsed = try VHDXParentLocator(parsing: locator.serialized())
        #expect(parsed == locator)
        #expect(parsed["relative_path"] == ".\\base.vhdx")
        #expect(parsed.parentLinkage == linkage)
        var bytes = locator.serialized()
        bytes[20] = 0xFF  // first key offset far outside the item
        bytes[21] = 0xFF
        #expect(throws: VHDXFormatError.self) { try VHDXParentLocator(parsing: bytes) }
    }

    @Test func logEntryRoundTripsAndEveryByteCounts() throws {
        let guid = VHDXGUID.random()
        let content = (0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let bytes = VHDXLogEntry.serialized(
            sequenceNumber: 0x1_0000_0005, logGUID: guid, flushedFileOffset: 8 << 20, lastFileOffset: 8 << 20,
            writes: [(fileOffset: 2 << 20, content: content)], zeros: [(fileOffset: 3 << 20, length: 8192)])
        #expect(bytes.count == 8192)
        let entry = try VHDXLogEntry(parsing: bytes)
        #expect(entry.sequenceNumber == 0x1_0000_0005 && entry.logGUID == guid)
        #expect(entry.descriptors.count == 2)
        guard case let .data(offset, leading, trailing, _) = entry.descriptors[1] else {
            Issue.record("the second descriptor is not a data descriptor")
            return
        }
        #expect(offset == 2 << 20)
        let sector = entry.dataSectorOffsets[0]
        #expect(VHDXLogEntry.sectorContent(leadingBytes: leading, trailingBytes: trailing, dataSector: bytes.span.bytes.extracting(sector..<(sector + 4096))) == content)
        for index in [0, 9, 70, 4100, 8191] {
            var corrupted = bytes
            corrupted[index] ^= 1
            #expect(throws: VHDXFormatError.self) { try VHDXLogEntry(parsing: corrupted) }
        }
    }

    @Test func chunkRatioAndTableSizesFollowTheSpecification() {
        // dissect-dynamic.vhdx: 10 MiB, 32 MiB blocks, 512-byte sectors: chunk ratio 128, one entry.
        let windows = VHDXGeometry(virtualSize: 10 << 20, blockSize: 32 << 20, logicalSectorSize: 512, hasParent: false)
        #expect(windows.chunkRatio == 128 && windows.payloadBlockCount == 1 && windows.entryCount == 1)
        // 1 MiB blocks: chunk ratio 4096; 5000 blocks need one sector-bitmap entry between them.
        let small = VHDXGeometry(virtualSize: 5000 << 20, blockSize: 1 << 20, logicalSectorSize: 512, hasParent: false)
        #expect(small.chunkRatio == 4096 && small.entryCount == 5001)
        #expect(small.payloadEntryIndex(4096) == 4097 && small.sectorBitmapEntryIndex(forBlock: 4095) == 4096)
        let child = VHDXGeometry(virtualSize: 5000 << 20, blockSize: 1 << 20, logicalSectorSize: 4096, hasParent: true)
        #expect(child.chunkRatio == 32768 && child.entryCount == 32769)
    }

    @Test func batEntryFields() throws {
        let entry = VHDXBATEntry(state: 6, fileOffsetInMiB: 4)
        #expect(entry.payloadState == .fullyPresent && entry.fileOffset == 4 << 20 && entry.reservedBits == 0)
        #expect(VHDXBATEntry(rawValue: 5).payloadState == nil)
        let entries = [entry.rawValue, VHDXBATEntry(state: 2, fileOffsetInMiB: 0).rawValue]
        #expect(try VHDXBATEntry.entries(parsing: VHDXBATEntry.serialized(entries), count: 2) == entries)
    }
}
