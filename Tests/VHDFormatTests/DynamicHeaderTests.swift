import PropertyBased
import TestSupport
import Testing
import VHDFormat

struct DynamicHeaderTests {
    @Test func parsesWindowsDynamicDiskHeader() throws {
        let header = try DynamicHeader(parsing: Golden.windowsDynamicHeader)
        #expect(header.dataOffset == DynamicHeader.noDataOffset)
        #expect(header.tableOffset == 1536)
        #expect(header.headerVersion == DynamicHeader.currentHeaderVersion)
        #expect(header.maxTableEntries == 5)
        #expect(header.blockSize == 2 << 20)
        #expect(header.checksum == 0xFFFF_F472 && header.checksumIsValid)
        #expect(header.parentUniqueId.isZero)
        #expect(header.parentName == "")
        #expect(header.parentLocators.allSatisfy { $0.isEmpty })
        #expect(header.sectorBitmapSizeInBytes == 512)
        #expect(header.serialized() == Golden.windowsDynamicHeader)
    }

    @Test(arguments: [0, 8, 16, 24, 28, 32, 36, 40, 56, 64, 576, 600, 768, 1023])
    func corruptingAByteIsRejectedByTheChecksum(at index: Int) {
        var bytes = Golden.windowsDynamicHeader
        bytes[index] ^= 0x81
        #expect(throws: VHDFormatError.self) { try DynamicHeader(parsing: bytes) }
    }

    @Test func badCookieAndShortInputAreNamed() {
        var bytes = Golden.windowsDynamicHeader
        bytes[0] = 0
        #expect(throws: VHDFormatError.badCookie(.dynamicHeader, found: 0x0078_7370_6172_7365)) {
            try DynamicHeader(parsing: bytes, checksumPolicy: .ignore)
        }
        #expect(throws: VHDFormatError.truncated(.dynamicHeader, needed: 1024, available: 1000)) {
            try DynamicHeader(parsing: Array(Golden.windowsDynamicHeader.prefix(1000)))
        }
    }

    @Test func parentNameIsBigEndianUTF16() throws {
        var header = try DynamicHeader(parsing: Golden.windowsDynamicHeader)
        header.setParentName("C:\\images\\base-é.vhd")
        let bytes = header.withComputedChecksum().serialized()
        #expect(bytes[64..<68] == [0x00, 0x43, 0x00, 0x3A])  // "C:" big-endian
        let parsed = try DynamicHeader(parsing: bytes)
        #expect(parsed.parentName == "C:\\images\\base-é.vhd")
    }

    @Test func unpairedSurrogateInParentNameDecodesAsReplacement() throws {
        var header = try DynamicHeader(parsing: Golden.windowsDynamicHeader)
        header.parentUnicodeName[0] = 0x0041
        header.parentUnicodeName[1] = 0xD800  // a high surrogate with no low one
        header.parentUnicodeName[2] = 0x0042
        #expect(header.parentName == "A\u{FFFD}B")
    }

    @Test(arguments: [(UInt32(512), 512), (4096, 512), (2 << 20, 512), (512 << 10, 512), (8 << 20, 2048), (256 << 20, 65536)])
    func sectorBitmapHoldsOneBitPerSectorPaddedToASector(blockSize: UInt32, bitmapBytes: Int) {
        #expect(DynamicHeader.sectorBitmapSize(blockSize: blockSize) == bitmapBytes)
    }

    @Test func headersRoundTrip() async {
        await propertyCheck(count: 200, input: Generators.dynamicHeader) { header in
            let parsed = try DynamicHeader(parsing: header.serialized())
            #expect(parsed == header)
            #expect(parsed.serialized() == header.serialized())
        }
    }

    @Test func parsingArbitraryBytesNeverTraps() async {
        await propertyCheck(count: 1000, input: Generators.bytes) { bytes in
            var bytes = bytes
            if bytes.count >= 8 { bytes.replaceSubrange(0..<8, with: Array("cxsparse".utf8)) }
            _ = try? DynamicHeader(parsing: bytes, checksumPolicy: .ignore)
        }
    }
}

struct ParentLocatorTests {
    @Test func parsesWindowsAbsoluteLocator() throws {
        let locator = try ParentLocator(parsing: Golden.windowsAbsoluteLocator)
        #expect(locator.platformCode == .w2ku && locator.platformCode.description == "W2ku")
        #expect(locator.platformDataSpace == 4096 && locator.dataSpaceInBytes == 4096)
        #expect(locator.platformDataLength == 84)
        #expect(locator.platformDataOffset == 4096)
        #expect(locator.serialized() == Golden.windowsAbsoluteLocator)
    }

    @Test func windowsPathsAreLittleEndianUTF16() {
        let locator = ParentLocator(platformCode: .w2ru, platformDataSpace: 1, platformDataLength: 32, platformDataOffset: 0)
        let data = ParentLocator.encodeWindowsPath(".\\fat-parent.vhd")
        #expect(data.count == 32 && data[0...3] == [0x2E, 0x00, 0x5C, 0x00])
        #expect(locator.decodePath(data) == ".\\fat-parent.vhd")
        #expect(locator.decodePath(data + [0, 0, 0, 0]) == ".\\fat-parent.vhd")  // trailing NULs dropped
    }

