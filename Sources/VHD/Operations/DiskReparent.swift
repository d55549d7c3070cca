import SystemPackage
import VHDFormat

/// What a reparent did.
public struct ReparentSummary: Sendable, Equatable {
    /// The header's parent name before.
    public var oldParentName: String
    /// The W2ku (absolute) and W2ru (relative, Windows separators) paths written.
    public var absolutePath: String
    /// The relative path written (W2ru).
    public var relativePath: String
    /// The parent UUID now recorded, and whether it differs from the one recorded before
    /// (only with `force`).
    public var parentUniqueId: VHDUUID
    /// Whether ``parentUniqueId`` differs from the one recorded before.
    public var uniqueIdChanged: Bool
    /// Bytes the file grew by, when a path did not fit in unused space inside the file.
    public var bytesAppended: Int64
}

/// Pointing a differencing disk at a moved (or another) parent, in place.
///
/// The child's header gets the new parent's UUID (checked, see `force`), its modification time,
/// its file name, and two locators: W2ku with its absolute path and W2ru with its path relative
/// to the child's folder (`.\base.vhd`), as ``DiskCreation`` writes them. Other locators naming
/// a path (deprecated Wi2k/Wi2r, MacX, Mac aliases) are dropped: they name the old parent.
/// Entries with unknown platform codes are kept.
///
/// Crash order: the new paths are written where the current header points at nothing (a gap
/// between the table, the locators in use and the blocks), or else at the end of the data
/// area followed by the footer; only then is the header, which holds the UUID, timestamp, name
/// and locator entries, replaced by one 1024-byte write. A file without a footer at its end (a
/// reparent killed between a path written over the footer and the footer after it) first gets
/// the footer back at its end. A process killed at any point leaves
/// the old parent record or the new one. Space of the old paths is left unused (a later
/// reparent reuses it; compact reclaims it).
public enum DiskReparent {
    /// Makes `parentPath` the parent of the differencing disk at `path`.
    ///
    /// - Parameters:
    ///   - path: the differencing VHD to change, in place; it is opened for writing and, with
    ///     ``DiskOptions/locking``, locked exclusive.
    ///   - parentPath: the new parent, a VHD; its own chain is opened read-only (and, with
    ///     ``DiskOptions/locking``, locked shared) to check it. Its absolute path and its path relative to the child's folder are
    ///     recorded.
    ///   - force: accept a parent whose UUID differs from the one the child recorded;
    ///     the new parent's UUID is then recorded.
    ///   - options: how the disk and the new parent's chain are opened (checksum policy,
    ///     locking, ...) and whether every write is followed by fsync. ``DiskOptions/writable``
    ///     and ``DiskOptions/parentPath`` are ignored: `parentPath` names the new parent.
    /// - Throws: ``VHDError``: the disk is not differencing, the new parent cannot be opened
    ///   (with its own chain), is the child or one of the child's descendants' files,
    ///   or has another UUID (without `force`); a read or write fails.
    public static func reparent(
        at path: FilePath, to parentPath: FilePath, force: Bool = false, options: InPlaceOptions = InPlaceOptions()
    ) throws(VHDError) -> ReparentSummary {
        let childFile = try HostFile.open(path, writable: true, lock: options.disk.locking)
        defer { childFile.close() }
        let child = try DiskImage(reading: childFile, options: options.disk.open)
        guard let layout = child.layout, layout.diskType == .differencing, let dynamic = layout.dynamic else {
            throw VHDError(path: path.string, .refused(operation: "reparent it", reason: "it is not a differencing disk"))
        }
        let childIdentity = try FileIdentity(childFile)
        var parentOptions = options.disk
        parentOptions.writable = false
        parentOptions.parentPath = nil
        // The new parent's chain may hold the child (a loop, refused below), which this
        // process locked exclusive: it is locked shared only once that is ruled out.
        parentOptions.locking = false
        let (parentId, parentTime) = try Disk.withChain(at: parentPath, options: parentOptions) { (parent) throws(VHDError) in
            for layer in parent.layers where try FileIdentity(layer.file) == childIdentity {
                throw VHDError(path: path.string, .refused(operation: "reparent it", reason:
                    "\(parentPath.string)'s chain contains \(path.string) itself (\(layer.file.name)), which would be a loop"))
            }
            if options.disk.locking { try parent.lock(layers: 0...(parent.layers.count - 1), mode: .shared) }
            guard let parentLayout = parent.layers[0].layout else {
                throw VHDError(path: parentPath.string, .notAVHD(reason: "a differencing disk's parent must be a VHD"))
            }
            return (parentLayout.footer.uniqueId, try FileIdentity.modificationTime(parent.layers[0].file))
        }
        let recorded = dynamic.header.parentUniqueId
        if parentId != recorded && !force {
            throw VHDError(path: path.string, .refusedUnlessForced(operation: "reparent it", reason:
                "it records parent UUID \(recorded) but \(parentPath.string) has UUID \(parentId)"))
        }

        let absolute = DiskCreation.absolutePath(parentPath)
        let relative = DiskCreation.relativeWindowsPath(from: DiskCreation.absolutePath(path).removingLastComponent(), to: absolute)
        let paths: [(PlatformCode, [UInt8])] = [
            (.w2ku, ParentLocator.encodeWindowsPath(absolute.string)),
            (.w2ru, ParentLocator.encodeWindowsPath(relative)),
        ]
        let file = InPlaceFile(childFile, options: options)
        if layout.footerCopy != layout.footer { try file.write(layout.footer.serialized(), at: 0) }

        // Where each path goes: a gap the current header does not use, else the end.
        var used = usedRanges(layout: layout, dynamic: dynamic)
        var end = layout.footerLocation == .copyAtStart ? (layout.fileSize + 511) / 512 * 512 : layout.footerOffset
        if layout.footerLocation == .copyAtStart {
            // No footer at the end: the copy at 0 stands in. A reparent killed after writing a
            // path over the footer, before the footer after it, leaves this; the space it left is
            // a gap that the paths below may fill, in which case no footer would ever be written
            // at the end again. So the footer goes back at the end first.
            try file.write(layout.footer.serialized(), at: end)
        }
        var header = dynamic.header
        let pathCodes: Set<PlatformCode> = [.w2ku, .w2ru, .wi2k, .wi2r, .macX, .mac]
        for index in header.parentLocators.indices where pathCodes.contains(header.parentLocators[index].platformCode) {
            header.parentLocators[index] = .empty
        }
        for (code, bytes) in paths {
            let space = max(512, (Int64(bytes.count) + 511) / 512 * 512)
            let padded = bytes + [UInt8](repeating: 0, count: Int(space) - bytes.count)
            let offset: Int64
            if let gap = freeGap(of: space, in: used, before: end) {
                offset = gap
                try file.write(padded, at: offset)
            } else {
                offset = end
                try file.write(padded, at: offset)  // over the footer: the copy at 0 stands in
                end += space
                try file.write(layout.footer.serialized(), at: end)
            }
            used.append(offset..<(offset + space))
            guard let slot = header.parentLocators.firstIndex(where: \.isEmpty) else {
                throw VHDError(path: path.string, .refused(operation: "reparent it", reason: "all eight parent locator entries hold unknown platform codes"))
            }
            header.parentLocators[slot] = ParentLocator(
                platformCode: code, platformDataSpace: UInt32(space), platformDataLength: UInt32(bytes.count),
                platformDataOffset: UInt64(offset))
        }
        let oldName = header.parentName
        header.parentUniqueId = parentId
        header.parentTimestamp = VHDTimestamp(unixSeconds: parentTime)
        header.setParentName(absolute.lastComponent?.string ?? absolute.string)
        // The switch: one write of the header.
        try file.write(header.withComputedChecksum().serialized(), at: dynamic.headerOffset)
        return ReparentSummary(
            oldParentName: oldName, absolutePath: absolute.string, relativePath: relative, parentUniqueId: parentId,
            uniqueIdChanged: parentId != recorded, bytesAppended: max(0, try file.currentSize() - layout.fileSize))
    }

