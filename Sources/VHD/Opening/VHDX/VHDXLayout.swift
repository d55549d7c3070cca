import VHDXFormat

/// The validated metadata of one VHDX file: file identifier, both headers, both region tables,
/// the metadata items, the BAT and the log's state, checked against each other and against the
/// file's size.
///
/// A dirty log (the current header names a log GUID) is replayed in memory before the
/// metadata is read (see ``VHDXLog``); the file is not written. Nothing in a layout points
/// outside the file.
public struct VHDXLayout: Sendable, Equatable {
    /// One of the two headers or region tables: where it is, what it holds, what is wrong.
    public struct Copy<Value: Sendable & Equatable>: Sendable, Equatable {
        /// File offset of the copy in bytes.
        public var offset: Int64
        /// The parsed structure; nil when it did not parse (``problem`` says why).
        public var value: Value?
        /// Why it was not used (nil when it parsed).
        public var problem: String?
    }

    /// The kind of disk the file parameters' flags describe.
    public enum DiskKind: String, Sendable, Equatable {
        /// Fixed (LeaveBlockAllocated), dynamic (neither flag) or differencing (HasParent).
        case fixed, dynamic, differencing
    }

    /// Size of the file in bytes, as found (a replay in memory does not grow it).
    public var fileSize: Int64
    /// The creator named in the file type identifier.
    public var creator: String
    /// Both headers, at 64 KiB and 128 KiB, in file order.
    public var headers: [Copy<VHDXHeader>]
    /// 0 or 1: the valid header with the higher sequence number.
    public var currentHeaderIndex: Int
    /// Both region tables, at 192 KiB and 256 KiB, in file order.
    public var regionTables: [Copy<VHDXRegionTable>]
    /// The region table in use (the first valid one).
    public var regionTable: VHDXRegionTable
    /// The region table's entry of the block allocation table.
    public var batRegion: VHDXRegionTable.Entry
    /// The region table's entry of the metadata region.
    public var metadataRegion: VHDXRegionTable.Entry
    /// The table at the start of the metadata region.
    public var metadataTable: VHDXMetadataTable
    /// The file parameters item: block size and flags.
    public var fileParameters: VHDXFileParameters
    /// The virtual disk size in bytes (virtual disk size item).
    public var virtualSize: UInt64
    /// The logical sector size in bytes: 512 or 4096.
    public var logicalSectorSize: UInt32
    /// The physical sector size in bytes: 512 or 4096.
    public var physicalSectorSize: UInt32
    /// The virtual disk id item (the SCSI page 83 identifier).
    public var virtualDiskId: VHDXGUID
    /// The parent locator item; nil unless the disk is differencing.
    public var parentLocator: VHDXParentLocator?
    /// The table entries, payload and sector-bitmap entries interleaved, as the file holds them
    /// (after the log's replay).
    public var bat: [UInt64]
    /// What the log held when the file was opened.
    public var log: VHDXLog.State
    /// The log's writes replayed in memory, to be applied to reads of the file's metadata.
    var replayed: VHDXLog.Replay
    /// Everything odd that did not stop the image from being read.
    public var warnings: [String]

    /// The header in use.
    public var header: VHDXHeader { headers[currentHeaderIndex].value! }
    /// The table sizes that follow from the virtual size, block size, sector size and parent flag.
    public var geometry: VHDXGeometry {
        VHDXGeometry(virtualSize: virtualSize, blockSize: fileParameters.blockSize, logicalSectorSize: logicalSectorSize, hasParent: fileParameters.hasParent)
    }
    /// Differencing if HasParent is set, else fixed if LeaveBlockAllocated is set, else dynamic.
    public var diskKind: DiskKind {
        fileParameters.hasParent ? .differencing : fileParameters.leaveBlockAllocated ? .fixed : .dynamic
    }
    /// The payload block size in bytes.
    public var blockSize: Int { Int(fileParameters.blockSize) }

    /// The table entry of payload block `block`.
    public func payloadEntry(_ block: Int) -> VHDXBATEntry { VHDXBATEntry(rawValue: bat[geometry.payloadEntryIndex(block)]) }

    /// The sector-bitmap entry of the chunk holding payload block `block`, if the table has it.
    public func sectorBitmapEntry(forBlock block: Int) -> VHDXBATEntry? {
        let index = geometry.sectorBitmapEntryIndex(forBlock: block)
        return index < bat.count ? VHDXBATEntry(rawValue: bat[index]) : nil
    }

    /// Blocks stored in this file (fully or partially present).
    public var presentBlockCount: Int {
        (0..<geometry.payloadBlockCount).count { block in
            let state = payloadEntry(block).payloadState
            return state == .fullyPresent || state == .partiallyPresent
        }
    }
}