    @Test func unpairedSurrogatesAndOddLengthsDecodeWithoutTrapping() {
        let locator = ParentLocator(platformCode: .w2ku, platformDataSpace: 1, platformDataLength: 5, platformDataOffset: 0)
        #expect(locator.decodePath([0x41, 0x00, 0x00, 0xDC, 0x42]) == "A\u{FFFD}")
        #expect(locator.decodePath([]) == "")
    }

    @Test func macXIsUTF8AndAliasesAreNotText() {
        let macX = ParentLocator(platformCode: .macX, platformDataSpace: 1, platformDataLength: 0, platformDataOffset: 0)
        #expect(macX.decodePath(Array("file:///Users/a/base.vhd".utf8)) == "file:///Users/a/base.vhd")
        let alias = ParentLocator(platformCode: .mac, platformDataSpace: 1, platformDataLength: 0, platformDataOffset: 0)
        #expect(alias.decodePath([1, 2, 3]) == nil)
    }

    @Test(arguments: [(UInt32(1), UInt64(512)), (2, 1024), (511, 261_632), (512, 512), (4096, 4096), (65536, 65536)])
    func dataSpaceBelow512CountsSectors(stored: UInt32, bytes: UInt64) {
        let locator = ParentLocator(platformCode: .w2ku, platformDataSpace: stored, platformDataLength: 0, platformDataOffset: 0)
        #expect(locator.dataSpaceInBytes == bytes)
    }

    @Test func locatorsRoundTrip() async {
        await propertyCheck(count: 200, input: Generators.locator) { locator in
            let parsed = try ParentLocator(parsing: locator.serialized())
            #expect(parsed == locator)
        }
    }
}

struct BlockAllocationTableTests {
    @Test func parsesWindowsTableWithBlocksOutOfOrder() throws {
        let table = try BlockAllocationTable(parsing: Golden.windowsDynamicTable, entryCount: 5)
        #expect(table.entries == [0xF, 0x201F, BlockAllocationTable.unallocated, 0x1017, BlockAllocationTable.unallocated])
        #expect(table.allocatedCount == 3)
    }

    @Test func serializesPaddedToASectorWithOnes() throws {
        let table = try BlockAllocationTable(parsing: Golden.windowsDynamicTable, entryCount: 5)
        let bytes = table.serialized()
        #expect(bytes.count == 512)
        #expect(Array(bytes.prefix(20)) == Golden.windowsDynamicTable)
        #expect(bytes.dropFirst(20).allSatisfy { $0 == 0xFF })
        #expect(BlockAllocationTable.sizeInBytes(entryCount: 128) == 512)
        #expect(BlockAllocationTable.sizeInBytes(entryCount: 129) == 1024)
    }

    @Test func shortOrAbsurdCountsAreTruncatedErrors() {
        #expect(throws: VHDFormatError.truncated(.blockAllocationTable, needed: 24, available: 20)) {
            try BlockAllocationTable(parsing: Golden.windowsDynamicTable, entryCount: 6)
        }
        #expect(throws: VHDFormatError.truncated(.blockAllocationTable, needed: .max, available: 20)) {
            try BlockAllocationTable(parsing: Golden.windowsDynamicTable, entryCount: .max / 2)
        }
        #expect(throws: VHDFormatError.self) {
            try BlockAllocationTable(parsing: Golden.windowsDynamicTable, entryCount: -1)
        }
    }

    @Test func tablesRoundTrip() async {
        await propertyCheck(count: 200, input: Gen.uint32().array(of: 0...700)) { entries in
            let table = BlockAllocationTable(entries: entries)
            let parsed = try BlockAllocationTable(parsing: table.serialized(), entryCount: entries.count)
            #expect(parsed == table)
        }
    }

    /// The in-place decoder that opening uses agrees with `parsing` and lists exactly the
    /// allocated entries, whatever runs of empty entries (passed over 64 and 8 at a time)
    /// surround them.
    @Test func storedEntriesAgreeWithParsingAndListTheAllocated() async {
        await propertyCheck(count: 300, input: Gen.uint32().array(of: 0...700)) { raw in
            // One word in 2, 4, 64 or 1024 stays allocated (the table's length picks which), the
            // others become empty: runs of every length, short and long, on and off the 64-entry
            // groups, and tails shorter than a group.
            let keepOneIn: UInt32 = [2, 4, 64, 1024][raw.count % 4]
            let entries = raw.map { $0 % keepOneIn == 0 ? $0 : BlockAllocationTable.unallocated }
            let table = BlockAllocationTable(entries: entries)
            var stored = [UInt32](repeating: 0, count: entries.count)
            table.serialized().withUnsafeBytes { bytes in
                stored.withUnsafeMutableBytes { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[0..<(entries.count * 4)])) }
            }
            var listed: [Int] = []
            let decoded = BlockAllocationTable(storedEntries: stored, forEachAllocated: { index, entry in
                #expect(entry == entries[index])
                listed.append(index)
            })
            #expect(decoded == table)
            #expect(listed == entries.indices.filter { entries[$0] != BlockAllocationTable.unallocated })
        }
    }
}
