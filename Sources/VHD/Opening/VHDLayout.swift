import VHDFormat

#if canImport(Glibc)
import Glibc
#endif

/// Where an image's footer was found.
public enum FooterLocation: String, Sendable, Equatable {
    /// The last 512 bytes of the file.
    case end
    /// The last 511 bytes of a file whose size is 512n + 511.
    case legacyEnd
    /// The copy at offset 0, used because the end holds no usable footer.
    case copyAtStart
}

/// The validated metadata of one VHD file: footer, and for dynamic and differencing disks the
/// header, the block allocation table and the parent locators, checked against each other and
/// against the file's size.
///
/// Reading it reads a bounded number of bytes: two footers, the header, the BAT in one read and
/// the locators' paths. Nothing in it points outside the file.
public struct VHDLayout: Sendable, Equatable {
    /// Size of the file in bytes.
    public var fileSize: Int64
    /// The footer in use (from the end, or recovered from the copy at offset 0).
    public var footer: Footer
    /// Where the footer in use was found.
    public var footerLocation: FooterLocation
    /// File offset of the footer in use.
    public var footerOffset: Int64
    /// The copy at offset 0, if the file has one that parses.
    public var footerCopy: Footer?
    /// Header, BAT and locators of a dynamic or differencing disk; nil for a fixed disk.
    public var dynamic: DynamicLayout?
    /// Everything odd that did not stop the image from being read, in the order found.
    public var warnings: [VHDWarning]

    /// The virtual size in bytes: the footer's current size.
    public var virtualSize: UInt64 { footer.currentSize }
    /// The footer's disk type (footer offset 60): fixed, dynamic or differencing.
    public var diskType: DiskType { footer.diskType }
}

/// The parts of a dynamic or differencing disk that the footer points to.
public struct DynamicLayout: Sendable, Equatable {
    /// File offset of the dynamic header.
    public var headerOffset: Int64
    /// The dynamic header found at ``headerOffset``.
    public var header: DynamicHeader
    /// The BAT entries that the virtual size uses (extra stored entries are not kept).
    public var table: BlockAllocationTable
    /// The non-empty parent locators with their decoded paths.
    public var locators: [LocatedParentPath]

    /// Bytes of virtual disk per block.
    public var blockSize: Int { Int(header.blockSize) }
    /// Bytes of sector bitmap in front of each block's data.
    public var sectorBitmapSize: Int { header.sectorBitmapSizeInBytes }
    /// Number of blocks with storage in this file.
    public var allocatedBlockCount: Int

    /// Collects the parts of a dynamic or differencing disk and counts its allocated blocks.
    ///
    /// - Parameters:
    ///   - headerOffset: File offset of the dynamic header in bytes.
    ///   - header: The dynamic header.
    ///   - table: The BAT entries the virtual size uses.
    ///   - locators: The non-empty parent locators with their decoded paths.
    public init(headerOffset: Int64, header: DynamicHeader, table: BlockAllocationTable, locators: [LocatedParentPath]) {
        self.headerOffset = headerOffset
        self.header = header
        self.table = table
        self.locators = locators
        allocatedBlockCount = table.allocatedCount
    }

    /// ``init(headerOffset:header:table:locators:)`` with the allocated blocks already counted
    /// (by the reader's one pass over the table).
    init(headerOffset: Int64, header: DynamicHeader, table: BlockAllocationTable, locators: [LocatedParentPath], allocatedBlockCount: Int) {
        self.headerOffset = headerOffset
        self.header = header
        self.table = table
        self.locators = locators
        self.allocatedBlockCount = allocatedBlockCount
    }
}

/// A non-empty parent locator entry and the path it holds.
public struct LocatedParentPath: Sendable, Equatable {
    /// Index of the entry among the header's eight.
    public var index: Int
    /// The entry as stored in the header.
    public var locator: ParentLocator
    /// The decoded path; nil for platform codes whose data is not text.
    public var path: String?
}

/// How much an opener trusts what it reads.
public struct OpenOptions: Sendable, Equatable {
    /// `.verify` refuses wrong checksums (the default for every operation that trusts the
    /// structure); `.ignore` reports them as warnings.
    public var checksumPolicy: ChecksumPolicy
    /// The time against which creation times are judged "in the future" (Unix seconds); nil
    /// skips that check.
    public var nowInUnixSeconds: Int64?

