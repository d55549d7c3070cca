import Foundation
import SystemPackage
import TestSupport
import Testing
import VHD
import VHDFormat

/// Files built to lie: each gives its typed error, with bounded memory, or reads consistently. The disks are tiny (4 KiB blocks) and edited field by field, checksums
/// recomputed so that the lie, not the checksum, is what the reader meets.
struct HostileInputTests {
    static let blockSize: UInt32 = 4096

    /// A 64 KiB dynamic disk with blocks 0, 5 and 15 written, as bytes.
    static func dynamicDisk(uniqueId: VHDUUID = VHDUUID(high: 1, low: 1), parent: (String, VHDUUID)? = nil) -> [UInt8] {
        var builder = TestDiskBuilder(virtualSize: 64 << 10, blockSize: blockSize, uniqueId: uniqueId, parent: parent)
        for block in [0, 5, 15] {
            builder.write([UInt8](repeating: UInt8(block + 1), count: Int(blockSize)), at: UInt64(block) * UInt64(blockSize))
        }
        return builder.serialized()
    }

    /// Rewrites the dynamic header at 512 through `edit`, with a correct checksum.
    static func editHeader(_ bytes: inout [UInt8], _ edit: (inout DynamicHeader) -> Void) throws {
        var header = try DynamicHeader(parsing: Array(bytes[512..<1536]), checksumPolicy: .ignore)
        edit(&header)
        bytes.replaceSubrange(512..<1536, with: header.withComputedChecksum().serialized())
    }

    /// Rewrites both footers (end and copy at 0) through `edit`, with a correct checksum.
    static func editFooter(_ bytes: inout [UInt8], _ edit: (inout Footer) -> Void) throws {
        var footer = try Footer(parsing: Array(bytes.suffix(512)), checksumPolicy: .ignore)
        edit(&footer)
        let serialized = footer.withComputedChecksum().serialized()
        bytes.replaceSubrange((bytes.count - 512)..<bytes.count, with: serialized)
        bytes.replaceSubrange(0..<512, with: serialized)
    }

    static func setTableEntry(_ bytes: inout [UInt8], _ index: Int, _ value: UInt32) {
        let offset = 1536 + index * 4
        bytes.replaceSubrange(offset..<(offset + 4), with: withUnsafeBytes(of: value.bigEndian, Array.init))
    }

    static func tableEntry(_ bytes: [UInt8], _ index: Int) -> UInt32 {
        bytes[(1536 + index * 4)..<(1540 + index * 4)].reduce(0) { $0 << 8 | UInt32($1) }
    }

