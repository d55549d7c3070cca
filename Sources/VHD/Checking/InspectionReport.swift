import VHDFormat

/// Everything `vhdtool inspect` tells about one VHD, as plain values ready for JSON.
///
/// Key names are part of the command-line interface: scripts read them.
public struct InspectionReport: Codable, Sendable, Equatable {
    public struct Geometry: Codable, Sendable, Equatable {
        public var cylinders: UInt16
        public var heads: UInt8
        public var sectorsPerTrack: UInt8
    }

    /// A checksummed structure: where it is and whether its checksum is right.
    public struct Checksummed: Codable, Sendable, Equatable {
        public var offset: Int64
        public var checksum: UInt32
        public var computedChecksum: UInt32
        public var checksumValid: Bool
    }

    public struct Locator: Codable, Sendable, Equatable {
        public var index: Int
        public var platformCode: String
        public var path: String?
        public var dataOffset: UInt64
        public var dataLength: UInt32
        public var dataSpace: UInt64
    }

    public struct Parent: Codable, Sendable, Equatable {
        public var name: String
        public var uuid: String
        public var timestamp: String
        public var locators: [Locator]
    }

    public var path: String
    public var format: String
    public var diskType: String
    /// The footer's current size in bytes.
    public var virtualSize: UInt64
    /// Bytes the CHS geometry addresses.
    public var chsSize: UInt64
    /// Bytes qemu-img reads for this image (it prefers CHS for creators it does not know).
    public var qemuVirtualSize: UInt64
    public var originalSize: UInt64
    public var geometry: Geometry
    public var fileSize: Int64
    public var creatorApplication: String
    public var creatorVersion: String
    public var creatorHostOS: String
    public var uniqueId: String
    public var timestamp: String
    public var savedState: Bool
    public var features: UInt32
    public var formatVersion: String
    public var dataOffset: UInt64
    /// "end", "legacyEnd" or "copyAtStart".
    public var footerLocation: String
    public var footer: Checksummed
    public var footerCopy: Checksummed?
    public var blockSize: UInt32?
    public var maxTableEntries: UInt32?
    public var allocatedBlocks: Int?
    public var tableOffset: UInt64?
    public var sectorBitmapSize: Int?
    public var header: Checksummed?
    public var parent: Parent?
    /// With `--bat`: one entry per block, the sector number of its bitmap, null if unallocated.
    public var bat: [UInt32?]?
    public var azureReady: Bool
    /// What is inside the disk (read through its chain); nil when it could not be read (a
    /// warning then says why).
    public var layout: DiskLayout?
    /// The image's tag record (sidecar), its staleness and contradictions; nil when untagged.
    public var tag: TagReport?
    public var warnings: [String]

    /// Builds the report of a validated layout.
    ///
    /// - Parameters:
    ///   - layout: the image's layout, read with whatever checksum policy the caller chose.
    ///   - path: the name to show.
    ///   - includeTable: whether to list every BAT entry.
    public init(layout: VHDLayout, path: String, includeTable: Bool = false) {
        let footer = layout.footer
        self.path = path
        format = ImageFormat.vhd.rawValue
        diskType = footer.diskType.description
        virtualSize = footer.currentSize
        chsSize = footer.geometry.sizeInBytes
        qemuVirtualSize = QEMUSizeRule.virtualSize(of: footer)
        originalSize = footer.originalSize
        geometry = Geometry(
            cylinders: footer.geometry.cylinders, heads: footer.geometry.heads,
            sectorsPerTrack: footer.geometry.sectorsPerTrack)
        fileSize = layout.fileSize
        creatorApplication = footer.creatorApplication.description
        creatorVersion = footer.creatorVersionText
        creatorHostOS = footer.creatorHostOS.description
        uniqueId = footer.uniqueId.description
        timestamp = footer.timestamp.description
        savedState = footer.savedState != 0
        features = footer.features
        formatVersion = "\(footer.formatVersion >> 16).\(footer.formatVersion & 0xFFFF)"
        dataOffset = footer.dataOffset
        footerLocation = layout.footerLocation.rawValue
        self.footer = Checksummed(
            offset: layout.footerOffset, checksum: footer.checksum, computedChecksum: footer.computedChecksum,
            checksumValid: footer.checksumIsValid)
        footerCopy = layout.footerCopy.map {
            Checksummed(offset: 0, checksum: $0.checksum, computedChecksum: $0.computedChecksum, checksumValid: $0.checksumIsValid)
        }
        if let dynamic = layout.dynamic {
            let header = dynamic.header
            blockSize = header.blockSize
            maxTableEntries = header.maxTableEntries
            allocatedBlocks = dynamic.allocatedBlockCount
            tableOffset = header.tableOffset
            sectorBitmapSize = dynamic.sectorBitmapSize
            self.header = Checksummed(
                offset: dynamic.headerOffset, checksum: header.checksum, computedChecksum: header.computedChecksum,
                checksumValid: header.checksumIsValid)
            if footer.diskType == .differencing {
                parent = Parent(
                    name: header.parentName, uuid: header.parentUniqueId.description,
                    timestamp: header.parentTimestamp.description,
                    locators: dynamic.locators.map {
                        Locator(
                            index: $0.index, platformCode: $0.locator.platformCode.description, path: $0.path,
                            dataOffset: $0.locator.platformDataOffset, dataLength: $0.locator.platformDataLength,
                            dataSpace: $0.locator.dataSpaceInBytes)
                    })
            }
            if includeTable {
                bat = dynamic.table.entries.map { $0 == BlockAllocationTable.unallocated ? nil : $0 }
            }
        }
        let azureProblems = AzureReadiness.problems(with: layout)
        azureReady = azureProblems.isEmpty
        warnings = layout.warnings.map(\.description)
            + azureProblems.map { VHDWarning.notAzureReady(reason: $0).description }
    }
}
