import VHDXFormat

/// Everything `vhdtool inspect` tells about one VHDX, as plain values ready for JSON.
///
/// Key names are part of the command-line interface: scripts read them.
public struct VHDXInspectionReport: Codable, Sendable, Equatable {
    /// One of the two headers as found in the file.
    public struct Header: Codable, Sendable, Equatable {
        /// File offset of the header in bytes: 65536 or 131072.
        public var offset: Int64
        /// Whether the header parsed; when false, ``problem`` says why and the other fields are nil.
        public var valid: Bool
        /// Whether this is the header in use: the valid one with the higher sequence number.
        public var current: Bool
        /// Why the header was not used; nil when it parsed.
        public var problem: String?
        /// The header's sequence number (header offset 8); nil when the header is not valid.
        public var sequenceNumber: UInt64?
        /// The CRC-32C stored at header offset 4; nil when the header is not valid.
        public var checksum: UInt32?
        /// The CRC-32C of the header's 4 KiB; nil when the header is not valid.
        public var computedChecksum: UInt32?
        /// The file write GUID (header offset 16); nil when the header is not valid.
        public var fileWriteGuid: String?
        /// The data write GUID (header offset 32); nil when the header is not valid.
        public var dataWriteGuid: String?
        /// The log GUID (header offset 48), all zeros when the log is empty; nil when the header is not valid.
        public var logGuid: String?
        /// File offset of the log in bytes (header offset 72); nil when the header is not valid.
        public var logOffset: UInt64?
        /// Bytes of the log (header offset 68); nil when the header is not valid.
        public var logLength: UInt32?
    }

    /// One entry of a region table.
    public struct Region: Codable, Sendable, Equatable {
        /// The region's GUID.
        public var guid: String
        /// "bat", "metadata" or nil for a region this reader does not know.
        public var name: String?
        /// File offset of the region in bytes.
        public var fileOffset: UInt64
        /// Bytes of the region.
        public var length: UInt32
        /// Whether a reader that does not know the region must refuse the file.
        public var required: Bool
    }

    /// One of the two region tables as found in the file.
    public struct RegionTable: Codable, Sendable, Equatable {
        /// File offset of the table in bytes: 196608 or 262144.
        public var offset: Int64
        /// Whether the table parsed; when false, ``problem`` says why.
        public var valid: Bool
        /// Why the table was not used; nil when it parsed.
        public var problem: String?
        /// The CRC-32C stored at table offset 4; nil when the table is not valid.
        public var checksum: UInt32?
        /// The CRC-32C of the table's 64 KiB; nil when the table is not valid.
        public var computedChecksum: UInt32?
        /// The table's entries in stored order; empty when the table is not valid.
        public var regions: [Region]
    }

    /// One entry of the metadata table.
    public struct MetadataItem: Codable, Sendable, Equatable {
        /// The item's GUID.
        public var itemId: String
        /// The system item's name, e.g. "file parameters"; nil for a user item or one this reader does not know.
        public var name: String?
        /// Offset of the item in bytes from the start of the metadata region.
        public var offset: UInt32
        /// Bytes of the item.
        public var length: UInt32
        /// Whether it is a user item (flag bit 0).
        public var isUser: Bool
        /// Whether it describes the virtual disk rather than the file (flag bit 1).
        public var isVirtualDisk: Bool
        /// Whether a reader that does not know it must refuse the file (flag bit 2).
        public var isRequired: Bool
    }

    /// The parent locator item of a differencing disk.
    public struct ParentLocator: Codable, Sendable, Equatable {
        /// The locator type GUID.
        public var locatorType: String
        /// The keys in stored order, e.g. "parent_linkage", "relative_path".
        public var keys: [String]
        /// The values, in the order of ``keys``.
        public var values: [String]
    }

    /// One payload block's table entry, listed with `--bat`.
    public struct BlockEntry: Codable, Sendable, Equatable {
        /// The payload block's index, from 0.
        public var block: Int
        /// The payload state in words ("fully present", "zero", ...) or "state N" for an undefined value.
        public var state: String
        /// File offset of the block in bytes; nil unless the block is fully or partially present.
        public var fileOffset: UInt64?
    }

