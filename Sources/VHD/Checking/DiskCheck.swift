import SystemPackage
import VHDFormat

/// One thing ``DiskCheck`` found wrong, and how to fix it when there is a known way.
public struct CheckProblem: Sendable, Equatable, Codable {
    /// Which check: "structure", "checksum", "bitmap", "chain" or "azure".
    public var check: String
    /// What is wrong, as one sentence naming what was found: a warning of opening, a layer and its
    /// blocks, or a value Azure refuses.
    public var message: String
    /// The known way to fix it (an operation of this library, which a program words as its own
    /// command), or nil when there is none.
    public var fix: CheckFix?
    /// A note: worth knowing (e.g. another reader sees another size) but no reason to fail.
    public var note: Bool

    /// Makes a problem (or, with `note`, a note) from its parts.
    ///
    /// - Parameters:
    ///   - check: which check found it; see ``check``.
    ///   - message: what is wrong; see ``message``.
    ///   - fix: the known fix, or nil when there is none.
    ///   - note: whether it is only a note, which leaves the disk clean.
    public init(check: String, message: String, fix: CheckFix? = nil, note: Bool = false) {
        self.check = check
        self.message = message
        self.fix = fix
        self.note = note
    }
}

/// How a problem ``DiskCheck`` found can be fixed, as an operation of this library (a program
/// words it as its own command).
public enum CheckFix: Sendable, Equatable, Codable {
    /// Convert `source` into a fixed VHD of a whole number of MiB (``DiskConversion``), at
    /// least `minimumSize` bytes when given; `destination` is a suggested name beside it.
    case convertForAzure(source: String, destination: String, minimumSize: UInt64?)
    /// Repair the metadata of `path` (``DiskRepair``): the footer from its copy or the reverse,
    /// checksums.
    case repair(path: String)
    /// Convert `source` into a new VHD (``DiskConversion``), whose geometry every reader sizes
    /// alike.
    case convertForAllReaders(source: String)
    /// Name the parent explicitly (``DiskOptions/parentPath``), or point the child at it
    /// (``DiskReparent``).
    case giveOrReparentParent(child: String)
}

/// Validating a disk: its structure (everything opening verifies, with checksums and warnings
/// reported instead of refused), sector bitmaps against the data they cover, the parent chain,
/// and optionally Azure's upload rules.
public enum DiskCheck {
    /// Azure's limits for an uploaded disk's virtual size (managed-disk direct upload): 20 MiB
    /// to 32 TiB, in whole MiB.
    public static let azureSizeRange: ClosedRange<UInt64> = (20 << 20)...(32 << 40)

    /// The problems of the disk at `path`; empty when it is clean. Entries marked
    /// ``CheckProblem/note`` do not make it unclean.
    ///
    /// The checks run in order: the structure as opening reads it (checksums ignored and
    /// reported), the parent chain, the sector bitmaps of every dynamic layer against the data
    /// they cover, then (when asked) Azure's upload rules. A structure so broken that the disk
    /// cannot be opened is one "structure" problem, and the later checks do not run.
    ///
    /// - Parameters:
    ///   - path: the VHD to check; its parents are found as ``Disk`` finds them.
    ///   - azure: also check Azure's rules: a fixed disk, a virtual size in whole MiB within
    ///     ``azureSizeRange``, a file of exactly that size plus the footer, a right footer
    ///     checksum, no saved state. A file that is not a VHD is then a problem, not an error.
    ///   - options: progress and cancellation of the bitmap check. Progress is reported once per
    ///     allocated block as (block index + 1, block count), not in bytes. Cancelling, like a
    ///     read error in a parent, ends that check with a "chain" problem rather than an error.
    ///     The chunk size and zero granularity are not used.
    ///   - locking: lock the disk and its parents ``ImageLock/Mode/shared``, as QEMU's readers
    ///     do: a disk another program writes is refused (``VHDError/Kind/locked(by:)``), a
    ///     parent it writes is a "chain" problem. `false` takes no lock and ignores other
    ///     programs' (qemu-img's `-U`), for VHD and VHDX alike.
    /// - Returns: the problems found, in the order of the checks; empty when the disk is clean.
    /// - Throws: ``VHDError`` only when the file cannot be checked at all: it cannot be read,
    ///   it is not a VHD (and `azure` is false), its format is not supported, it is locked, or it
    ///   is not a regular file.
    public static func problems(
        at path: FilePath, azure: Bool = false, options: CopyOptions = CopyOptions(), locking: Bool = true
    ) throws(VHDError) -> [CheckProblem] {
        if try VHDXCheck.isVHDX(path, locking: locking) {
            return try VHDXCheck.problems(at: path, azure: azure, options: options, locking: locking)
        }
        let layout: VHDLayout
        do {
            layout = try HostFile.withOpened(at: path, lock: locking) { try VHDLayout(reading: $0, options: OpenOptions(checksumPolicy: .ignore)) }
        } catch let error as VHDError {
            switch error.kind {
            case .notAVHD where azure:
                // A raw image, or a footer without its cookie: what Azure refuses first.
                return [CheckProblem(
                    check: "azure", message: "\(error.description); Azure expects a VHD footer with the cookie \"conectix\"",
                    fix: convertForAzure(path))]
            case .io, .notAVHD, .unsupportedFormat, .locked, .notARegularFile:
                throw error
            case .blockOutsideFile:
                return [CheckProblem(check: "structure", message: error.description, fix: repairHint(path))]
            default:
                return [CheckProblem(check: "structure", message: error.description)]
            }
        } catch {
            throw VHDError(path: path.string, .notAVHD(reason: "\(error)"))
        }
        var problems: [CheckProblem] = []
        for warning in layout.warnings {
            switch warning {
            case .notAzureReady: continue  // the Azure rules below say it with their fixes
            case .chsSizeDiffers:
                problems.append(CheckProblem(
                    check: "size", message: warning.description,
                    fix: .convertForAllReaders(source: path.string), note: true))
            case .checksumMismatch: problems.append(CheckProblem(check: "checksum", message: warning.description, fix: repairHint(path)))
            case .footerRecoveredFromCopy, .footerCopyMissing, .footerCopyDiffers:
                problems.append(CheckProblem(check: "structure", message: warning.description, fix: repairHint(path)))
            default: problems.append(CheckProblem(check: "structure", message: warning.description))
            }
        }
        problems += try chainAndBitmapProblems(path, layout: layout, options: options, locking: locking)
        if azure { problems += azureProblems(path, layout: layout) }
        return problems
    }

