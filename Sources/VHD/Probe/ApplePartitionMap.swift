/// The Apple partition map (APM, "Inside Macintosh: Devices"): a driver descriptor map in block 0
/// ("ER", then the block size, big-endian) and one 512-byte entry per partition from block 1.
///
/// Entry: 0 signature "PM" · 4 number of entries in the map · 8 first block · 12 block count ·
/// 16 name (32 bytes, NUL-padded) · 48 type (32 bytes: "Apple_HFS", "Apple_partition_map",
/// "Apple_Free", ...) · 88 status (bit 1: valid). At most ``maximumEntries`` are read; the map's
/// own entry is listed like the others.
enum ApplePartitionMap {
    static let maximumEntries = 64

    /// Whether block 0 is a driver descriptor map and block 1 a map entry.
    static func hasSignature(sector0: [UInt8], sector1: [UInt8]) -> Bool {
        sector0.hasASCII("ER", at: 0) && sector1.hasASCII("PM", at: 0)
    }

    static func bigEndian32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        guard offset >= 0, offset + 4 <= bytes.count else { return 0 }
        return bytes[offset..<(offset + 4)].reduce(0) { $0 << 8 | UInt32($1) }
    }

    static func text(_ bytes: [UInt8], at offset: Int) -> String {
        guard offset + 32 <= bytes.count else { return "" }
        return String(decoding: bytes[offset..<(offset + 32)].prefix { $0 != 0 }, as: UTF8.self)
    }

    /// The partitions, reading one 512-byte entry per partition; bad entries give warnings.
    static func partitions(sector0: [UInt8], reader: inout BoundedReader, warnings: inout [String]) throws(VHDError) -> [Partition] {
        var blockSize = UInt64(UInt16(sector0[2]) << 8 | UInt16(sector0[3]))
        if ![512, 1024, 2048, 4096].contains(blockSize) {
            warnings.append("the Apple driver descriptor gives a block size of \(blockSize); 512 is used")
            blockSize = 512
        }
        var partitions: [Partition] = []
        var count = maximumEntries
        var index = 1
        while index <= count {
            guard let entry = try reader.read(at: UInt64(index) * 512, count: 512) else {
                warnings.append("Apple partition map entry \(index) lies past the end of the disk")
                break
            }
            guard entry.hasASCII("PM", at: 0) else {
                warnings.append("Apple partition map entry \(index) has no \"PM\" signature")
                break
            }
            if index == 1 {
                let declared = Int(bigEndian32(entry, at: 4))
                if declared > maximumEntries { warnings.append("the Apple partition map declares \(declared) entries; the first \(maximumEntries) are read") }
                count = min(max(declared, 1), maximumEntries)
            }
            let (start, startOverflow) = UInt64(bigEndian32(entry, at: 8)).multipliedReportingOverflow(by: blockSize)
            let (size, sizeOverflow) = UInt64(bigEndian32(entry, at: 12)).multipliedReportingOverflow(by: blockSize)
            if !startOverflow && !sizeOverflow {
                if !BoundedReader.fits(start, size, within: reader.virtualSize) {
                    warnings.append("Apple partition \(index) ends past the end of the disk")
                }
                let type = text(entry, at: 48)
                let name = text(entry, at: 16)
                partitions.append(Partition(index: index, start: start, size: size, type: type, typeName: type, name: name.isEmpty ? nil : name))
            }
            index += 1
        }
        return partitions
    }
}