    /// Makes options that refuse wrong checksums and skip the creation-time check by default.
    ///
    /// - Parameters:
    ///   - checksumPolicy: `.verify` to refuse wrong checksums, `.ignore` to report them as warnings.
    ///   - nowInUnixSeconds: The time against which creation times are judged, in seconds since
    ///     1970-01-01T00:00:00Z; nil skips that check.
    public init(checksumPolicy: ChecksumPolicy = .verify, nowInUnixSeconds: Int64? = nil) {
        self.checksumPolicy = checksumPolicy
        self.nowInUnixSeconds = nowInUnixSeconds
    }
}

extension VHDLayout {
    /// Smallest and largest block sizes accepted: 512 bytes (one sector) to 256 MiB.
    public static let blockSizeRange: ClosedRange<UInt32> = 512...(256 << 20)
    /// Longest parent locator path accepted, in bytes (32,768 UTF-16 code units).
    public static let maximumLocatorLength: UInt32 = 65536

    /// Reads and validates the metadata of the VHD in `source`.
    ///
    /// - Throws: ``VHDError`` naming what was found and where: no footer, a structure that does
    ///   not parse, a checksum refused under `.verify`, or anything pointing outside the file or
    ///   into other structures.
    public init(reading source: some ByteSource, options: OpenOptions = OpenOptions()) throws(VHDError) {
        var reader = LayoutReader(source: source, options: options)
        self = try reader.read()
    }
}

/// Reads one layout; holds the source and collects warnings while it goes.
private struct LayoutReader<Source: ByteSource> {
    let source: Source
    let options: OpenOptions
    var warnings: [VHDWarning] = []

    init(source: Source, options: OpenOptions) {
        self.source = source
        self.options = options
    }

    var fileSize: Int64 { source.sizeInBytes }

    func error(_ kind: VHDError.Kind) -> VHDError { VHDError(path: source.name, kind) }

    /// ``readFooters()``, whose "no footer" names gzip when the file is gzip-compressed data:
    /// readers given such a file directly (not through ``Disk`` or ``DiskImage``, which
    /// decompress it) say what it is and how to read it.
    mutating func readFootersNamingGzip() throws(VHDError)
        -> (Footer, FooterLocation, Int64, copy: Footer?, dataAreaEnd: Int64)
    {
        do {
            return try readFooters()
        } catch {
            guard case .notAVHD = error.kind, try GzipDecompression.isCompressed(source) else { throw error }
            throw self.error(.notAVHD(reason: ImageFormat.gzipReason))
        }
    }

    mutating func read() throws(VHDError) -> VHDLayout {
        let (footer, location, footerOffset, copy, dataAreaEnd) = try readFootersNamingGzip()
        try checkChecksum(.footer, offset: footerOffset, stored: footer.checksum, computed: footer.computedChecksum)
        checkFooterFields(footer)

        var layout = VHDLayout(
            fileSize: fileSize, footer: footer, footerLocation: location, footerOffset: footerOffset,
            footerCopy: copy, dynamic: nil, warnings: [])
        switch footer.diskType {
        case .fixed:
            try checkFixedData(footer, dataAreaEnd: dataAreaEnd)
        case .dynamic, .differencing:
            layout.dynamic = try readDynamic(footer, hasCopy: copy != nil, dataAreaEnd: dataAreaEnd)
        }
        layout.warnings = warnings
        return layout
    }

    // MARK: Footers