extension VHDXLayout {
    /// The largest log read into memory to be replayed.
    static let maximumLogLength: UInt32 = 16 << 20
    /// The largest metadata item read (a parent locator is a few hundred bytes).
    static let maximumItemLength: UInt32 = 1 << 20

    /// Reads and validates the VHDX in `file`.
    ///
    /// - Parameters:
    ///   - file: the open VHDX file; only read, never written (a replayed log stays in memory).
    ///   - replayLog: replay a dirty log in memory (true) or refuse such a file (false).
    /// - Throws: ``VHDError``: no valid header or region table, a required region or metadata
    ///   item this reader does not know, an item or block outside the file, a malformed item.
    public init(reading file: some ByteSource, replayLog: Bool = true) throws(VHDError) {
        let name = file.name
        func fail(_ reason: String) -> VHDError { VHDError(path: name, .vhdxLayout(reason: reason)) }
        fileSize = file.sizeInBytes
        warnings = []
        let minimumSize: Int64 = 1 << 20
        guard fileSize >= minimumSize else {
            throw fail("the file is \(fileSize) bytes; a VHDX holds at least its 1 MiB header section")
        }
        let identifier = try file.bytes(at: 0, count: VHDXFileIdentifier.size)
        creator = try parsingVHDX(name, at: 0) { () throws(VHDXFormatError) in try VHDXFileIdentifier(parsing: identifier).creator }

        // Headers: the valid one with the higher sequence number is current.
        var found: [Copy<VHDXHeader>] = []
        for offset in VHDXHeader.offsets {
            let bytes = try file.bytes(at: offset, count: VHDXHeader.size)
            do {
                found.append(Copy(offset: offset, value: try VHDXHeader(parsing: bytes), problem: nil))
            } catch {
                found.append(Copy(offset: offset, value: nil, problem: error.description))
            }
        }
        headers = found
        let valid = found.indices.filter { found[$0].value != nil }
        guard let current = valid.max(by: { found[$0].value!.sequenceNumber < found[$1].value!.sequenceNumber }) else {
            throw fail("neither header is valid (at 64 KiB: \(found[0].problem ?? ""); at 128 KiB: \(found[1].problem ?? ""))")
        }
        currentHeaderIndex = current
        for copy in headers where copy.value == nil {
            warnings.append("the header at offset \(copy.offset) is damaged (\(copy.problem ?? "")); the other one is used")
        }
        let header = headers[current].value!

        // The log, replayed in memory when dirty: later reads of metadata see its writes.
        replayed = VHDXLog.Replay()
        log = .empty
        if !header.logGUID.isZero {
            guard replayLog else { throw fail("its log holds writes to replay (the file was not closed cleanly); repairing the file replays them") }
            (log, replayed) = try VHDXLog.read(file, header: header, maximumLength: Self.maximumLogLength)
            if case let .replayable(entries, _, _) = log {
                warnings.append("the log holds \(entries) entries not yet written to the file (it was not closed cleanly); they are applied in memory; repairing the file writes them")
            }
        }
        let reader = ReplayedReader(file: file, replay: replayed)

        // Region tables: the first valid one is used; the two should be identical.
        regionTables = []
        for offset in VHDXRegionTable.offsets {
            let bytes = try reader.bytes(at: offset, count: VHDXRegionTable.size)
            do {
                regionTables.append(Copy(offset: offset, value: try VHDXRegionTable(parsing: bytes), problem: nil))
            } catch {
                regionTables.append(Copy(offset: offset, value: nil, problem: error.description))
            }
        }
        guard let table = regionTables.compactMap(\.value).first else {
            throw fail("neither region table is valid (at 192 KiB: \(regionTables[0].problem ?? ""); at 256 KiB: \(regionTables[1].problem ?? ""))")
        }
        regionTable = table
        for copy in regionTables where copy.value == nil {
            warnings.append("the region table at offset \(copy.offset) is damaged (\(copy.problem ?? "")); the other one is used")
        }
        if let first = regionTables[0].value, let second = regionTables[1].value, first.entries != second.entries {
            warnings.append("the two region tables differ; the first is used")
        }
        for entry in table.entries where entry.isRequired && entry.guid != VHDXRegionTable.batGUID && entry.guid != VHDXRegionTable.metadataGUID {
            throw fail("it requires region \(entry.guid), which this library does not know")
        }
        guard let bat = table.entry(VHDXRegionTable.batGUID) else { throw fail("the region table lists no BAT region") }
        guard let metadata = table.entry(VHDXRegionTable.metadataGUID) else { throw fail("the region table lists no metadata region") }
        for (name, region) in [("BAT", bat), ("metadata", metadata)] {
            guard let range = region.fileRange, range.upperBound <= UInt64(fileSize) else {
                throw fail("the \(name) region (\(region.length) bytes at offset \(region.fileOffset)) does not fit in the file of \(fileSize) bytes")
            }
        }
        if bat.fileRange!.overlaps(metadata.fileRange!) { throw fail("the BAT and metadata regions overlap") }
        batRegion = bat
        metadataRegion = metadata

        // Metadata.
        guard metadata.length >= UInt32(VHDXMetadataTable.size) else {
            throw fail("the metadata region is \(metadata.length) bytes, too small for its 64 KiB table")
        }
        let metadataOffset = Int64(metadata.fileOffset)
        let tableBytes = try reader.bytes(at: metadataOffset, count: VHDXMetadataTable.size)
        metadataTable = try parsingVHDX(name, at: metadataOffset) { () throws(VHDXFormatError) in try VHDXMetadataTable(parsing: tableBytes) }
        for entry in metadataTable.entries where entry.isRequired && entry.knownName == nil {
            throw fail("it requires metadata item \(entry.itemId)\(entry.isUser ? " (a user item)" : ""), which this library does not know")
        }
        let items = metadataTable
        func item(_ guid: VHDXGUID, _ name: String, required: Bool = true) throws(VHDError) -> [UInt8]? {
            guard let entry = items.entry(guid) else {
                if required { throw fail("the metadata has no \(name) item") }
                return nil
            }
            guard UInt64(entry.offset) + UInt64(entry.length) <= UInt64(metadata.length), entry.length <= Self.maximumItemLength else {
                throw fail("the \(name) item (\(entry.length) bytes at offset \(entry.offset) of the metadata region) lies outside the region of \(metadata.length) bytes")
            }
            return try reader.bytes(at: metadataOffset + Int64(entry.offset), count: Int(entry.length))
        }
        let parametersBytes = try item(VHDXMetadataTable.fileParametersGUID, "file parameters")!
        let logicalBytes = try item(VHDXMetadataTable.logicalSectorSizeGUID, "logical sector size")!
        let physicalBytes = try item(VHDXMetadataTable.physicalSectorSizeGUID, "physical sector size")!
        let sizeBytes = try item(VHDXMetadataTable.virtualDiskSizeGUID, "virtual disk size")!
        let idBytes = try item(VHDXMetadataTable.virtualDiskIdGUID, "virtual disk id")!
        let parameters = try parsingVHDX(name, at: metadataOffset) { () throws(VHDXFormatError) in try VHDXFileParameters(parsing: parametersBytes) }
        let logical = try parsingVHDX(name, at: metadataOffset) { () throws(VHDXFormatError) in
            try VHDXMetadataValue.sectorSize(parsing: logicalBytes, field: "logical sector size")
        }
        fileParameters = parameters
        logicalSectorSize = logical
        physicalSectorSize = try parsingVHDX(name, at: metadataOffset) { () throws(VHDXFormatError) in
            try VHDXMetadataValue.sectorSize(parsing: physicalBytes, field: "physical sector size")
        }
        virtualSize = try parsingVHDX(name, at: metadataOffset) { () throws(VHDXFormatError) in
            try VHDXMetadataValue.virtualDiskSize(parsing: sizeBytes, logicalSectorSize: logical)
        }
        virtualDiskId = try parsingVHDX(name, at: metadataOffset) { () throws(VHDXFormatError) in try VHDXMetadataValue.virtualDiskId(parsing: idBytes) }
        if parameters.hasParent {
            let locatorBytes = try item(VHDXMetadataTable.parentLocatorGUID, "parent locator")!
            parentLocator = try parsingVHDX(name, at: metadataOffset) { () throws(VHDXFormatError) in try VHDXParentLocator(parsing: locatorBytes) }
        } else {
            parentLocator = nil
        }
        if let locator = parentLocator, locator.locatorType != VHDXParentLocator.vhdxLocatorType {
            throw fail("the parent locator's type \(locator.locatorType) is not the VHDX locator type")
        }

        // The BAT: every present block inside the file.
        let geometry = VHDXGeometry(virtualSize: virtualSize, blockSize: fileParameters.blockSize, logicalSectorSize: logicalSectorSize, hasParent: fileParameters.hasParent)
        let entryCount = geometry.entryCount
        guard UInt64(entryCount) * 8 <= UInt64(bat.length) else {
            throw fail("the BAT region holds \(bat.length / 8) entries but a disk of \(virtualSize) bytes in \(fileParameters.blockSize)-byte blocks needs \(entryCount)")
        }
        let tableEntries = try reader.bytes(at: Int64(bat.fileOffset), count: entryCount * 8)
        self.bat = try parsingVHDX(name, at: Int64(bat.fileOffset)) { () throws(VHDXFormatError) in
            try VHDXBATEntry.entries(parsing: tableEntries, count: entryCount)
        }
        try validateTable(fail)
        if !replayed.isEmpty {
            // Replayed writes are applied to metadata reads only: payload must not be among them.
            let metadataRanges = [0..<(1 << 20), Int64(bat.fileOffset)..<Int64(bat.fileRange!.upperBound),
                                  Int64(metadata.fileOffset)..<Int64(metadata.fileRange!.upperBound)]
            for range in replayed.writtenRanges where !metadataRanges.contains(where: { $0.lowerBound <= range.lowerBound && range.upperBound <= $0.upperBound }) {
                throw fail("its log writes bytes \(range.lowerBound)..<\(range.upperBound), outside the headers, BAT and metadata; repair the file (replaying the log into it) first")
            }
        }
        if header.logLength > 0, header.logOffset + UInt64(header.logLength) > UInt64(fileSize) {
            warnings.append("the log (\(header.logLength) bytes at offset \(header.logOffset)) does not fit in the file of \(fileSize) bytes")
        }
    }