    /// The file ranges that the current metadata and blocks claim (footer copy, header, the
    /// declared table, the locators' paths, every allocated block whole).
    static func usedRanges(layout: VHDLayout, dynamic: DynamicLayout) -> [Range<Int64>] {
        let header = dynamic.header
        var used: [Range<Int64>] = [0..<Int64(Footer.size), dynamic.headerOffset..<(dynamic.headerOffset + Int64(DynamicHeader.size))]
        let tableOffset = Int64(header.tableOffset)
        used.append(tableOffset..<(tableOffset + Int64(BlockAllocationTable.sizeInBytes(entryCount: Int(header.maxTableEntries)))))
        for located in dynamic.locators {
            let locator = located.locator
            let claimed = max((Int64(locator.platformDataLength) + 511) / 512 * 512, Int64(min(locator.dataSpaceInBytes, 1 << 20)))
            used.append(Int64(locator.platformDataOffset)..<(Int64(locator.platformDataOffset) + claimed))
        }
        let blockExtent = Int64(dynamic.sectorBitmapSize) + Int64(dynamic.blockSize)
        for entry in dynamic.table.entries where entry != BlockAllocationTable.unallocated {
            used.append(Int64(entry) * 512..<(Int64(entry) * 512 + blockExtent))
        }
        return used
    }

    /// The first sector-aligned offset below `limit` where `size` bytes touch none of `used`.
    static func freeGap(of size: Int64, in used: [Range<Int64>], before limit: Int64) -> Int64? {
        var candidate: Int64 = 0
        for range in used.sorted(by: { $0.lowerBound < $1.lowerBound }) {
            if range.lowerBound >= candidate + size { break }
            candidate = max(candidate, (range.upperBound + 511) / 512 * 512)
        }
        return candidate + size <= limit ? candidate : nil
    }
}
