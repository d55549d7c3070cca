import VHDXFormat

/// Writes a new VHDX into an ``OutputFile``: payload blocks as they come, then the metadata
/// once at the end, everything 1 MiB-aligned as Hyper-V lays it out.
///
/// Layout: file identifier at 0, headers at 64 and 128 KiB, region tables at 192 and 256 KiB,
/// an empty 1 MiB log at 1 MiB, the metadata region at 2 MiB (table, then the items from
/// 64 KiB), the BAT from 3 MiB (a whole number of MiB), then the blocks. A fixed disk has every
/// block fully present, in order; a dynamic one only the blocks holding a non-zero byte, in the
/// order written; a differencing child (made empty) has every block not present. The log is
/// clean (log GUID zero); zero parts of a block stay holes of the host file.
public struct VHDXImageWriter {
    /// Where a differencing child's parent is and who it is.
    public struct Parent: Sendable {
        /// The parent's data write GUID (a VHDX) or footer UUID bytes (a VHD).
        public var linkage: VHDXGUID
        /// The parent's path relative to the child's folder (the "relative_path" key).
        public var relativePath: String
        /// The parent's absolute path (the "absolute_win32_path" key).
        public var absolutePath: String

        /// Names a parent.
        ///
        /// - Parameters:
        ///   - linkage: The parent's data write GUID (a VHDX) or footer UUID bytes (a VHD).
        ///   - relativePath: The parent's path relative to the child's folder.
        ///   - absolutePath: The parent's absolute path.
        public init(linkage: VHDXGUID, relativePath: String, absolutePath: String) {
            self.linkage = linkage
            self.relativePath = relativePath
            self.absolutePath = absolutePath
        }
    }

    /// Hyper-V's default block size for dynamic and differencing disks.
    public static let defaultBlockSize: UInt32 = 32 << 20
    /// What the file type identifier names as creator.
    public static let creator = "vhdtool"

    /// The file being written; it appears at its destination when committed.
    public let output: OutputFile
    /// The virtual size, block size, logical sector size and parent flag of the new disk.
    public let geometry: VHDXGeometry
    /// Whether the disk is fixed: every block fully present, in order, and LeaveBlockAllocated set.
    public let fixed: Bool
    /// The parent of a differencing child; nil for a fixed or dynamic disk.
    public let parent: Parent?
    /// Table entries, payload and sector-bitmap entries interleaved.
    private var bat: [UInt64]
    private let batOffset: UInt64 = 3 << 20
    private let batLength: UInt64
    private var nextBlockOffset: UInt64

    /// The payload block size in bytes.
    public var blockSize: Int { Int(geometry.blockSize) }

    /// Prepares a new disk; nothing is written until blocks come or ``finish()``.
    ///
    /// - Throws: ``VHDError`` if the size is zero, over 64 TiB or not whole logical sectors,
    ///   the block size not a power of two from 1 to 256 MiB, or the sector size not 512 or 4096.
    public init(
        output: OutputFile, size: UInt64, blockSize: UInt32 = defaultBlockSize, logicalSectorSize: UInt32 = 512,
        fixed: Bool = false, parent: Parent? = nil
    ) throws(VHDError) {
        guard size > 0, size <= VHDXMetadataValue.maximumVirtualSize, logicalSectorSize == 512 || logicalSectorSize == 4096,
              size % UInt64(logicalSectorSize) == 0
        else {
            throw VHDError(path: output.destination.string, .refused(
                operation: "create a VHDX", reason: "a size of \(size) bytes in \(logicalSectorSize)-byte sectors is not possible (whole 512- or 4096-byte sectors, at most 64 TiB)"))
        }
        guard blockSize.nonzeroBitCount == 1, (VHDXFileParameters.minimumBlockSize...VHDXFileParameters.maximumBlockSize) ~= blockSize else {
            throw VHDError(path: output.destination.string, .refused(
                operation: "create a VHDX", reason: "a block size of \(blockSize) bytes is not possible (a power of two from 1 MiB to 256 MiB)"))
        }
        self.output = output
        self.fixed = fixed
        self.parent = parent
        geometry = VHDXGeometry(virtualSize: size, blockSize: blockSize, logicalSectorSize: logicalSectorSize, hasParent: parent != nil)
        bat = [UInt64](repeating: 0, count: geometry.entryCount)
        batLength = ((UInt64(geometry.entryCount) * 8 + (1 << 20) - 1) >> 20) << 20
        nextBlockOffset = batOffset + batLength
        if fixed {
            for block in 0..<geometry.payloadBlockCount {
                bat[geometry.payloadEntryIndex(block)] = VHDXBATEntry(state: 6, fileOffsetInMiB: (nextBlockOffset >> 20) + UInt64(block) * UInt64(blockSize >> 20)).rawValue
            }
        }
    }

    /// The file offset of block `block` of a fixed disk.
    func fixedOffset(_ block: Int) -> UInt64 { VHDXBATEntry(rawValue: bat[geometry.payloadEntryIndex(block)]).fileOffset }