    /// The conversion that makes what Azure accepts, beside the original.
    static func convertForAzure(_ path: FilePath, minimumSize: UInt64? = nil) -> CheckFix {
        let name = path.lastComponent.map { String($0.stem) } ?? "disk"
        let folder = path.removingLastComponent()
        let destination = folder.isEmpty ? FilePath(name + "-azure.vhd") : folder.appending(name + "-azure.vhd")
        return .convertForAzure(source: path.string, destination: destination.string, minimumSize: minimumSize)
    }

    static func repairHint(_ path: FilePath) -> CheckFix { .repair(path: path.string) }

    /// Opens the whole chain (parents' UUIDs checked) and compares each dynamic layer's sector
    /// bitmaps with its data: a sector holding non-zero bytes whose bit is clear is read as
    /// zeros by libvhdi and vhdtool but as data by qemu-img.
    static func chainAndBitmapProblems(_ path: FilePath, layout: VHDLayout, options: CopyOptions, locking: Bool = true) throws(VHDError) -> [CheckProblem] {
        var problems: [CheckProblem] = []
        do {
            try Disk.withOpened(at: path, options: DiskOptions(open: OpenOptions(checksumPolicy: .ignore), locking: locking)) { disk in
                for warning in disk.chainWarnings { problems.append(CheckProblem(check: "chain", message: warning)) }
                for (depth, layer) in disk.layers.enumerated() {
                    problems += try hiddenDataProblems(layer, depth: depth, options: options)
                }
            }
        } catch let error as VHDError {
            switch error.kind {
            case .parentNotFound, .parentMismatch, .chainCycle, .chainTooDeep:
                problems.append(CheckProblem(
                    check: "chain", message: error.description,
                    fix: error.kind.isParentProblem ? .giveOrReparentParent(child: path.string) : nil))
            default:
                // A parent that is itself broken: say so, as a problem of the chain.
                problems.append(CheckProblem(check: "chain", message: error.description))
            }
        } catch {
            problems.append(CheckProblem(check: "chain", message: "\(error)"))
        }
        return problems
    }

