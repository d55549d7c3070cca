/// Reading an MBR partition table: the four primary entries of sector 0 and the chain of
/// extended boot records (EBRs) inside an extended partition.
///
/// An entry is 16 bytes at 446 + 16 * i: status (0x80 active, 0x00 not), CHS start, type,
/// CHS end, first sector (little-endian UInt32 at 8), sector count (UInt32 at 12). The sector
/// ends with 0x55 0xAA.
enum MasterBootRecord {
    struct Entry: Equatable {
        var status: UInt8
        var type: UInt8
        var firstSector: UInt64
        var sectorCount: UInt64

        var isEmpty: Bool { type == 0 || sectorCount == 0 }
    }

    /// At most this many logical partitions are followed (Linux reads 60 or so; more is a
    /// corrupt or hostile chain).
    static let maximumLogicalPartitions = 128

    static func hasBootSignature(_ sector: [UInt8]) -> Bool {
        sector.count >= 512 && sector[510] == 0x55 && sector[511] == 0xAA
    }

    /// The four entries of a boot record sector.
    static func entries(_ sector: [UInt8]) -> [Entry] {
        (0..<4).map { index in
            let base = 446 + 16 * index
            return Entry(
                status: sector.count >= 512 ? sector[base] : 0, type: sector.count >= 512 ? sector[base + 4] : 0,
                firstSector: UInt64(sector.littleEndian(UInt32.self, at: base + 8)),
                sectorCount: UInt64(sector.littleEndian(UInt32.self, at: base + 12)))
        }
    }

    /// Whether sector 0 holds a plausible partition table: the boot signature, every status
    /// byte 0x00 or 0x80 (boot code or a filesystem's boot sector rarely passes), and at least
    /// one entry in use.
    static func isPlausible(_ sector: [UInt8]) -> Bool {
        guard hasBootSignature(sector) else { return false }
        let all = entries(sector)
        return all.allSatisfy { $0.status == 0 || $0.status == 0x80 } && all.contains { !$0.isEmpty }
    }

    /// Whether sector 0 is a protective MBR (an entry of type 0xEE): the disk is GPT.
    static func isProtective(_ sector: [UInt8]) -> Bool {
        hasBootSignature(sector) && entries(sector).contains { $0.type == PartitionTypes.mbrProtective }
    }

    /// The primary and logical partitions, without filesystems yet; problems go to `warnings`.
    static func partitions(sector0: [UInt8], reader: inout BoundedReader, warnings: inout [String]) throws(VHDError) -> [Partition] {
        var result: [Partition] = []
        for (number, entry) in entries(sector0).enumerated() where !entry.isEmpty {
            result.append(partition(index: number + 1, entry: entry, firstSector: entry.firstSector))
            if PartitionTypes.mbrExtended.contains(entry.type) {
                result += try logicalPartitions(in: entry, reader: &reader, warnings: &warnings)
            }
        }
        return result
    }

    static func partition(index: Int, entry: Entry, firstSector: UInt64) -> Partition {
        // Sector numbers here are at most 2^33: byte offsets cannot overflow.
        Partition(
            index: index, start: firstSector * 512, size: entry.sectorCount * 512,
            type: PartitionTypes.mbrTypeText(entry.type), typeName: PartitionTypes.mbr[entry.type]?.name,
            name: nil, bootable: entry.status == 0x80)
    }

    /// Follows the EBR chain of an extended partition: each EBR's first entry is a logical
    /// partition (relative to that EBR), its second the next EBR (relative to the extended
    /// partition's start). The chain must move forward and stay inside the extended partition.
    static func logicalPartitions(in extended: Entry, reader: inout BoundedReader, warnings: inout [String]) throws(VHDError) -> [Partition] {
        var result: [Partition] = []
        let extendedEnd = extended.firstSector + extended.sectorCount
        var recordSector = extended.firstSector
        while true {
            guard result.count < maximumLogicalPartitions else {
                warnings.append("the extended partition's chain goes on past \(maximumLogicalPartitions) logical partitions; the rest are not listed")
                break
            }
            guard let sector = try reader.read(at: recordSector * 512, count: 512) else {
                warnings.append("an extended boot record at sector \(recordSector) lies past the end of the disk")
                break
            }
            guard hasBootSignature(sector) else {
                warnings.append("the extended boot record at sector \(recordSector) has no 0x55AA signature")
                break
            }
            let pair = entries(sector)
            if !pair[0].isEmpty {
                let first = recordSector + pair[0].firstSector
                if first + pair[0].sectorCount > extendedEnd {
                    warnings.append("logical partition \(result.count + 5) extends past the end of its extended partition")
                }
                result.append(partition(index: result.count + 5, entry: pair[0], firstSector: first))
            }
            guard !pair[1].isEmpty, PartitionTypes.mbrExtended.contains(pair[1].type) else { break }
            let next = extended.firstSector + pair[1].firstSector
            guard next > recordSector, next < extendedEnd else {
                warnings.append("the extended boot record at sector \(recordSector) points back or out of its extended partition (to sector \(next)); the chain stops there")
                break
            }
            recordSector = next
        }
        return result
    }
}
