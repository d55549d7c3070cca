import PropertyBased
import TestSupport
import Testing
import VHDFormat

struct FooterTests {
    @Test func parsesWindowsDynamicDiskFooter() throws {
        let footer = try Footer(parsing: Golden.windowsDynamicFooter)
        #expect(footer.diskType == .dynamic)
        #expect(footer.currentSize == 10 << 20 && footer.originalSize == 10 << 20)
        #expect(footer.dataOffset == 512)
        #expect(footer.geometry == DiskGeometry(cylinders: 301, heads: 4, sectorsPerTrack: 17))
        #expect(footer.creatorApplication.description == "win ")
        #expect(footer.creatorVersionText == "10.0")
        #expect(footer.creatorHostOS == .windows)
        #expect(footer.timestamp.description == "2020-03-24T16:36:31Z")
        #expect(footer.uniqueId.description == "4b6a0d04-f946-d74e-836f-d3dc87e1816b")
        #expect(footer.checksum == 0xFFFF_EE6F && footer.checksumIsValid)
        #expect(footer.savedState == 0 && footer.features == Footer.reservedFeatureBit)
    }

    @Test func serializesBackToTheSameBytes() throws {
        let footer = try Footer(parsing: Golden.windowsDynamicFooter)
        #expect(footer.serialized() == Golden.windowsDynamicFooter)
    }

    @Test func checksumMatchesTheStoredOne() {
        #expect(Checksum.footer(Golden.windowsDynamicFooter) == 0xFFFF_EE6F)
    }

    @Test(arguments: [0, 7, 12, 16, 24, 28, 40, 48, 56, 59, 64, 67, 68, 83, 84, 200, 511])
    func corruptingAByteIsRejectedByTheChecksum(at index: Int) {
        var bytes = Golden.windowsDynamicFooter
        bytes[index] ^= 0x5A
        #expect(throws: VHDFormatError.self) { try Footer(parsing: bytes) }
    }

    @Test func aWrongChecksumIsKeptWhenIgnored() throws {
        var bytes = Golden.windowsDynamicFooter
        bytes[67] &+= 1
        let error = #expect(throws: VHDFormatError.self) { try Footer(parsing: bytes) }
        #expect(error == .checksumMismatch(.footer, stored: 0xFFFF_EE70, computed: 0xFFFF_EE6F))
        let footer = try Footer(parsing: bytes, checksumPolicy: .ignore)
        #expect(footer.checksum == 0xFFFF_EE70 && !footer.checksumIsValid)
        #expect(footer.withComputedChecksum().serialized() == Golden.windowsDynamicFooter)
    }

    @Test func badCookieSaysWhatWasFound() {
        var bytes = Golden.windowsDynamicFooter
        bytes[7] = UInt8(ascii: "y")
        let error = #expect(throws: VHDFormatError.self) {
            try Footer(parsing: bytes, checksumPolicy: .ignore)
        }
        #expect(error == .badCookie(.footer, found: 0x636F_6E65_6374_6979))
        #expect(error?.description == "footer cookie is \"conectiy\" but should be \"conectix\"")
    }

    @Test(arguments: [UInt32(0), 1, 5, 6, 7, 0xFFFF_FFFF])
    func unsupportedDiskTypesAreRejected(_ type: UInt32) {
        var bytes = Golden.windowsDynamicFooter
        bytes.replaceSubrange(60..<64, with: withUnsafeBytes(of: type.bigEndian) { Array($0) })
        let error = #expect(throws: VHDFormatError.self) {
            try Footer(parsing: bytes, checksumPolicy: .ignore)
        }
        #expect(error == .unsupportedDiskType(type))
    }

    @Test func shortInputIsTruncated() {
        let bytes = Array(Golden.windowsDynamicFooter.prefix(510))
        let error = #expect(throws: VHDFormatError.self) { try Footer(parsing: bytes) }
        #expect(error == .truncated(.footer, needed: 512, available: 510))
    }

    @Test func legacyShortFooterParsesAsIfTheLastByteWereZero() throws {
        let bytes = Array(Golden.windowsDynamicFooter.prefix(511))
        let footer = try Footer(parsing: bytes)
        #expect(footer.serialized() == Golden.windowsDynamicFooter)
    }

    @Test func footersRoundTrip() async {
        await propertyCheck(count: 300, input: Generators.footer) { footer in
            let parsed = try Footer(parsing: footer.serialized())
            #expect(parsed == footer)
            #expect(parsed.serialized() == footer.serialized())
        }
    }

    @Test func parsingArbitraryBytesNeverTraps() async {
        await propertyCheck(count: 2000, input: Generators.bytes, Gen.bool) { bytes, withCookie in
            var bytes = bytes
            if withCookie && bytes.count >= 8 {
                bytes.replaceSubrange(0..<8, with: Array("conectix".utf8))
            }
            _ = try? Footer(parsing: bytes, checksumPolicy: .ignore)
            _ = try? Footer(parsing: bytes)
        }
    }
}