    /// Sectors of `layer`'s allocated blocks with a clear bitmap bit and non-zero stored bytes.
    static func hiddenDataProblems(_ layer: DiskLayer, depth: Int, options: CopyOptions) throws(VHDError) -> [CheckProblem] {
        guard let dynamic = layer.layout?.dynamic, let state = layer.blocks else { return [] }
        let file = layer.file
        let blockSize = dynamic.blockSize
        let bitmapSize = dynamic.sectorBitmapSize
        let sectorsPerBlock = blockSize / 512
        let bitmap = UnsafeMutableRawBufferPointer.allocate(byteCount: bitmapSize, alignment: 512)
        let data = UnsafeMutableRawBufferPointer.allocate(byteCount: blockSize, alignment: 4096)
        defer {
            bitmap.deallocate()
            data.deallocate()
        }
        var blocksWithHiddenData: [Int] = []
        var hiddenSectors = 0
        for (index, entry) in state.entries.enumerated() where entry != BlockAllocationTable.unallocated {
            if options.isCancelled?() == true { throw VHDError(path: file.name, .cancelled) }
            let bitmapOffset = Int64(entry) * 512
            let dataOffset = bitmapOffset + Int64(bitmapSize)
            try file.read(into: bitmap, at: bitmapOffset)
            var found = 0
            // Only the stored parts of the block can hold non-zero bytes.
            for stored in try file.storedRanges(in: dataOffset..<(dataOffset + Int64(blockSize))) {
                let first = Int(stored.lowerBound - dataOffset) / 512
                let last = (Int(stored.upperBound - dataOffset) + 511) / 512
                var sector = first
                while sector < min(last, sectorsPerBlock) {
                    // Runs of clear bits only: set bits are data the readers agree on.
                    guard bitmap[sector >> 3] & (0x80 >> UInt8(sector & 7)) == 0 else {
                        sector += 1
                        continue
                    }
                    var end = sector + 1
                    while end < min(last, sectorsPerBlock) && bitmap[end >> 3] & (0x80 >> UInt8(end & 7)) == 0 { end += 1 }
                    let run = UnsafeMutableRawBufferPointer(rebasing: data[(sector * 512)..<(end * 512)])
                    try file.read(into: run, at: dataOffset + Int64(sector) * 512)
                    for start in stride(from: 0, to: run.count, by: 512)
                    where !ZeroDetection.isZero(UnsafeRawBufferPointer(rebasing: run[start..<(start + 512)])) {
                        found += 1
                    }
                    sector = end
                }
            }
            if found > 0 {
                blocksWithHiddenData.append(index)
                hiddenSectors += found
            }
            options.progress?(UInt64(index + 1), UInt64(state.entries.count))
        }
        guard !blocksWithHiddenData.isEmpty else { return [] }
        let listed = blocksWithHiddenData.prefix(8).map(String.init).joined(separator: ", ")
            + (blocksWithHiddenData.count > 8 ? ", ..." : "")
        let layerName = depth == 0 ? file.name : "\(file.name) (parent at depth \(depth))"
        return [CheckProblem(
            check: "bitmap",
            message: "\(layerName): \(hiddenSectors) sectors in \(blocksWithHiddenData.count) blocks (\(listed)) hold non-zero bytes but their sector bitmap bits are clear: libvhdi and this library read zeros there, qemu-img reads the bytes",
            fix: nil)]
    }

    /// Azure's upload rules, each with the command that fixes it.
    static func azureProblems(_ path: FilePath, layout: VHDLayout) -> [CheckProblem] {
        let footer = layout.footer
        let convert = convertForAzure(path)
        var problems: [CheckProblem] = []
        if footer.diskType != .fixed {
            problems.append(CheckProblem(check: "azure", message: "Azure accepts only fixed VHDs; this one is \(footer.diskType)", fix: convert))
        }
        if footer.currentSize % (1 << 20) != 0 {
            let rounded = NewDiskMetadata.azureSize(atLeast: footer.currentSize)
            problems.append(CheckProblem(
                check: "azure",
                message: "the virtual size \(footer.currentSize) is not a whole number of MiB (converted for Azure it becomes \(rounded) bytes)",
                fix: convert))
        }
        if !azureSizeRange.contains(footer.currentSize) {
            problems.append(CheckProblem(
                check: "azure",
                message: "the virtual size \(footer.currentSize) is outside Azure's limits (20 MiB to 32 TiB)",
                fix: footer.currentSize < azureSizeRange.lowerBound ? convertForAzure(path, minimumSize: azureSizeRange.lowerBound) : nil))
        }
        if footer.diskType == .fixed, layout.fileSize != Int64(footer.currentSize) + Int64(Footer.size) {
            problems.append(CheckProblem(
                check: "azure", message: "the file is \(layout.fileSize) bytes, not the virtual size plus a 512-byte footer", fix: convert))
        }
        if !footer.checksumIsValid {
            problems.append(CheckProblem(check: "azure", message: "the footer checksum is wrong", fix: repairHint(path)))
        }
        if footer.savedState != 0 {
            problems.append(CheckProblem(check: "azure", message: "the disk is marked as in a saved state", fix: convert))
        }
        return problems
    }
}

extension VHDError.Kind {
    var isParentProblem: Bool {
        switch self {
        case .parentNotFound, .parentMismatch: true
        default: false
        }
    }
}