    /// Writes payload block `block` from `data` (``blockSize`` bytes, or fewer for the last
    /// block), whose bytes outside `parts` are zeros. Only non-zero 64 KiB pieces of `parts`
    /// are written; an all-zero block of a dynamic disk is not allocated. Returns the bytes written.
    public mutating func writeBlock(_ block: Int, data: UnsafeRawBufferPointer, parts: [Range<Int>]) throws(VHDError) -> UInt64 {
        let granule = 64 << 10
        var pieces: [Range<Int>] = []
        for part in parts {
            var start = part.lowerBound / granule * granule
            while start < part.upperBound {
                let end = min(start + granule, data.count)
                if !ZeroDetection.isZero(UnsafeRawBufferPointer(rebasing: data[start..<end])) {
                    if let last = pieces.last, last.upperBound == start { pieces[pieces.count - 1] = last.lowerBound..<end } else { pieces.append(start..<end) }
                }
                start = end
            }
        }
        guard !pieces.isEmpty else { return 0 }
        let offset: UInt64
        if fixed {
            offset = fixedOffset(block)
        } else {
            offset = nextBlockOffset
            nextBlockOffset += UInt64(blockSize)
            bat[geometry.payloadEntryIndex(block)] = VHDXBATEntry(state: 6, fileOffsetInMiB: offset >> 20).rawValue
        }
        var written: UInt64 = 0
        for piece in pieces {
            try output.write(UnsafeRawBufferPointer(rebasing: data[piece]), at: Int64(offset) + Int64(piece.lowerBound))
            written += UInt64(piece.count)
        }
        return written
    }

    /// Writes the metadata: identifier, headers, region tables, metadata and BAT, and sets the
    /// file's size to the end of the last block.
    public func finish() throws(VHDError) {
        let end = fixed ? batOffset + batLength + UInt64(geometry.payloadBlockCount) * UInt64(blockSize) : nextBlockOffset
        try output.resize(to: Int64(end))
        try output.write(VHDXFileIdentifier(creator: Self.creator).serialized(), at: 0)
        let regions = VHDXRegionTable(entries: [
            .init(guid: VHDXRegionTable.batGUID, fileOffset: batOffset, length: UInt32(batLength), isRequired: true),
            .init(guid: VHDXRegionTable.metadataGUID, fileOffset: 2 << 20, length: 1 << 20, isRequired: true),
        ]).serialized()
        for offset in VHDXRegionTable.offsets { try output.write(regions, at: offset) }
        try output.write(metadataRegion(), at: 2 << 20)
        try output.write(VHDXBATEntry.serialized(bat), at: Int64(batOffset))
        let dataWrite = VHDXGUID.random()
        for (index, offset) in VHDXHeader.offsets.enumerated() {
            let header = VHDXHeader(
                sequenceNumber: UInt64(index + 1), fileWriteGUID: VHDXGUID.random(), dataWriteGUID: dataWrite,
                logGUID: .zero, logLength: 1 << 20, logOffset: 1 << 20)
            try output.write(header.serialized(), at: offset)
        }
    }

    /// The metadata region's bytes: the table and the items from 64 KiB.
    func metadataRegion() -> [UInt8] {
        var items: [(VHDXGUID, [UInt8], Bool)] = [
            (VHDXMetadataTable.fileParametersGUID, VHDXFileParameters(blockSize: geometry.blockSize, leaveBlockAllocated: fixed, hasParent: parent != nil).serialized(), false),
            (VHDXMetadataTable.virtualDiskSizeGUID, VHDXMetadataValue.serialized(geometry.virtualSize), true),
            (VHDXMetadataTable.virtualDiskIdGUID, VHDXGUID.random().storedBytes, true),
            (VHDXMetadataTable.logicalSectorSizeGUID, VHDXMetadataValue.serialized(geometry.logicalSectorSize), true),
            (VHDXMetadataTable.physicalSectorSizeGUID, VHDXMetadataValue.serialized(UInt32(4096)), true),
        ]
        if let parent {
            let locator = VHDXParentLocator(entries: [
                ("parent_linkage", "{\(parent.linkage.description.lowercased())}"), ("relative_path", parent.relativePath),
                ("absolute_win32_path", parent.absolutePath),
            ])
            items.append((VHDXMetadataTable.parentLocatorGUID, locator.serialized(), false))
        }
        var entries: [VHDXMetadataTable.Entry] = []
        var data: [UInt8] = []
        for (guid, bytes, isVirtualDisk) in items {
            entries.append(.init(itemId: guid, offset: UInt32(VHDXMetadataTable.size + data.count), length: UInt32(bytes.count), isVirtualDisk: isVirtualDisk))
            data += bytes
            data += [UInt8](repeating: 0, count: (8 - data.count % 8) % 8)
        }
        return VHDXMetadataTable(entries: entries).serialized() + data
    }
}