    /// Finds the footer: at the end (512 or 511 bytes), else the copy at offset 0.
    ///
    /// - Returns: the footer in use, where it was found, the copy at offset 0 if it parses, and
    ///   where the data area ends: before the end footer when the end holds a "conectix"
    ///   cookie, else at the end of the file (a truncated file, or a zeroed footer).
    mutating func readFooters() throws(VHDError)
        -> (Footer, FooterLocation, Int64, copy: Footer?, dataAreaEnd: Int64)
    {
        guard fileSize >= Int64(Footer.legacySize) else {
            throw error(.notAVHD(reason: "the file has \(fileSize) bytes, fewer than a 512-byte footer"))
        }
        // The end: a full footer, or a legacy 511-byte one when the size is 512n + 511.
        var endResult: Result<Footer, VHDFormatError>?
        var endLocation = FooterLocation.end
        var endOffset = fileSize - Int64(Footer.size)
        if fileSize % 512 == 511 {
            let tail = try source.bytes(at: fileSize - Int64(Footer.legacySize), count: Footer.legacySize)
            if ImageFormat.hasCookie(tail, at: 0) {
                endLocation = .legacyEnd
                endOffset = fileSize - Int64(Footer.legacySize)
                endResult = parseFooter(tail)
            }
        }
        if endResult == nil, fileSize >= Int64(Footer.size) {
            let tail = try source.bytes(at: endOffset, count: Footer.size)
            if ImageFormat.hasCookie(tail, at: 0) { endResult = parseFooter(tail) }
        }

        // The copy at offset 0 (only dynamic and differencing disks have one).
        var copy: Footer?
        var copyProblem = "offset 0 holds no \"conectix\" cookie"
        if fileSize >= Int64(Footer.size) {
            let head = try source.bytes(at: 0, count: Footer.size)
            if ImageFormat.hasCookie(head, at: 0) {
                switch parseFooter(head) {
                case let .success(footer) where footer.diskType != .fixed: copy = footer
                case .success: copyProblem = "the copy at offset 0 says the disk is fixed"
                case let .failure(failure): copyProblem = failure.description
                }
            }
        }

        switch endResult {
        case let .success(end):
            if let copy, !end.checksumIsValid, copy.checksumIsValid, end.diskType != .fixed {
                warnings.append(.footerRecoveredFromCopy(reason: "the footer at the end has a wrong checksum"))
                return (copy, .copyAtStart, 0, copy, endOffset)
            }
            if endLocation == .legacyEnd { warnings.append(.legacyShortFooter) }
            if end.diskType != .fixed {
                if let copy {
                    if copy != end { warnings.append(.footerCopyDiffers) }
                } else {
                    warnings.append(.footerCopyMissing(reason: copyProblem))
                }
            }
            return (end, endLocation, endOffset, copy, endOffset)
        case let .failure(failure):
            if let copy {
                warnings.append(.footerRecoveredFromCopy(reason: "the footer at the end is damaged: \(failure)"))
                return (copy, .copyAtStart, 0, copy, endOffset)
            }
            throw error(.format(failure, offset: endOffset))
        case nil:
            if let copy {
                warnings.append(.footerRecoveredFromCopy(
                    reason: "the last 512 bytes hold no footer (the file may be truncated)"))
                return (copy, .copyAtStart, 0, copy, fileSize)
            }
            throw error(.notAVHD(reason: "neither its last 512 bytes nor its first hold a \"conectix\" footer"))
        }
    }

    func parseFooter(_ bytes: [UInt8]) -> Result<Footer, VHDFormatError> {
        do throws(VHDFormatError) {
            return .success(try Footer(parsing: bytes.span.bytes, checksumPolicy: .ignore))
        } catch {
            return .failure(error)
        }
    }

    mutating func checkChecksum(_ structure: Structure, offset: Int64, stored: UInt32, computed: UInt32) throws(VHDError) {
        guard stored != computed else { return }
        if options.checksumPolicy == .verify {
            throw error(.checksumRefused(structure, offset: offset, stored: stored, computed: computed))
        }
        warnings.append(.checksumMismatch(structure, offset: offset, stored: stored, computed: computed))
    }

    mutating func checkFooterFields(_ footer: Footer) {
        if footer.formatVersion >> 16 != 1 { warnings.append(.unexpectedFormatVersion(.footer, footer.formatVersion)) }
        if footer.features & Footer.reservedFeatureBit == 0 { warnings.append(.reservedFeatureBitClear) }
        if footer.features & Footer.temporaryFeatureBit != 0 { warnings.append(.temporaryDisk) }
        if footer.savedState != 0 { warnings.append(.savedState) }
        if footer.currentSize % 512 != 0 { warnings.append(.virtualSizeNotSectorMultiple(footer.currentSize)) }
        if let now = options.nowInUnixSeconds, footer.timestamp.unixSeconds > now + 86_400 {
            warnings.append(.timestampInFuture(footer.timestamp))
        }
        // Windows and Hyper-V always write a CHS product below the current size, and every
        // reader uses the current size for them: worth a note only where a known reader differs.
        let chsSize = footer.geometry.sizeInBytes
        let qemuSize = QEMUSizeRule.virtualSize(of: footer)
        if chsSize != footer.currentSize && footer.geometry != .maximum && qemuSize != footer.currentSize {
            warnings.append(.chsSizeDiffers(currentSize: footer.currentSize, chsSize: chsSize, qemuSize: qemuSize))
        }
    }

