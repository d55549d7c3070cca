import SystemPackage
import VHDFormat

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One change a repair makes: bytes at an offset of the image, what was there and why.
public struct RepairChange: Sendable, Equatable {
    /// File offset in bytes.
    public var offset: Int64
    /// The bytes there before (shorter than ``newBytes`` where the change extends the file).
    public var oldBytes: [UInt8]
    /// The bytes written.
    public var newBytes: [UInt8]
    /// Why the change is made, as a phrase.
    public var reason: String
}

/// Repairing the metadata of a damaged VHD: the footer from its copy (or the reverse), wrong
/// checksums, BAT entries pointing past the data.
///
/// Only what can be told for sure is changed: when both footers are valid but differ, or no
/// footer or header can be trusted, the repair is refused. Every byte overwritten is saved
/// first in a backup file beside the image (see ``apply(_:to:backup:locking:)``).
public enum DiskRepair {
    /// The changes that would repair the VHD in `file`, in the order they are applied; empty
    /// when nothing needs repair.
    ///
    /// - Throws: ``VHDError``: the file is not a VHD, or what is damaged cannot be told apart
    ///   from what is right.
    public static func plan(_ file: some ByteSource) throws(VHDError) -> [RepairChange] {
        if try ImageFormat.detect(file) == .vhdx { return try VHDXRepair.plan(file) }  // its log replayed
        var planner = RepairPlanner(file: file)
        return try planner.plan()
    }

    /// Applies `changes` to the image at `path`, after writing every byte they overwrite (and
    /// the file's size) to `backup`, synced, so that the repair can be undone by hand. The
    /// image is locked exclusive (``ImageLock``) unless `locking` is false, and the bytes each
    /// change overwrites must still be its ``RepairChange/oldBytes``: otherwise nothing is
    /// written (``VHDError/Kind/cannotRepair(reason:)``).
    ///
    /// Order (as planned): the header's checksum, BAT entries, the footer at the end, the copy
    /// at 0; then fsync. A crash
    /// part-way leaves a file the next `repair` finishes.
    public static func apply(_ changes: [RepairChange], to path: FilePath, backup: FilePath, locking: Bool = true) throws(VHDError) {
        guard !changes.isEmpty else { return }
        let file = try HostFile.open(path, writable: true, lock: locking)
        defer { file.close() }
        // Planned from an earlier open: under the exclusive lock, the bytes must still be the
        // ones planned over (another program may have written in between).
        for change in changes where !change.oldBytes.isEmpty {
            let present = try file.bytes(at: change.offset, count: min(change.oldBytes.count, Int(max(0, file.sizeInBytes - change.offset))))
            guard present == change.oldBytes else {
                throw VHDError(path: path.string, .cannotRepair(reason: "it changed since the repair was planned (at offset \(change.offset)); run repair again"))
            }
        }
        try writeBackup(of: changes, originalSize: file.sizeInBytes, image: path, to: backup)
        for change in changes {
            _ = try SystemCalls.system("pwrite", path.string, offset: change.offset) {
                try file.descriptor.writeAll(toAbsoluteOffset: change.offset, change.newBytes)
            }
        }
        try file.descriptor.synchronize(path.string)
    }

    /// The backup: a text file, one line a change, written beside the image and synced before
    /// the image is touched.
    ///
    ///     vhdtool repair backup 1
    ///     image <path>
    ///     size <the image's size in bytes before the repair>
    ///     <offset> <the old bytes in hex>      (one line per change)
    ///
    /// Undoing: write each line's bytes back at its offset, then truncate to `size`.
    static func writeBackup(of changes: [RepairChange], originalSize: Int64, image: FilePath, to backup: FilePath) throws(VHDError) {
        var text = "vhdtool repair backup 1\nimage \(image.string)\nsize \(originalSize)\n"
        for change in changes {
            text += "\(change.offset) " + change.oldBytes.map(hexByte).joined() + "\n"
        }
        try OutputFile.withCreated(at: backup, overwrite: false, sync: true) { output throws(VHDError) in
            try output.write(Array(text.utf8), at: 0)
        }
    }

    private static func hexByte(_ byte: UInt8) -> String {
        let digits = Array("0123456789abcdef")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 15)]])
    }
}

/// Works out the changes: which footer to trust, the header's checksum, the BAT entries.
private struct RepairPlanner<Source: ByteSource> {
    let file: Source
    var changes: [RepairChange] = []