    /// The image's name as the caller gave it to ``init(layout:path:includeTable:)``.
    public var path: String
    /// "vhdx" (``ImageFormat/vhdx``) in every report ``init(layout:path:includeTable:)`` makes.
    public var format: String
    /// "fixed", "dynamic" or "differencing".
    public var diskType: String
    /// The virtual disk size in bytes (virtual disk size metadata item).
    public var virtualSize: UInt64
    /// Size of the file in bytes.
    public var fileSize: Int64
    /// The creator named in the file type identifier (file offset 8), e.g. "Microsoft Windows 10.0.18363.0".
    public var creator: String
    /// The payload block size in bytes (file parameters), 1 MiB to 256 MiB.
    public var blockSize: UInt32
    /// The logical sector size in bytes: 512 or 4096.
    public var logicalSectorSize: UInt32
    /// The physical sector size in bytes: 512 or 4096.
    public var physicalSectorSize: UInt32
    /// The virtual disk id GUID (virtual disk id metadata item).
    public var virtualDiskId: String
    /// The LeaveBlockAllocated flag of the file parameters: set for a fixed disk.
    public var leaveBlockAllocated: Bool
    /// The HasParent flag of the file parameters: set for a differencing disk.
    public var hasParent: Bool
    /// Payload blocks covered by one sector-bitmap block.
    public var chunkRatio: Int
    /// Payload blocks of the virtual disk.
    public var payloadBlocks: Int
    /// Entries of the block allocation table, payload and sector-bitmap entries together.
    public var batEntries: Int
    /// Payload blocks per state ("fully present", "zero", ...).
    public var blockStates: [String: Int]
    /// Both headers, at 64 KiB and 128 KiB, in file order.
    public var headers: [Header]
    /// Both region tables, at 192 KiB and 256 KiB, in file order.
    public var regionTables: [RegionTable]
    /// File offset of the metadata region in bytes.
    public var metadataOffset: UInt64
    /// The metadata table's entries in stored order.
    public var metadataItems: [MetadataItem]
    /// The parent locator; nil unless the disk is differencing.
    public var parent: ParentLocator?
    /// "empty", or what the log holds.
    public var log: String
    /// Whether the log held entries to replay (they were replayed in memory, not written).
    public var logDirty: Bool
    /// With `--bat`: one entry per payload block.
    public var bat: [BlockEntry]?
    /// Always false: Azure accepts only fixed VHDs, and ``warnings`` says so.
    public var azureReady: Bool
    /// What is inside the disk; nil when it could not be read.
    public var layout: DiskLayout?
    /// The image's tag record (sidecar), its staleness and contradictions; nil when untagged.
    public var tag: TagReport?
    /// Everything odd that did not stop the image from being read, as sentences: the layout's
    /// ``VHDXLayout/warnings``, then why Azure would refuse the image.
    public var warnings: [String]

    /// Builds the report of a validated layout.
    public init(layout: VHDXLayout, path: String, includeTable: Bool = false) {
        self.path = path
        format = ImageFormat.vhdx.rawValue
        diskType = layout.diskKind.rawValue
        virtualSize = layout.virtualSize
        fileSize = layout.fileSize
        creator = layout.creator
        blockSize = layout.fileParameters.blockSize
        logicalSectorSize = layout.logicalSectorSize
        physicalSectorSize = layout.physicalSectorSize
        virtualDiskId = layout.virtualDiskId.description
        leaveBlockAllocated = layout.fileParameters.leaveBlockAllocated
        hasParent = layout.fileParameters.hasParent
        let geometry = layout.geometry
        chunkRatio = geometry.chunkRatio
        payloadBlocks = geometry.payloadBlockCount
        batEntries = geometry.entryCount
        var states: [String: Int] = [:]
        var entries: [BlockEntry] = []
        for block in 0..<geometry.payloadBlockCount {
            let entry = layout.payloadEntry(block)
            let name = entry.payloadState?.description ?? "state \(entry.stateBits)"
            states[name, default: 0] += 1
            if includeTable {
                let stored = entry.payloadState == .fullyPresent || entry.payloadState == .partiallyPresent
                entries.append(BlockEntry(block: block, state: name, fileOffset: stored ? entry.fileOffset : nil))
            }
        }
        blockStates = states
        bat = includeTable ? entries : nil
        headers = layout.headers.enumerated().map { index, copy in
            let header = copy.value
            return Header(
                offset: copy.offset, valid: header != nil, current: index == layout.currentHeaderIndex, problem: copy.problem,
                sequenceNumber: header?.sequenceNumber, checksum: header?.checksum, computedChecksum: header?.computedChecksum,
                fileWriteGuid: header?.fileWriteGUID.description, dataWriteGuid: header?.dataWriteGUID.description,
                logGuid: header?.logGUID.description, logOffset: header?.logOffset, logLength: header?.logLength)
        }
        regionTables = layout.regionTables.map { copy in
            RegionTable(
                offset: copy.offset, valid: copy.value != nil, problem: copy.problem, checksum: copy.value?.checksum,
                computedChecksum: copy.value?.computedChecksum,
                regions: (copy.value?.entries ?? []).map { entry in
                    Region(
                        guid: entry.guid.description,
                        name: entry.guid == VHDXRegionTable.batGUID ? "bat" : entry.guid == VHDXRegionTable.metadataGUID ? "metadata" : nil,
                        fileOffset: entry.fileOffset, length: entry.length, required: entry.isRequired)
                })
        }
        metadataOffset = layout.metadataRegion.fileOffset
        metadataItems = layout.metadataTable.entries.map {
            MetadataItem(
                itemId: $0.itemId.description, name: $0.isUser ? nil : $0.knownName, offset: $0.offset, length: $0.length,
                isUser: $0.isUser, isVirtualDisk: $0.isVirtualDisk, isRequired: $0.isRequired)
        }
        parent = layout.parentLocator.map {
            ParentLocator(locatorType: $0.locatorType.description, keys: $0.entries.map(\.key), values: $0.entries.map(\.value))
        }
        log = layout.log.description
        if case .replayable = layout.log { logDirty = true } else { logDirty = false }
        azureReady = false
        warnings = layout.warnings + ["not Azure-ready: Azure accepts only fixed VHDs; this is a VHDX (converting it into a fixed VHD makes one)"]
    }
}