    /// Checks each table entry: known state, present blocks inside the file, past the header
    /// section, not overlapping the regions.
    private mutating func validateTable(_ fail: (String) -> VHDError) throws(VHDError) {
        let geometry = geometry
        let blockSize = UInt64(fileParameters.blockSize)
        let regions = [batRegion.fileRange!, metadataRegion.fileRange!]
        var reservedBitsSet = 0
        for block in 0..<geometry.payloadBlockCount {
            let entry = payloadEntry(block)
            if entry.reservedBits != 0 { reservedBitsSet += 1 }
            guard let state = entry.payloadState else {
                throw fail("BAT entry of block \(block) has state \(entry.stateBits), which the specification does not define")
            }
            switch state {
            case .fullyPresent, .partiallyPresent:
                if state == .partiallyPresent && !fileParameters.hasParent {
                    throw fail("block \(block) is partially present but the disk has no parent")
                }
                let blockStart = UInt64(block) * blockSize
                let used = min(blockSize, virtualSize - blockStart)
                let start = entry.fileOffset
                guard start >= 1 << 20, start <= UInt64(fileSize), used <= UInt64(fileSize) - start else {
                    throw fail("block \(block) occupies bytes \(start)..<\(start &+ used) of the file, outside \(1 << 20)..<\(fileSize)")
                }
                if let region = regions.first(where: { $0.overlaps(start..<(start + used)) }) {
                    throw fail("block \(block) at offset \(start) overlaps the region at \(region.lowerBound)")
                }
                if state == .partiallyPresent {
                    guard let bitmap = sectorBitmapEntry(forBlock: block), bitmap.sectorBitmapPresent else {
                        throw fail("block \(block) is partially present but its sector bitmap block is not")
                    }
                    let offset = bitmap.fileOffset
                    guard offset >= 1 << 20, offset <= UInt64(fileSize), 1 << 20 <= UInt64(fileSize) - offset else {
                        throw fail("the sector bitmap of block \(block) at offset \(offset) lies outside the file of \(fileSize) bytes")
                    }
                }
            default: break
            }
        }
        if reservedBitsSet > 0 { warnings.append("\(reservedBitsSet) BAT entries have reserved bits set") }
    }
}

/// Runs a parser of `VHDXFormat`, naming the file and the structure's offset in its error.
func parsingVHDX<T>(_ name: String, at offset: Int64, _ body: () throws(VHDXFormatError) -> T) throws(VHDError) -> T {
    do {
        return try body()
    } catch {
        throw VHDError(path: name, .vhdxFormat(error, offset: offset))
    }
}

/// Reads a file with the log's replayed writes applied.
struct ReplayedReader<Source: ByteSource> {
    let file: Source
    let replay: VHDXLog.Replay

    func bytes(at offset: Int64, count: Int) throws(VHDError) -> [UInt8] {
        var bytes: [UInt8]
        if replay.extendedSize > file.sizeInBytes, offset + Int64(count) > file.sizeInBytes {
            // Bytes past the end the log grows the file to read as zeros.
            let stored = max(0, min(Int64(count), file.sizeInBytes - offset))
            bytes = stored > 0 ? try file.bytes(at: offset, count: Int(stored)) : []
            bytes += [UInt8](repeating: 0, count: count - bytes.count)
        } else {
            bytes = try file.bytes(at: offset, count: count)
        }
        replay.apply(to: &bytes, at: offset)
        return bytes
    }
}
