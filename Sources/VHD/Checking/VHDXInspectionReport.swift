import VHDXFormat

/// Everything `vhdtool inspect` tells about one VHDX, as plain values ready for JSON.
///
/// Key names are part of the command-line interface: scripts read them.
public struct VHDXInspectionReport: Codable, Sendable, Equatable {
    public struct Header: Codable, Sendable, Equatable {
        public var offset: Int64
        public var valid: Bool
        public var current: Bool
        public var problem: String?
        public var sequenceNumber: UInt64?
        public var checksum: UInt32?
        public var computedChecksum: UInt32?
        public var fileWriteGuid: String?
        public var dataWriteGuid: String?
        public var logGuid: String?
        public var logOffset: UInt64?
        public var logLength: UInt32?
    }

    public struct Region: Codable, Sendable, Equatable {
        public var guid: String
        /// "bat", "metadata" or nil for a region this reader does not know.
        public var name: String?
        public var fileOffset: UInt64
        public var length: UInt32
        public var required: Bool
    }

    public struct RegionTable: Codable, Sendable, Equatable {
        public var offset: Int64
        public var valid: Bool
        public var problem: String?
        public var checksum: UInt32?
        public var computedChecksum: UInt32?
        public var regions: [Region]
    }

    public struct MetadataItem: Codable, Sendable, Equatable {
        public var itemId: String
        public var name: String?
        public var offset: UInt32
        public var length: UInt32
        public var isUser: Bool
        public var isVirtualDisk: Bool
        public var isRequired: Bool
    }

    public struct ParentLocator: Codable, Sendable, Equatable {
        public var locatorType: String
        public var keys: [String]
        public var values: [String]
    }

    public struct BlockEntry: Codable, Sendable, Equatable {
        public var block: Int
        public var state: String
        public var fileOffset: UInt64?
    }

    public var path: String
    public var format: String
    /// "fixed", "dynamic" or "differencing".
    public var diskType: String
    public var virtualSize: UInt64
    public var fileSize: Int64
    public var creator: String
    public var blockSize: UInt32
    public var logicalSectorSize: UInt32
    public var physicalSectorSize: UInt32
    public var virtualDiskId: String
    public var leaveBlockAllocated: Bool
    public var hasParent: Bool
    public var chunkRatio: Int
    public var payloadBlocks: Int
    public var batEntries: Int
    /// Payload blocks per state ("fully present", "zero", ...).
    public var blockStates: [String: Int]
    public var headers: [Header]
    public var regionTables: [RegionTable]
    public var metadataOffset: UInt64
    public var metadataItems: [MetadataItem]
    public var parent: ParentLocator?
    /// "empty", or what the log holds.
    public var log: String
    public var logDirty: Bool
    /// With `--bat`: one entry per payload block.
    public var bat: [BlockEntry]?
    public var azureReady: Bool
    /// What is inside the disk; nil when it could not be read.
    public var layout: DiskLayout?
    public var tag: TagReport?
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