    init(file: Source) { self.file = file }

    var fileSize: Int64 { file.sizeInBytes }

    func refuse(_ reason: String) -> VHDError { VHDError(path: file.name, .cannotRepair(reason: reason)) }

    /// A footer found at `offset`: parsed (checksum not checked), and whether its checksum holds.
    struct FoundFooter {
        var footer: Footer
        var offset: Int64
        var checksumIsValid: Bool { footer.checksumIsValid }
    }

    func footer(at offset: Int64) throws(VHDError) -> FoundFooter? {
        guard offset >= 0, offset + Int64(Footer.size) <= fileSize else { return nil }
        let bytes = try file.bytes(at: offset, count: Footer.size)
        guard ImageFormat.hasCookie(bytes, at: 0), let footer = try? Footer(parsing: bytes, checksumPolicy: .ignore) else { return nil }
        return FoundFooter(footer: footer, offset: offset)
    }

    mutating func plan() throws(VHDError) -> [RepairChange] {
        guard fileSize >= Int64(Footer.size) else {
            throw VHDError(path: file.name, .notAVHD(reason: "the file has \(fileSize) bytes, fewer than a footer"))
        }
        if fileSize % 512 == 511 {
            throw refuse("the file ends in a 511-byte legacy footer, which repair does not rewrite")
        }
        let endOffset = fileSize - Int64(Footer.size)
        let end = try footer(at: endOffset)
        let copy = try footer(at: 0).flatMap { $0.footer.diskType == .fixed ? nil : $0 }
        guard end != nil || copy != nil else {
            throw VHDError(path: file.name, .notAVHD(reason: "neither its last 512 bytes nor its first hold a \"conectix\" footer"))
        }
        let trusted = try trustedFooter(end: end, copy: copy)

        // No footer at the end and no zeroed one either: the file was cut short (or the footer
        // never written), so the data may run to the end and the footer goes after it.
        let tail = try file.bytes(at: endOffset, count: Footer.size)
        let footerMissing = end == nil && !tail.allSatisfy { $0 == 0 }
        let dataEnd = footerMissing ? fileSize : endOffset
        let footerOffset = footerMissing ? (fileSize + 511) / 512 * 512 : endOffset
        if let header = try checkedHeader(trusted) {
            try clearBlocksPastTheEnd(header: header, footer: trusted, dataEnd: dataEnd)
        }
        let footerBytes = trusted.serialized()
        if end?.footer.serialized() != footerBytes || footerOffset != endOffset {
            let reason = end == nil
                ? "the footer at the end is missing or unreadable; written from the copy at offset 0"
                : (end!.checksumIsValid ? "the footer at the end differs from the trusted one" : "the footer at the end has a wrong checksum")
            try addChange(at: footerOffset, newBytes: footerBytes, reason: reason)
        }
        if trusted.diskType != .fixed && copy?.footer.serialized() != footerBytes {
            let reason = copy == nil
                ? "the footer copy at offset 0 is missing or unreadable; written from the footer at the end"
                : "the footer copy at offset 0 \(copy!.checksumIsValid ? "differs from the footer at the end" : "has a wrong checksum")"
            try addChange(at: 0, newBytes: footerBytes, reason: reason)
        }
        return changes
    }

    /// The footer to keep. A valid footer wins over a damaged one; two valid ones that differ
    /// are refused; with none valid, a footer whose only fault is its checksum is recomputed
    /// when its fields fit the file.
    func trustedFooter(end: FoundFooter?, copy: FoundFooter?) throws(VHDError) -> Footer {
        switch (end, copy) {
        case let (end?, copy?) where end.checksumIsValid && copy.checksumIsValid:
            guard end.footer == copy.footer else {
                throw refuse("the footer at the end and its copy at offset 0 are both valid but differ; cannot tell which is right")
            }
            return end.footer
        case let (end?, _) where end.checksumIsValid:
            return end.footer
        case let (_, copy?) where copy.checksumIsValid:
            return copy.footer
        default:
            for candidate in [end, copy].compactMap({ $0 }) where footerFitsTheFile(candidate.footer) {
                return candidate.footer.withComputedChecksum()
            }
            throw refuse("no footer has a valid checksum and none fits the file well enough to recompute it")
        }
    }

