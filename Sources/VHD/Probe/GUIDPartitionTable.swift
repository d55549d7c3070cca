import CZlib

/// Reading a GUID partition table (UEFI specification, chapter 5): the primary header in
/// sector 1, its entry array, and the backup header (normally in the last sector) with its own
/// copy of the array. Both headers' CRC32s and both arrays' CRC32s are checked; a damaged
/// primary is replaced by a sound backup.
///
/// Header fields (little-endian): 0 "EFI PART", 8 revision, 12 header size, 16 header CRC32
/// (computed over the header size with this field zero), 24 this header's sector, 32 the other
/// header's sector, 40 first usable sector, 48 last usable sector, 56 disk GUID, 72 first
/// sector of the entry array, 80 entry count, 84 entry size, 88 CRC32 of the array.
/// Entry fields: 0 type GUID (all zero: unused), 16 partition GUID, 32 first sector,
/// 40 last sector (inclusive), 48 attributes, 56 name (36 UTF-16LE code units).
enum GUIDPartitionTable {
    struct Header: Equatable {
        var sector: UInt64
        var alternateSector: UInt64
        var firstUsableSector: UInt64
        var lastUsableSector: UInt64
        var diskGUID: String
        var entriesSector: UInt64
        var entryCount: UInt32
        var entrySize: UInt32
        var entriesCRC: UInt32
    }

    /// The largest entry array read: 1 MiB, 8192 entries of 128 bytes (tools make 128).
    /// A header declaring more is treated as damaged rather than read.
    static let maximumArrayBytes: UInt64 = 1 << 20

    /// What was read: the partitions (without filesystems yet), the header used, and problems.
    struct Table {
        var partitions: [Partition] = []
        var header: Header?
        var backupIsValid = false
        var warnings: [String] = []
    }

    /// Whether sector 1 starts with the GPT signature.
    static func hasSignature(_ sector: [UInt8]) -> Bool { sector.hasASCII("EFI PART", at: 0) }

    /// Reads the table: the primary header in `sector1` (already read) and the backup.
    static func read(sector1: [UInt8], reader: inout BoundedReader) throws(VHDError) -> Table {
        var table = Table()
        let lastSector = reader.virtualSize / 512 - 1  // the caller made sure the disk has sectors 0 and 1
        var primary: (header: Header, entries: [UInt8])?
        switch try headerAndEntries(sector1, expectedSector: 1, reader: &reader) {
        case let .success(found): primary = found
        case let .failure(problem): table.warnings.append("the primary GPT header is unusable: \(problem.reason)")
        }
        let backupSector = primary?.header.alternateSector ?? lastSector
        if backupSector != lastSector {
            table.warnings.append("the backup GPT header is recorded at sector \(backupSector), not in the disk's last sector \(lastSector)")
        }
        var backup: (header: Header, entries: [UInt8])?
        if let bytes = try reader.read(at: byteOffset(sector: backupSector) ?? .max, count: 512) {
            switch try headerAndEntries(bytes, expectedSector: backupSector, reader: &reader) {
            case let .success(found): backup = found
            case let .failure(problem): table.warnings.append("the backup GPT header is unusable: \(problem.reason)")
            }
        } else {
            table.warnings.append("the backup GPT header's sector \(backupSector) lies past the end of the disk")
        }
        if let primary, let backup {
            if backup.header.alternateSector != 1 || backup.header.diskGUID != primary.header.diskGUID
                || backup.entries != primary.entries
            {
                table.warnings.append("the backup GPT header or its entries differ from the primary")
            } else {
                table.backupIsValid = true
            }
        } else if backup != nil {
            table.backupIsValid = true
        }
        guard let used = primary ?? backup else { return table }
        if primary == nil { table.warnings.append("the partitions are read from the backup GPT header") }
        table.header = used.header
        table.partitions = partitions(of: used.header, entries: used.entries, virtualSize: reader.virtualSize, warnings: &table.warnings)
        return table
    }

    struct Problem: Error { var reason: String }

    /// Parses and checks a header found at `expectedSector`, then reads and checks its array.
    static func headerAndEntries(
        _ bytes: [UInt8], expectedSector: UInt64, reader: inout BoundedReader
    ) throws(VHDError) -> Result<(header: Header, entries: [UInt8]), Problem> {
        let header: Header
        switch parseHeader(bytes, expectedSector: expectedSector) {
        case let .success(parsed): header = parsed
        case let .failure(problem): return .failure(problem)
        }
        let arrayBytes = UInt64(header.entryCount) * UInt64(header.entrySize)  // both 32-bit: no overflow
        guard arrayBytes <= maximumArrayBytes else {
            return .failure(Problem(reason: "it declares \(header.entryCount) entries of \(header.entrySize) bytes, more than the \(maximumArrayBytes) bytes read at most"))
        }
        guard let offset = byteOffset(sector: header.entriesSector),
              let entries = try reader.read(at: offset, count: Int(arrayBytes))
        else {
            return .failure(Problem(reason: "its entry array (\(arrayBytes) bytes at sector \(header.entriesSector)) lies past the end of the disk"))
        }
        let computed = crc32(entries)
        guard computed == header.entriesCRC else {
            return .failure(Problem(reason: "its entry array's CRC32 is \(hexText(header.entriesCRC)) but the entries give \(hexText(computed))"))
        }
        return .success((header, entries))
    }