    // MARK: Fixed disks

    mutating func checkFixedData(_ footer: Footer, dataAreaEnd: Int64) throws(VHDError) {
        if footer.dataOffset != Footer.noDataOffset { warnings.append(.unexpectedDataOffset(.footer, footer.dataOffset)) }
        guard footer.currentSize <= UInt64(dataAreaEnd) else {
            throw error(.fixedDiskTruncated(virtualSize: footer.currentSize, dataBytesInFile: dataAreaEnd))
        }
        let trailing = dataAreaEnd - Int64(footer.currentSize)
        if trailing > 0 { warnings.append(.fixedDiskTrailingBytes(trailing)) }
    }

    // MARK: Dynamic and differencing disks

    mutating func readDynamic(_ footer: Footer, hasCopy: Bool, dataAreaEnd: Int64) throws(VHDError) -> DynamicLayout {
        // The header.
        let headerOffset = footer.dataOffset
        guard headerOffset >= UInt64(Footer.size), let headerEnd = sum(headerOffset, UInt64(DynamicHeader.size)),
              headerEnd <= UInt64(fileSize)
        else { throw error(.headerOutsideFile(offset: headerOffset, fileSize: fileSize)) }
        let headerBytes = try source.bytes(at: Int64(headerOffset), count: DynamicHeader.size)
        let header: DynamicHeader
        do throws(VHDFormatError) {
            header = try DynamicHeader(parsing: headerBytes.span.bytes, checksumPolicy: .ignore)
        } catch {
            throw self.error(.format(error, offset: Int64(headerOffset)))
        }
        try checkChecksum(.dynamicHeader, offset: Int64(headerOffset), stored: header.checksum, computed: header.computedChecksum)
        if header.headerVersion >> 16 != 1 { warnings.append(.unexpectedFormatVersion(.dynamicHeader, header.headerVersion)) }
        if header.dataOffset != DynamicHeader.noDataOffset { warnings.append(.unexpectedDataOffset(.dynamicHeader, header.dataOffset)) }

        // Block size and table size against the virtual size.
        let blockSize = header.blockSize
        guard VHDLayout.blockSizeRange.contains(blockSize), blockSize.nonzeroBitCount == 1 else {
            throw error(.invalidBlockSize(blockSize))
        }
        let neededEntries = footer.currentSize / UInt64(blockSize)
            + (footer.currentSize % UInt64(blockSize) == 0 ? 0 : 1)
        guard UInt64(header.maxTableEntries) >= neededEntries else {
            throw error(.tableTooSmall(entries: header.maxTableEntries, needed: neededEntries))
        }
        if UInt64(header.maxTableEntries) > neededEntries {
            warnings.append(.tableHasExtraEntries(entries: header.maxTableEntries, needed: neededEntries))
        }
        // The whole declared table must lie in the file, though only the entries the virtual
        // size uses are read: neededEntries <= maxTableEntries < 2^32, so nothing overflows.
        let entryCount = Int(neededEntries)
        let declaredTableBytes = UInt64(header.maxTableEntries) * 4
        guard let tableEnd = sum(header.tableOffset, declaredTableBytes), tableEnd <= UInt64(fileSize) else {
            throw error(.tableOutsideFile(offset: header.tableOffset, sizeInBytes: declaredTableBytes, fileSize: fileSize))
        }
        // One read straight into the table's storage, then one pass that byte-swaps in place
        // and collects the allocated blocks (checked below, and counted by DynamicLayout).
        var stored = [UInt32](unsafeUninitializedCapacity: entryCount) { _, initialized in initialized = entryCount }
        try stored.withMutableBytes { (buffer) throws(VHDError) in
            SystemCalls.prefault(buffer)
            try source.read(into: buffer, at: Int64(header.tableOffset))
        }
        var allocated: [(start: UInt64, index: Int)] = []
        let table = BlockAllocationTable(storedEntries: consume stored, forEachAllocated: { index, entry in  // consumed: no copy
            allocated.append((UInt64(entry) * 512, index))
        })

        // Parent locators.
        let locators = try readLocators(header, footer: footer)

        // Metadata ranges that no block may touch.
        var metadata: [(range: Range<UInt64>, name: String)] = [
            (headerOffset..<headerEnd, "dynamic disk header"),
            (header.tableOffset..<tableEnd, "block allocation table"),
        ]
        if hasCopy { metadata.append((0..<UInt64(Footer.size), "footer copy at offset 0")) }
        if dataAreaEnd < fileSize { metadata.append((UInt64(dataAreaEnd)..<UInt64(fileSize), "footer")) }
        for located in locators where located.locator.platformDataLength > 0 {
            let start = located.locator.platformDataOffset
            metadata.append((start..<(start + UInt64(located.locator.platformDataLength)), "parent locator \(located.index)"))
        }
        try checkBlocks(allocated, header: header, virtualSize: footer.currentSize, dataAreaEnd: dataAreaEnd, metadata: metadata)

        return DynamicLayout(
            headerOffset: Int64(headerOffset), header: header, table: table, locators: locators, allocatedBlockCount: allocated.count)
    }