    /// Whether a footer's fields agree with the file: a fixed disk's size, or a dynamic
    /// header ("cxsparse") where the footer says.
    func footerFitsTheFile(_ footer: Footer) -> Bool {
        switch footer.diskType {
        case .fixed:
            let (withFooter, overflow) = footer.currentSize.addingReportingOverflow(UInt64(Footer.size))
            return !overflow && withFooter == UInt64(fileSize)
        case .dynamic, .differencing:
            guard footer.dataOffset < UInt64(fileSize), Int64(footer.dataOffset) + Int64(DynamicHeader.size) <= fileSize,
                  let bytes = try? file.bytes(at: Int64(footer.dataOffset), count: 8)
            else { return false }
            return bytes == Array("cxsparse".utf8)
        }
    }

    /// The dynamic header of a dynamic or differencing disk, its checksum fixed when it is the
    /// only fault; nil for a fixed disk.
    mutating func checkedHeader(_ footer: Footer) throws(VHDError) -> DynamicHeader? {
        guard footer.diskType != .fixed else { return nil }
        let offset = footer.dataOffset
        guard fileSize >= Int64(DynamicHeader.size), offset <= UInt64(fileSize) - UInt64(DynamicHeader.size) else {
            throw refuse("the footer puts the dynamic header at \(offset), past the end of the file (\(fileSize) bytes)")
        }
        let bytes = try file.bytes(at: Int64(offset), count: DynamicHeader.size)
        guard bytes.prefix(8).elementsEqual("cxsparse".utf8) else {
            throw refuse("no dynamic header (\"cxsparse\") at offset \(offset); it cannot be rebuilt")
        }
        let header: DynamicHeader
        do {
            header = try DynamicHeader(parsing: bytes, checksumPolicy: .ignore)
        } catch {
            throw refuse("the dynamic header at offset \(offset) does not parse: \(error)")
        }
        guard header.blockSize.nonzeroBitCount == 1, (512...(256 << 20)) ~= header.blockSize else {
            throw refuse("the dynamic header's block size \(header.blockSize) is not a power of two from 512 bytes to 256 MiB")
        }
        if !header.checksumIsValid {
            let fixed = header.withComputedChecksum()
            try addChange(
                at: Int64(offset) + 36, newBytes: withUnsafeBytes(of: fixed.checksum.bigEndian, Array.init),
                reason: "the dynamic header's checksum is \(hexText(header.checksum)), computed \(hexText(fixed.checksum))")
        }
        return header
    }

    /// Clears the BAT entries of blocks that end past `dataEnd`.
    mutating func clearBlocksPastTheEnd(header: DynamicHeader, footer: Footer, dataEnd: Int64) throws(VHDError) {
        let blockSize = UInt64(header.blockSize)
        let (needed, overflow) = footer.currentSize.addingReportingOverflow(blockSize - 1)
        let entriesNeeded = overflow ? UInt64.max : needed / blockSize
        let entryCount = Int(min(UInt64(header.maxTableEntries), entriesNeeded))
        let tableOffset = header.tableOffset
        let tableBytes = UInt64(entryCount) * 4
        guard tableOffset <= UInt64(fileSize), tableBytes <= UInt64(fileSize) - tableOffset else {
            throw refuse("the BAT (\(entryCount) entries at offset \(tableOffset)) runs past the end of the file (\(fileSize) bytes)")
        }
        let table = try file.bytes(at: Int64(tableOffset), count: Int(tableBytes))
        let blockSpan = UInt64(header.sectorBitmapSizeInBytes) + blockSize
        for index in 0..<entryCount {
            let entry = table[(index * 4)..<(index * 4 + 4)].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            guard entry != BlockAllocationTable.unallocated else { continue }
            let start = UInt64(entry) * 512
            let end = start + blockSpan
            guard end > UInt64(dataEnd) else { continue }
            let what = footer.diskType == .differencing ? "reads from the parent" : "reads as zeros"
            try addChange(
                at: Int64(tableOffset) + Int64(index) * 4, newBytes: [0xFF, 0xFF, 0xFF, 0xFF],
                reason: "block \(index) at offset \(start) ends at \(end), past the end of the data (\(dataEnd)); entry cleared, the block now \(what)")
        }
    }

    mutating func addChange(at offset: Int64, newBytes: [UInt8], reason: String) throws(VHDError) {
        let available = max(0, min(Int64(newBytes.count), fileSize - offset))
        let old = available > 0 ? try file.bytes(at: offset, count: Int(available)) : []
        changes.append(RepairChange(offset: offset, oldBytes: old, newBytes: newBytes, reason: reason))
    }
}