    /// Parses the 512 bytes of a header found in sector `expectedSector`.
    static func parseHeader(_ bytes: [UInt8], expectedSector: UInt64) -> Result<Header, Problem> {
        guard bytes.count >= 512, hasSignature(bytes) else { return .failure(Problem(reason: "no \"EFI PART\" signature")) }
        let headerSize = Int(bytes.littleEndian(UInt32.self, at: 12))
        guard (92...512).contains(headerSize) else { return .failure(Problem(reason: "a header size of \(headerSize) bytes")) }
        let stored = bytes.littleEndian(UInt32.self, at: 16)
        var zeroed = Array(bytes[0..<headerSize])
        zeroed.replaceSubrange(16..<20, with: [0, 0, 0, 0])
        let computed = crc32(zeroed)
        guard stored == computed else {
            return .failure(Problem(reason: "its CRC32 is \(hexText(stored)) but the header gives \(hexText(computed))"))
        }
        let header = Header(
            sector: bytes.littleEndian(UInt64.self, at: 24), alternateSector: bytes.littleEndian(UInt64.self, at: 32),
            firstUsableSector: bytes.littleEndian(UInt64.self, at: 40), lastUsableSector: bytes.littleEndian(UInt64.self, at: 48),
            diskGUID: PartitionTypes.guidText(bytes[56..<72]), entriesSector: bytes.littleEndian(UInt64.self, at: 72),
            entryCount: bytes.littleEndian(UInt32.self, at: 80), entrySize: bytes.littleEndian(UInt32.self, at: 84),
            entriesCRC: bytes.littleEndian(UInt32.self, at: 88))
        guard header.sector == expectedSector else {
            return .failure(Problem(reason: "it says it is in sector \(header.sector), but it was found in sector \(expectedSector)"))
        }
        // The specification: 128 × 2^n bytes.
        guard header.entrySize >= 128, header.entrySize & (header.entrySize - 1) == 0 else {
            return .failure(Problem(reason: "an entry size of \(header.entrySize) bytes"))
        }
        return .success(header)
    }

    /// The used entries of a checked array, with problems (past the end, outside the usable
    /// area, backwards, overlapping) reported; impossible entries are left out.
    static func partitions(of header: Header, entries: [UInt8], virtualSize: UInt64, warnings: inout [String]) -> [Partition] {
        var result: [Partition] = []
        let entrySize = Int(header.entrySize)
        for number in 0..<Int(header.entryCount) {
            let entry = Array(entries[(number * entrySize)..<(number * entrySize + 128)])
            guard entry[0..<16].contains(where: { $0 != 0 }) else { continue }
            let index = number + 1
            let firstSector = entry.littleEndian(UInt64.self, at: 32)
            let lastSector = entry.littleEndian(UInt64.self, at: 40)
            guard lastSector >= firstSector, let start = byteOffset(sector: firstSector),
                  lastSector < .max, let end = byteOffset(sector: lastSector + 1)
            else {
                warnings.append("GPT entry \(index) has impossible sectors \(firstSector) to \(lastSector); it is left out")
                continue
            }
            if end > virtualSize {
                warnings.append("partition \(index) ends at byte \(end), past the end of the disk (\(virtualSize) bytes)")
            } else if firstSector < header.firstUsableSector || lastSector > header.lastUsableSector {
                warnings.append("partition \(index) lies outside the GPT's usable sectors \(header.firstUsableSector) to \(header.lastUsableSector)")
            }
            let type = PartitionTypes.guidText(entry[0..<16])
            let attributes = entry.littleEndian(UInt64.self, at: 48)
            result.append(Partition(
                index: index, start: start, size: end - start, type: type, typeName: PartitionTypes.gpt[type]?.name,
                name: name(entry), bootable: attributes & 0x4 != 0))
        }
        return result
    }

    /// The partition name: UTF-16LE up to the first NUL; unpaired surrogates become U+FFFD.
    static func name(_ entry: [UInt8]) -> String {
        var units: [UInt16] = []
        for offset in stride(from: 56, to: 128, by: 2) {
            let unit = entry.littleEndian(UInt16.self, at: offset)
            if unit == 0 { break }
            units.append(unit)
        }
        return String(decoding: units, as: UTF16.self)
    }

    /// zlib's CRC32, the one GPT uses.
    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBufferPointer { buffer in
            UInt32(truncatingIfNeeded: CZlib.crc32(0, buffer.baseAddress, UInt32(buffer.count)))
        }
    }
}