    mutating func readLocators(_ header: DynamicHeader, footer: Footer) throws(VHDError) -> [LocatedParentPath] {
        var result: [LocatedParentPath] = []
        for (index, locator) in header.parentLocators.enumerated() where !locator.isEmpty {
            let length = locator.platformDataLength
            guard length <= VHDLayout.maximumLocatorLength else { throw error(.locatorTooLong(index: index, length: length)) }
            guard let end = sum(locator.platformDataOffset, UInt64(length)), end <= UInt64(fileSize) else {
                throw error(.locatorOutsideFile(
                    index: index, offset: locator.platformDataOffset, length: length, fileSize: fileSize))
            }
            if UInt64(length) > locator.dataSpaceInBytes {
                warnings.append(.locatorLengthExceedsSpace(index: index, length: length, spaceInBytes: locator.dataSpaceInBytes))
            }
            let data = try source.bytes(at: Int64(locator.platformDataOffset), count: Int(length))
            result.append(LocatedParentPath(index: index, locator: locator, path: locator.decodePath(data.span.bytes)))
        }
        switch footer.diskType {
        case .differencing:
            if header.parentUniqueId.isZero { warnings.append(.zeroParentUniqueId) }
            if result.isEmpty { warnings.append(.noParentLocators) }
        case .dynamic:
            if !result.isEmpty { warnings.append(.locatorsOnDynamicDisk(count: result.count)) }
        case .fixed:
            break
        }
        return result
    }

    /// Checks that every allocated block (its file offset and index, in block order) lies
    /// inside the data area, clear of the metadata and of every other block. Sorts only the
    /// allocated blocks, so an empty table costs nothing here.
    func checkBlocks(
        _ allocated: [(start: UInt64, index: Int)], header: DynamicHeader, virtualSize: UInt64, dataAreaEnd: Int64,
        metadata: [(range: Range<UInt64>, name: String)]
    ) throws(VHDError) {
        let blockSize = UInt64(header.blockSize)
        let bitmapSize = UInt64(header.sectorBitmapSizeInBytes)
        var starts = allocated
        /// Bytes the block occupies in the file: its bitmap and the part of its data inside the disk.
        func extent(_ index: Int) -> UInt64 {
            bitmapSize + min(blockSize, virtualSize - UInt64(index) * blockSize)
        }
        for (start, index) in starts {
            let end = start + extent(index)  // start < 2^41 and extent < 2^29: no overflow
            guard end <= UInt64(dataAreaEnd) else {
                throw error(.blockOutsideFile(blockIndex: index, offset: start, end: end, limit: dataAreaEnd))
            }
            for (range, name) in metadata where range.overlaps(start..<end) {
                throw error(.blockOverlapsMetadata(blockIndex: index, offset: start, metadata: name))
            }
        }
        starts.sort { $0.start < $1.start }
        for (previous, next) in zip(starts, starts.dropFirst()) where previous.start + extent(previous.index) > next.start {
            throw error(.blocksOverlap(blockIndex: next.index, otherBlockIndex: previous.index, offset: next.start))
        }
    }
}

/// `a + b`, or nil on overflow.
func sum(_ a: UInt64, _ b: UInt64) -> UInt64? {
    let (result, overflow) = a.addingReportingOverflow(b)
    return overflow ? nil : result
}