    /// Opens `bytes` as a file, walks the whole extent map and reads the first and last 64 KiB.
    /// Returns the error kind, or nil when everything read; fails the test when it grows the
    /// process's peak memory by more than 256 MiB. (No time limit: timings stay out of
    /// pass/fail tests; a hang shows as a test that never ends.)
    static func openAndRead(_ bytes: [UInt8], named name: String = "hostile.vhd", in folder: TemporaryFolder) throws -> VHDError.Kind? {
        let path = folder.file(name)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let peakBefore = peakResidentBytes()
        defer { #expect(peakResidentBytes() - peakBefore < 256 << 20, "\(name) grew the peak memory") }
        do {
            try Disk.withOpened(at: FilePath(path)) { disk in
                _ = try disk.extents()
                let count = Int(min(disk.virtualSize, 64 << 10))
                _ = try disk.read(at: 0, count: count)
                _ = try disk.read(at: disk.virtualSize - UInt64(count), count: count)
            }
            return nil
        } catch let error as VHDError {
            return error.kind
        }
    }

    static func peakResidentBytes() -> Int {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        return usage.ru_maxrss * 1024
    }

    /// Every input the fuzzer once crashed on (scripts/fuzz) opens, maps and reads, or gives a
    /// typed error.
    @Test func fuzzRegressionsGiveTypedErrors() throws {
        let regressions = TestPaths.repositoryRoot.appendingPathComponent("Tests/FuzzRegressions")
        let names = try FileManager.default.contentsOfDirectory(atPath: regressions.path).filter { !$0.hasPrefix(".") }
        let folder = try TemporaryFolder()
        for name in names.sorted() {
            let bytes = try [UInt8](Data(contentsOf: regressions.appendingPathComponent(name)))
            _ = try Self.openAndRead(bytes, named: name, in: folder)
            // What else the fuzz target runs on every input.
            _ = try? DiskRepair.plan(MemoryByteSource(name: name, contents: bytes))
            _ = try? Disk.withOpened(at: FilePath(folder.file(name))) { try DiskLayoutProbe.probe($0) }
        }
        #expect(names.count >= 1, "Tests/FuzzRegressions holds the inputs the fuzzer once crashed on")
    }

    @Test func theUnchangedDiskReads() throws {
        let folder = try TemporaryFolder()
        #expect(try Self.openAndRead(Self.dynamicDisk(), in: folder) == nil)
    }

    @Test func blockEntryPointingIntoTheHeader() throws {
        let folder = try TemporaryFolder()
        var bytes = Self.dynamicDisk()
        Self.setTableEntry(&bytes, 5, 1)  // sector 1: the dynamic header
        let kind = try Self.openAndRead(bytes, in: folder)
        guard case .blockOverlapsMetadata(blockIndex: 5, offset: 512, _) = kind else {
            Issue.record("got \(String(describing: kind))")
            return
        }
    }

    @Test func blockEntryPastTheEnd() throws {
        let folder = try TemporaryFolder()
        for entry: UInt32 in [0x7FFF_FFFF, 0xFFFF_FFFE] {
            var bytes = Self.dynamicDisk()
            Self.setTableEntry(&bytes, 0, entry)
            let kind = try Self.openAndRead(bytes, in: folder)
            guard case .blockOutsideFile(blockIndex: 0, offset: UInt64(entry) * 512, _, _) = kind else {
                Issue.record("entry \(entry): got \(String(describing: kind))")
                continue
            }
        }
    }

    @Test func twoEntriesPointingAtTheSameBlock() throws {
        let folder = try TemporaryFolder()
        var bytes = Self.dynamicDisk()
        Self.setTableEntry(&bytes, 15, Self.tableEntry(bytes, 5))
        let kind = try Self.openAndRead(bytes, in: folder)
        guard case .blocksOverlap = kind else {
            Issue.record("got \(String(describing: kind))")
            return
        }
    }

    @Test(arguments: [UInt32(0), 1 << 31, .max])
    func absurdMaxTableEntries(_ entries: UInt32) throws {
        let folder = try TemporaryFolder()
        var bytes = Self.dynamicDisk()
        try Self.editHeader(&bytes) { $0.maxTableEntries = entries }
        let kind = try Self.openAndRead(bytes, in: folder)
        switch kind {
        case .tableTooSmall(entries: entries, needed: 16): #expect(entries == 0)
        case .tableOutsideFile: #expect(entries > 16)
        default: Issue.record("\(entries) entries: got \(String(describing: kind))")
        }
    }

    @Test(arguments: [UInt32(0), 1, 3, 1 << 31, .max])
    func absurdBlockSizes(_ size: UInt32) throws {
        let folder = try TemporaryFolder()
        var bytes = Self.dynamicDisk()
        try Self.editHeader(&bytes) { $0.blockSize = size }
        #expect(try Self.openAndRead(bytes, in: folder) == .invalidBlockSize(size))
    }

    @Test func virtualSizeOfTwoToTheSixtyFourMinusOne() throws {
        let folder = try TemporaryFolder()
        var dynamic = Self.dynamicDisk()
        try Self.editFooter(&dynamic) { $0.currentSize = .max }
        let dynamicKind = try Self.openAndRead(dynamic, in: folder)
        guard case .tableTooSmall(entries: 16, _) = dynamicKind else {
            Issue.record("dynamic: got \(String(describing: dynamicKind))")
            return
        }
        var fixed = [UInt8](repeating: 7, count: 4096) + NewDiskMetadata.footer(type: .fixed, size: 4096).serialized()
        var footer = try Footer(parsing: Array(fixed.suffix(512)), checksumPolicy: .ignore)
        footer.currentSize = .max
        fixed.replaceSubrange(4096..<4608, with: footer.withComputedChecksum().serialized())
        #expect(try Self.openAndRead(fixed, named: "fixed.vhd", in: folder) == .fixedDiskTruncated(virtualSize: .max, dataBytesInFile: 4096))
    }

    /// The footer's data offset points at the footer itself: the "header" is the footer.
    @Test func headerOffsetLoopingBackToTheFooter() throws {
        let folder = try TemporaryFolder()
        var bytes = Self.dynamicDisk()
        let end = UInt64(bytes.count - 512)
        try Self.editFooter(&bytes) { $0.dataOffset = end }
        let kind = try Self.openAndRead(bytes, in: folder)
        #expect(kind != nil, "a footer read as a dynamic header must not open")
        for offset: UInt64 in [0, .max - 511] {
            try Self.editFooter(&bytes) { $0.dataOffset = offset }
            #expect(try Self.openAndRead(bytes, in: folder) != nil, "data offset \(offset)")
        }
    }

    @Test func parentLocatorsWithAbsurdLengths() throws {
        let folder = try TemporaryFolder()
        for (length, space) in [(UInt32.max, UInt32(1)), (1 << 20, 1 << 20), (513, 1)] {
            var bytes = Self.dynamicDisk(uniqueId: VHDUUID(high: 2, low: 2), parent: ("parent.vhd", VHDUUID(high: 1, low: 1)))
            try Self.editHeader(&bytes) { header in
                header.parentLocators[0].platformDataLength = length
                header.parentLocators[0].platformDataSpace = space
            }
            let kind = try Self.openAndRead(bytes, named: "child.vhd", in: folder)
            switch kind {
            case .locatorOutsideFile(index: 0, _, _, _), .locatorTooLong(index: 0, _): break
            // 513 bytes in a 1-sector space: the path runs into block 0, which is refused first.
            case .blockOverlapsMetadata(_, _, metadata: "parent locator 0") where length == 513: break
            default: Issue.record("length \(length): got \(String(describing: kind))")
            }
        }
    }

    /// A W2ru path of unpaired UTF-16 surrogates decodes to something (replacement characters)
    /// and the missing parent is reported with the paths tried.
    @Test func parentPathOfUnpairedSurrogates() throws {
        let folder = try TemporaryFolder()
        var bytes = Self.dynamicDisk(uniqueId: VHDUUID(high: 2, low: 2), parent: ("parent.vhd", VHDUUID(high: 1, low: 1)))
        let header = try DynamicHeader(parsing: Array(bytes[512..<1536]), checksumPolicy: .ignore)
        let locator = header.parentLocators[0]
        let surrogates: [UInt8] = [0x00, 0xD8, 0x41, 0x00, 0x00, 0xDC, 0x00, 0xDC]  // D800 'A' DC00 DC00, little-endian
        let offset = Int(locator.platformDataOffset)
        bytes.replaceSubrange(offset..<(offset + surrogates.count), with: surrogates)
        try Self.editHeader(&bytes) { header in
            header.parentLocators[0].platformDataLength = UInt32(surrogates.count)
            header.parentUnicodeName = [0xD800, 0x0041]
        }
        let kind = try Self.openAndRead(bytes, named: "child.vhd", in: folder)
        guard case let .parentNotFound(_, tried) = kind else {
            Issue.record("got \(String(describing: kind))")
            return
        }
        #expect(!tried.isEmpty)
    }

    /// A locator naming a FIFO would block open(2) forever; only regular files and block
    /// devices are taken as parents.
    @Test func parentThatIsAFIFOIsNotOpened() throws {
        let folder = try TemporaryFolder()
        let bytes = Self.dynamicDisk(uniqueId: VHDUUID(high: 2, low: 2), parent: ("parent.vhd", VHDUUID(high: 1, low: 1)))
        #expect(mkfifo(folder.file("parent.vhd"), 0o644) == 0)
        let kind = try Self.openAndRead(bytes, named: "child.vhd", in: folder)
        guard case let .parentNotFound(_, tried) = kind else {
            Issue.record("got \(String(describing: kind))")
            return
        }
        #expect(tried.contains(folder.file("parent.vhd")))
    }

    /// 1000 files, each the parent of the next: refused at the depth limit (the files past it are never opened).
    @Test func aThousandDeepChain() throws {
        let folder = try TemporaryFolder()
        let base = TestDiskBuilder(virtualSize: 64 << 10, blockSize: Self.blockSize, uniqueId: VHDUUID(high: 0, low: 1))
        try base.write(to: folder.file("layer0.vhd"))
        for depth in 1..<1000 {
            let child = TestDiskBuilder(
                virtualSize: 64 << 10, blockSize: Self.blockSize, uniqueId: VHDUUID(high: 0, low: UInt64(depth + 1)),
                parent: ("layer\(depth - 1).vhd", VHDUUID(high: 0, low: UInt64(depth))))
            try child.write(to: folder.file("layer\(depth).vhd"))
        }
        let top = try [UInt8](Data(contentsOf: URL(fileURLWithPath: folder.file("layer999.vhd"))))
        #expect(try Self.openAndRead(top, named: "layer999.vhd", in: folder) == .chainTooDeep(limit: 256))
    }

    /// The file shrinks after it was opened: reads past the new end are errors, not traps.
    @Test func fileTruncatedWhileOpen() throws {
        let folder = try TemporaryFolder()
        let path = folder.file("shrinking.vhd")
        try Data(Self.dynamicDisk()).write(to: URL(fileURLWithPath: path))
        try Disk.withOpened(at: FilePath(path)) { disk in
            #expect(truncate(path, 4096) == 0)
            let error = #expect(throws: VHDError.self) { _ = try disk.read(at: 15 * 4096, count: 4096) }
            guard case .unexpectedEndOfFile = error?.kind else {
                Issue.record("got \(String(describing: error))")
                return
            }
            // The extent map needs sector bitmaps that are gone now: an error too, or nothing to read.
            do {
                _ = try disk.extents()
            } catch {
                #expect(error is VHDError)
            }
        }
    }

    /// The file grows after it was opened (another writer appends): the layout read at open
    /// time stays what is read.
    @Test func fileGrownWhileOpen() throws {
        let folder = try TemporaryFolder()
        let path = folder.file("growing.vhd")
        try Data(Self.dynamicDisk()).write(to: URL(fileURLWithPath: path))
        try Disk.withOpened(at: FilePath(path)) { disk in
            let before = try disk.read(at: 0, count: 64 << 10)
            let handle = try #require(FileHandle(forWritingAtPath: path))
            handle.seekToEndOfFile()
            handle.write(Data(repeating: 0xEE, count: 1 << 20))
            try handle.close()
            #expect(try disk.read(at: 0, count: 64 << 10) == before)
        }
    }
}
