import PropertyBased
import VHDFormat

/// Random valid structures for round-trip properties, each built from random 64-bit words.
enum Generators {
    static let footer = Gen.uint64().array(of: 12).map(makeFooter)
    static let locator = Gen.uint64().array(of: 3).map(makeLocator)
    static let dynamicHeader = Gen.uint64().array(of: 8 + 24 + 64).map(makeDynamicHeader)
    static let bytes = Gen.uint8().array(of: 0...1200)

    static func low32(_ word: UInt64) -> UInt32 { UInt32(truncatingIfNeeded: word) }
    static func high32(_ word: UInt64) -> UInt32 { UInt32(truncatingIfNeeded: word >> 32) }

    /// `count` bytes drawn from `word`, all zero when `zeroed`: reserved fields are zero in
    /// conforming images but must round-trip whatever they hold.
    static func filler(_ word: UInt64, count: Int, zeroed: Bool) -> [UInt8] {
        (0..<count).map { zeroed ? 0 : UInt8(truncatingIfNeeded: word >> UInt64($0 % 8 * 8)) }
    }

    static func makeFooter(_ words: [UInt64]) -> Footer {
        let geometry = DiskGeometry(
            cylinders: UInt16(truncatingIfNeeded: words[6]), heads: UInt8(truncatingIfNeeded: words[6] >> 16),
            sectorsPerTrack: UInt8(truncatingIfNeeded: words[6] >> 24))
        let footer = Footer(
            features: low32(words[0]), formatVersion: high32(words[0]), dataOffset: words[1],
            timestamp: VHDTimestamp(rawValue: low32(words[2])),
            creatorApplication: FourCharacterCode(rawValue: high32(words[2])),
            creatorVersion: low32(words[3]), creatorHostOS: FourCharacterCode(rawValue: high32(words[3])),
            originalSize: words[4], currentSize: words[5], geometry: geometry,
            diskType: DiskType.allCases[Int(words[7] % 3)], uniqueId: VHDUUID(high: words[8], low: words[9]),
            savedState: UInt8(truncatingIfNeeded: words[10]),
            reserved: filler(words[11], count: 427, zeroed: words[10] & 0x100 == 0))
        return footer.withComputedChecksum()
    }

    static func makeLocator(_ words: [UInt64]) -> ParentLocator {
        ParentLocator(
            platformCode: PlatformCode(rawValue: low32(words[0])), platformDataSpace: high32(words[0]),
            platformDataLength: low32(words[1]), reserved: high32(words[1]), platformDataOffset: words[2])
    }

    static func makeDynamicHeader(_ words: [UInt64]) -> DynamicHeader {
        let locators = (0..<8).map { makeLocator(Array(words[(8 + 3 * $0)..<(11 + 3 * $0)])) }
        let name = words[32..<96].flatMap { word in (0..<4).map { UInt16(truncatingIfNeeded: word >> UInt64($0 * 16)) } }
        let header = DynamicHeader(
            dataOffset: words[0], tableOffset: words[1], headerVersion: low32(words[2]),
            maxTableEntries: high32(words[2]), blockSize: low32(words[3]),
            parentUniqueId: VHDUUID(high: words[4], low: words[5]),
            parentTimestamp: VHDTimestamp(rawValue: low32(words[6])), reserved1: high32(words[6]),
            parentUnicodeName: name, parentLocators: locators,
            reserved2: filler(words[7], count: 256, zeroed: words[7] & 1 == 0))
        return header.withComputedChecksum()
    }
}
