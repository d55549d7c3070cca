import VHDFormat

/// Everything `vhdtool inspect` tells about one VHD, as plain values ready for JSON.
///
/// Key names are part of the command-line interface: scripts read them.
public struct InspectionReport: Codable, Sendable, Equatable {
    /// The footer's cylinders, heads and sectors per track (footer offset 56), as three numbers.
    public struct Geometry: Codable, Sendable, Equatable {
        /// Number of cylinders, from footer offset 56.
        public var cylinders: UInt16
        /// Heads per cylinder, from footer offset 58.
        public var heads: UInt8
        /// Sectors per track, from footer offset 59.
        public var sectorsPerTrack: UInt8
    }

    /// A checksummed structure: where it is and whether its checksum is right.
    public struct Checksummed: Codable, Sendable, Equatable {
        /// Absolute file offset of the structure: where the footer in use was found, 0 for the
        /// footer copy, the footer's data offset for the dynamic header.
        public var offset: Int64
        /// The checksum as stored (footer offset 64, header offset 36), which need not be right.
        public var checksum: UInt32
        /// The checksum the structure's other bytes call for (one's complement of their sum).
        public var computedChecksum: UInt32
        /// Whether ``checksum`` equals ``computedChecksum``.
        public var checksumValid: Bool
    }

    /// One non-empty parent locator entry of a differencing disk's header, with its decoded path.
    public struct Locator: Codable, Sendable, Equatable {
        /// Position of the entry among the header's eight (0...7); entry n is at header offset
        /// 576 + 24n.
        public var index: Int
        /// The platform code as four characters (entry offset 0), e.g. "W2ku", "W2ru" or "MacX".
        public var platformCode: String
        /// The path the entry holds, decoded; nil for platform codes whose data is not text ("Mac "
        /// aliases, unknown codes).
        public var path: String?
        /// Absolute file offset of the path (entry offset 16).
        public var dataOffset: UInt64
        /// Length of the path in bytes (entry offset 8).
        public var dataLength: UInt32
        /// Space reserved for the path in bytes (entry offset 4, read as sectors when under 512;
        /// see `ParentLocator.dataSpaceInBytes`).
        public var dataSpace: UInt64
    }

    /// What a differencing disk's header says about its parent.
    public struct Parent: Codable, Sendable, Equatable {
        /// The parent's file name, from header offset 64 (`DynamicHeader.parentName`).
        public var name: String
        /// The unique ID the parent's footer must carry, from header offset 40: lower-case hex,
        /// 8-4-4-4-12, in stored byte order.
        public var uuid: String
        /// The parent's modification time recorded when the child was made (header offset 56),
        /// ISO 8601 in UTC, e.g. "2014-02-21T13:35:38Z".
        public var timestamp: String
        /// The non-empty locator entries, in header order.
        public var locators: [Locator]
    }

    /// The image's name as the caller gave it to ``init(layout:path:includeTable:)``.
    public var path: String
    /// "vhd" (``ImageFormat/vhd``) in every report ``init(layout:path:includeTable:)`` makes.
    public var format: String
    /// The footer's disk type (offset 60): "fixed", "dynamic" or "differencing".
    public var diskType: String
    /// The footer's current size in bytes.
    public var virtualSize: UInt64
    /// Bytes the CHS geometry addresses.
    public var chsSize: UInt64
    /// Bytes qemu-img reads for this image (it prefers CHS for creators it does not know).
    public var qemuVirtualSize: UInt64
    /// The footer's original size in bytes (offset 40): the virtual size when the disk was created.
    public var originalSize: UInt64
    /// The footer's CHS geometry (offset 56); ``chsSize`` is what it addresses.
    public var geometry: Geometry
    /// Size of the file in bytes.
    public var fileSize: Int64
    /// The footer's creator application (offset 28) as four characters, e.g. "qemu", "win " or
    /// "tap\x00" (a byte that is not printable ASCII shows as `\xNN`).
    public var creatorApplication: String
    /// The creator application's version (footer offset 32) as "major.minor", e.g. "5.3".
    public var creatorVersion: String
    /// The footer's creator host OS (offset 36) as four characters, "Wi2k" or "Mac ".
    public var creatorHostOS: String
    /// The footer's unique ID (offset 68): lower-case hex, 8-4-4-4-12, in stored byte order.
    public var uniqueId: String
    /// The footer's creation time (offset 24), ISO 8601 in UTC, e.g. "2014-02-21T13:35:38Z".
    public var timestamp: String
    /// Whether the footer's saved-state byte (offset 84) is non-zero: a virtual machine's saved
    /// state depends on the disk.
    public var savedState: Bool
    /// The footer's feature flags (offset 8) as stored: 2 (`Footer.reservedFeatureBit`) in a
    /// conforming image, plus 1 for a temporary disk.
    public var features: UInt32
    /// The footer's format version (offset 12) as "major.minor"; "1.0" is the only version there is.
    public var formatVersion: String
    /// The footer's data offset (offset 16): the dynamic header's file offset, or all ones
    /// (18446744073709551615) for a fixed disk.
    public var dataOffset: UInt64
    /// "end", "legacyEnd" or "copyAtStart".
    public var footerLocation: String
    /// Where the footer in use is and whether its checksum is right.
    public var footer: Checksummed
    /// The copy of the footer at offset 0 and its checksum; nil when offset 0 holds no footer
    /// that parses as a dynamic or differencing one (always nil for a fixed disk).
    public var footerCopy: Checksummed?
    /// Bytes of disk data per block (header offset 32); nil for a fixed disk.
    public var blockSize: UInt32?
    /// Number of BAT entries the header declares (header offset 28); nil for a fixed disk.
    public var maxTableEntries: UInt32?
    /// Number of blocks the BAT places in this file (entries that are not 0xFFFFFFFF); nil for a
    /// fixed disk.
    public var allocatedBlocks: Int?
    /// Absolute file offset of the block allocation table (header offset 16); nil for a fixed disk.
    public var tableOffset: UInt64?
    /// Bytes of sector bitmap in front of each block's data: one bit per sector, padded to 512; nil
    /// for a fixed disk.
    public var sectorBitmapSize: Int?
    /// Where the dynamic disk header is and whether its checksum is right; nil for a fixed disk.
    public var header: Checksummed?
    /// The parent as the header names it; nil unless the disk is differencing.
    public var parent: Parent?
    /// With `--bat`: one entry per block, the sector number of its bitmap, null if unallocated.
    public var bat: [UInt32?]?
    /// Whether Azure would accept the image as it is (``AzureReadiness/problems(with:)`` finds
    /// nothing); otherwise ``warnings`` says why not.
    public var azureReady: Bool
    /// What is inside the disk (read through its chain); nil when it could not be read (a
    /// warning then says why).
    public var layout: DiskLayout?
    /// The image's tag record (sidecar), its staleness and contradictions; nil when untagged.
    public var tag: TagReport?
    /// Everything odd that did not stop the image from being read, as sentences: the layout's
    /// ``VHDLayout/warnings``, then each reason Azure would refuse the image.
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
