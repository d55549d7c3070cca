import Foundation
import SystemPackage
import TestSupport
import Testing
import VHD

#if canImport(Glibc)
import Glibc
#endif

/// `vhdtool resize`, `reparent`, `merge` and `compact` killed with SIGKILL before each of their
/// writes in turn (Tests/FaultInjection/fault.c, loaded with LD_PRELOAD): after every kill the
/// disk, or the chain, opens with our reader and reads its old state or its new one, and the
/// same command run again finishes and gives the new state.
struct InPlaceFaultTests {
    typealias Fault = FaultInjectionTests

    /// What one command's kill runs covered.
    struct Coverage {
        /// The pwrite calls of an uninterrupted run.
        var writes: Int
        /// The runs killed (before write 1, 2, ...).
        var killed: Int
    }

    /// The writes to kill before, of `total`: every one up to 40; else the first 15, the last
    /// 15 and 10 spread between.
    static func killPoints(_ total: Int) -> [Int] {
        guard total > 40 else { return Array(1...max(total, 1)) }
        let between = (1...10).map { 15 + $0 * (total - 30) / 11 }
        return Array(Set(Array(1...15) + between + Array((total - 14)...total))).sorted()
    }

    @Test func killPointsCoverTheFirstAndLastWrites() {
        #expect(Self.killPoints(1) == [1])
        #expect(Self.killPoints(40) == Array(1...40))
        let many = Self.killPoints(500)
        #expect(many.count == 40 && Array(many.prefix(15)) == Array(1...15) && Array(many.suffix(15)) == Array(486...500))
    }

    /// Runs vhdtool with `arguments(run)` on copies of the folder `pristine`, each copy a folder
    /// `run` in `runs`: once to the end, counting its writes (`finished` checks the result and
    /// the output); then killed before each write of ``killPoints(_:)``: `interrupted` checks
    /// the files, the command is run again and `finished` checks that run. After each finished
    /// run the files named `settled` warn exactly as after the uninterrupted run, which leaves
    /// no trace of an interruption (a footer copy that differs, a BAT longer than needed, ...).
    static func killEverywhere(
        _ pristine: String, in runs: TemporaryFolder, settled: [String], arguments: (String) -> [String],
        interrupted: (_ run: String, _ context: String) throws -> Void,
        finished: (_ run: String, _ output: ExternalTool.Output, _ context: String) throws -> Void
    ) throws -> Coverage {
        let whole = runs.file("uninterrupted")
        try FileManager.default.copyItem(atPath: pristine, toPath: whole)
        let countFile = runs.file("writes.txt")
        let first = try Fault.vhdtool(arguments(whole), faults: ["FAULT_COUNT_FILE": countFile])
        try #require(first.status == 0, "\(arguments(whole)): \(first.stderr)")
        try finished(whole, first, "uninterrupted")
        let expectedWarnings = try settled.map { try warnings(whole + "/" + $0) }
        for (name, found) in zip(settled, expectedWarnings) {
            #expect(!found.contains(where: isTraceOfAnInterruption), "uninterrupted: \(name): \(found)")
        }
        let total = try #require(Int(String(contentsOfFile: countFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        try #require(total > 0)
        let points = killPoints(total)
        for write in points {
            let run = runs.file("killed-\(write)")
            try FileManager.default.copyItem(atPath: pristine, toPath: run)
            let context = "killed before write \(write) of \(total)"
            let killed = try Fault.vhdtool(arguments(run), faults: ["FAULT_KILL_AT_WRITE": "\(write)"])
            #expect(Fault.killedBySIGKILL(killed), "\(context): status \(killed.status) \(killed.stderr)")
            try interrupted(run, context)
            let again = try ConvertTests.vhdtool(arguments(run))
            #expect(again.status == 0, "\(context), run again: \(again.stderr)")
            if again.status == 0 {
                try finished(run, again, "\(context), run again")
                for (name, expected) in zip(settled, expectedWarnings) {
                    let found = try warnings(run + "/" + name)
                    #expect(found == expected, "\(context), run again: \(name) warns \(found)")
                }
            }
            try FileManager.default.removeItem(atPath: run)
        }
        return Coverage(writes: total, killed: points.count)
    }

    // MARK: Reading back

    /// Whether `count` bytes of `a` and `b` from `start` are equal (memcmp: the checks compare
    /// megabytes many times over, and the tests are built without optimization).
    static func same(_ a: [UInt8], _ b: [UInt8], from start: Int = 0, count: Int) -> Bool {
        guard start + count <= a.count, start + count <= b.count else { return false }
        guard count > 0 else { return true }
        return a.withUnsafeBytes { x in b.withUnsafeBytes { y in memcmp(x.baseAddress! + start, y.baseAddress! + start, count) == 0 } }
    }

    /// Whether `a` and `b` are equal (`==` on megabyte arrays is slow in a debug build).
    static func same(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        a.count == b.count && same(a, b, count: a.count)
    }

    /// The whole virtual disk at `path`, through its chain.
    static func content(_ path: String) throws -> [UInt8] {
        try Disk.withOpened(at: FilePath(path)) { try $0.read(at: 0, count: Int($0.virtualSize)) }
    }

    /// Whether the disk at `path` has `size` bytes and reads `content` then zeros. Past
    /// `content` only its data extents are read (a disk grown to 1 GiB is not read whole).
    static func reads(_ path: String, _ content: [UInt8], size: UInt64) throws -> Bool {
        try Disk.withOpened(at: FilePath(path)) { disk in
            guard disk.virtualSize == size, UInt64(content.count) <= size else { return false }
            guard same(try disk.read(at: 0, count: content.count), content, count: content.count) else { return false }
            for extent in try disk.extents(in: UInt64(content.count)..<size) where extent.isData {
                var position = extent.start
                while position < extent.end {
                    let count = Int(min(1 << 20, extent.end - position))
                    let zeros = [UInt8](repeating: 0, count: count)
                    guard same(try disk.read(at: position, count: count), zeros, count: count) else { return false }
                    position += UInt64(count)
                }
            }
            return true
        }
    }

    /// "old", "new" or "neither" for the disk at `path`; a disk that does not open is an issue.
    static func state(_ path: String, old: (size: UInt64, content: [UInt8]), new: (size: UInt64, content: [UInt8]), _ context: String) -> String {
        do {
            if try reads(path, old.content, size: old.size) { return "old" }
            if try reads(path, new.content, size: new.size) { return "new" }
            return "neither"
        } catch {
            Issue.record("\(context): the disk does not open: \(error)")
            return "unreadable"
        }
    }

    /// The offsets of the sectors of `bytes` that are neither `old`'s nor `new`'s.
    static func sectorsNeitherOldNorNew(_ bytes: [UInt8], old: [UInt8], new: [UInt8]) -> [Int] {
        guard bytes.count == old.count, bytes.count == new.count else { return [0] }
        return stride(from: 0, to: bytes.count, by: 512).filter {
            !same(bytes, old, from: $0, count: 512) && !same(bytes, new, from: $0, count: 512)
        }
    }

    /// The warnings of the image at `path`, as `vhdtool inspect` lists them (checksums
    /// verified), but "not Azure-ready".
    static func warnings(_ path: String) throws -> [VHDWarning] {
        let found = try DiskImage.withOpened(at: FilePath(path), options: OpenOptions(checksumPolicy: .verify)) { $0.layout?.warnings ?? [] }
        return found.filter { if case .notAzureReady = $0 { false } else { true } }
    }

    /// Whether `warning` is what a stopped write leaves (the footer or its copy, the BAT's
    /// length, a fixed disk's trailing bytes).
    static func isTraceOfAnInterruption(_ warning: VHDWarning) -> Bool {
        switch warning {
        case .footerRecoveredFromCopy, .footerCopyMissing, .footerCopyDiffers, .fixedDiskTrailingBytes, .tableHasExtraEntries: true
        default: false
        }
    }

    /// The inode number of the file at `path`.
    static func inode(_ path: String) throws -> UInt64 {
        try #require(try FileManager.default.attributesOfItem(atPath: path)[.systemFileNumber] as? UInt64)
    }

    /// Bytes that read as one pattern per 4 KiB, never zero.
    static func pattern(_ count: Int, seed: UInt8) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count)
        for page in 0..<((count + 4095) / 4096) {
            bytes.append(contentsOf: repeatElement(UInt8(truncatingIfNeeded: page) &* 31 &+ seed | 1, count: min(4096, count - page * 4096)))
        }
        return bytes
    }

    /// Writes `bytes` at `offset` into the disk at `path` with `vhdtool write`.
    static func write(_ bytes: [UInt8], at offset: Int, into path: String, model: inout [UInt8]) throws {
        let input = path + ".input"
        try Data(bytes).write(to: URL(fileURLWithPath: input))
        defer { try? FileManager.default.removeItem(atPath: input) }
        let written = try ConvertTests.vhdtool(["write", path, "--offset", "\(offset)", "--input", input])
        try #require(written.status == 0, "\(written.stderr)")
        model.replaceSubrange(offset..<(offset + bytes.count), with: bytes)
    }

    // MARK: resize

    /// Resizes `disk` (in `pristine`, with its parents if any) to `newSize`, killed everywhere:
    /// it reads at the old size as before, or at the new size as before cut or padded with
    /// zeros. Returns the uninterrupted run's JSON and the coverage.
    static func resizeKilledEverywhere(_ pristine: TemporaryFolder, disk: String = "disk.vhd", to newSize: Int) throws -> (report: [String: Any], coverage: Coverage) {
        let before = try content(pristine.file(disk))
        let old = (size: UInt64(before.count), content: before)
        let new = (size: UInt64(newSize), content: Array(before.prefix(newSize)))
        #expect(before.dropFirst(newSize).allSatisfy { $0 == 0 }, "the test wrote past the new end")
        let runs = try TemporaryFolder()
        var report: [String: Any] = [:]
        let coverage = try killEverywhere(pristine.path, in: runs, settled: [disk]) { run in
            ["resize", run + "/" + disk, "--size", "\(newSize)", "--json"]
        } interrupted: { run, context in
            let found = state(run + "/" + disk, old: old, new: new, context)
            #expect(found == "old" || found == "new", "\(context): the disk reads \(found)")
        } finished: { run, output, context in
            #expect(state(run + "/" + disk, old: old, new: new, context) == "new", "\(context)")
            if context == "uninterrupted" { report = try InPlaceCommandTests.json(output) }
        }
        return (report, coverage)
    }

    /// `disk.vhd` in a folder of its own: `vhdtool create` with `create`, then `writes`.
    static func diskToResize(create: [String], size: Int, writes: [(offset: Int, bytes: [UInt8])]) throws -> TemporaryFolder {
        let pristine = try TemporaryFolder()
        let made = try ConvertTests.vhdtool(["create", pristine.file("disk.vhd"), "--size", "\(size)"] + create)
        try #require(made.status == 0, "\(made.stderr)")
        var scratch = [UInt8](repeating: 0, count: size)  // the content is read back from the file
        for (offset, bytes) in writes { try write(bytes, at: offset, into: pristine.file("disk.vhd"), model: &scratch) }
        return pristine
    }

    /// Growing a fixed disk: the old footer at the new end, the old footer's place zeroed,
    /// the new footer.
    @Test func growingAFixedDiskKilledAtEveryWrite() throws {
        let disk = try Self.diskToResize(
            create: ["--type", "fixed"], size: 4 << 20,
            writes: [(0, Self.pattern(1 << 20, seed: 1)), ((4 << 20) - 8192, Self.pattern(8192, seed: 2))])
        let (_, coverage) = try Self.resizeKilledEverywhere(disk, to: 6 << 20)
        #expect(coverage.writes >= 3 && coverage.killed == coverage.writes)
    }

    /// Shrinking a fixed disk: the new footer at the old end, then at the new end.
    @Test func shrinkingAFixedDiskKilledAtEveryWrite() throws {
        let disk = try Self.diskToResize(create: ["--type", "fixed"], size: 6 << 20, writes: [(1 << 20, Self.pattern(1 << 20, seed: 3))])
        let (_, coverage) = try Self.resizeKilledEverywhere(disk, to: 4 << 20)
        #expect(coverage.writes >= 2 && coverage.killed == coverage.writes)
    }

    /// Growing a dynamic disk (512 KiB blocks, 4.25 MiB: a partial last block holding data) to
    /// 1 GiB: its BAT (2048 entries, 8 KiB) grows over block 0, which moves to the end of the
    /// file, and the partial last block moves too.
    @Test func growingADynamicDiskThatMovesBlocksKilledAtEveryWrite() throws {
        let disk = try Self.diskToResize(
            create: ["--block-size", "512K"], size: (4 << 20) + (256 << 10),
            writes: [
                (0, Self.pattern(100 << 10, seed: 4)), ((1 << 20) + 4096, Self.pattern(64 << 10, seed: 5)),
                ((4 << 20) + (128 << 10), Self.pattern(128 << 10, seed: 6)),
            ])
        let (report, coverage) = try Self.resizeKilledEverywhere(disk, to: 1 << 30)
        #expect((report["movedBlocks"] as? NSNumber)?.intValue == 2, "\(report)")
        #expect(((report["unreachableBytes"] as? NSNumber)?.int64Value ?? 0) > 0, "\(report)")
        #expect(coverage.writes >= 10 && coverage.killed == coverage.writes)
    }

    /// Shrinking a dynamic disk whose dropped block is allocated (zeros written over data).
    @Test func shrinkingADynamicDiskKilledAtEveryWrite() throws {
        let disk = try Self.diskToResize(
            create: [], size: 8 << 20,
            writes: [
                (0, Self.pattern(1536 << 10, seed: 7)), ((3 << 20) + 512, Self.pattern(4096, seed: 8)),
                (6 << 20, Self.pattern(64 << 10, seed: 9)), (6 << 20, [UInt8](repeating: 0, count: 64 << 10)),
            ])
        let (report, coverage) = try Self.resizeKilledEverywhere(disk, to: 4 << 20)
        // Block 3 (its 512-byte bitmap and 2 MiB of data) stays in the file, unused.
        let unreachable = (report["unreachableBytes"] as? NSNumber)?.intValue
        #expect(unreachable == 512 + 2 * 1024 * 1024, "\(report)")
        #expect(coverage.writes >= 4 && coverage.killed == coverage.writes)
    }

    /// Growing a differencing disk built packed (``mergeChain(in:depth:)``: a BAT of 8 entries
    /// in one sector, its parent's path, then blocks) to 256 MiB: the BAT (512 entries, 2 KiB)
    /// grows over the path and the first block, which both move to the end of the file.
    @Test func growingADifferencingDiskThatMovesItsLocatorKilledAtEveryWrite() throws {
        let pristine = try TemporaryFolder()
        _ = try Self.mergeChain(in: pristine, depth: 2)
        let (report, coverage) = try Self.resizeKilledEverywhere(pristine, disk: "layer1.vhd", to: 256 << 20)
        #expect((report["movedLocators"] as? NSNumber)?.intValue == 1, "\(report)")
        #expect(((report["movedBlocks"] as? NSNumber)?.intValue ?? 0) >= 1, "\(report)")
        #expect(coverage.writes >= 8 && coverage.killed == coverage.writes)
    }

    // MARK: reparent

    /// Reparents `child` (in `pristine`, with its parent `parent`) to a copy of the parent in
    /// `moved`, killed everywhere: the child reads as before, through the old parent or the
    /// new; once finished, through the new even with the old one gone.
    static func reparentKilledEverywhere(_ pristine: TemporaryFolder, child: String, parent: String, moved: String) throws -> (report: [String: Any], coverage: Coverage) {
        try FileManager.default.createDirectory(atPath: pristine.file(moved), withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: pristine.file(parent), toPath: pristine.file(moved + "/" + parent))
        let expected = try content(pristine.file(child))
        let runs = try TemporaryFolder()
        /// Which parent the child opens with: "old", "new" or another.
        func parentFound(_ run: String) throws -> String {
            let opened = try Disk.withOpened(at: FilePath(run + "/" + child)) { disk in
                (disk.layers[1].file.path.string, try disk.read(at: 0, count: Int(disk.virtualSize)))
            }
            #expect(same(opened.1, expected), "\(run): the child's content changed")
            let node = try inode(opened.0)
            if node == (try inode(run + "/" + parent)) { return "old" }
            if node == (try inode(run + "/" + moved + "/" + parent)) { return "new" }
            return opened.0
        }
        var report: [String: Any] = [:]
        let coverage = try killEverywhere(pristine.path, in: runs, settled: [child]) { run in
            ["reparent", run + "/" + child, "--parent", run + "/" + moved + "/" + parent, "--json"]
        } interrupted: { run, context in
            do {
                let found = try parentFound(run)
                #expect(found == "old" || found == "new", "\(context): the child's parent is \(found)")
            } catch {
                Issue.record("\(context): the child does not open: \(error)")
            }
        } finished: { run, output, context in
            #expect(try parentFound(run) == "new", "\(context)")
            try FileManager.default.removeItem(atPath: run + "/" + parent)
            #expect(same(try content(run + "/" + child), expected), "\(context): the old parent removed")
            if context == "uninterrupted" { report = try InPlaceCommandTests.json(output) }
        }
        return (report, coverage)
    }

    /// A child built packed (TestDiskBuilder: no gap between its locator and its blocks):
    /// both new paths go to the end of the file, each followed by the footer, then the header.
    @Test func reparentingAppendingBothPathsKilledAtEveryWrite() throws {
        let pristine = try TemporaryFolder()
        _ = try InPlaceCommandTests.chain(in: pristine)
        let (report, coverage) = try Self.reparentKilledEverywhere(pristine, child: "layer1.vhd", parent: "layer0.vhd", moved: "moved")
        #expect(((report["bytesAppended"] as? NSNumber)?.intValue ?? 0) >= 1024, "\(report)")
        #expect(coverage.writes >= 5 && coverage.killed == coverage.writes)
    }

    /// A child made by `vhdtool create --parent`: the absolute path fits the gap before its
    /// first block, the relative one goes to the end.
    @Test func reparentingIntoAGapKilledAtEveryWrite() throws {
        let pristine = try TemporaryFolder()
        var scratch = [UInt8](repeating: 0, count: 8 << 20)  // the content is read back from the files
        #expect(try ConvertTests.vhdtool(["create", pristine.file("base.vhd"), "--size", "8M"]).status == 0)
        try Self.write(Self.pattern(3 << 20, seed: 10), at: 1 << 20, into: pristine.file("base.vhd"), model: &scratch)
        #expect(try ConvertTests.vhdtool(["create", pristine.file("child.vhd"), "--parent", pristine.file("base.vhd")]).status == 0)
        try Self.write(Self.pattern(64 << 10, seed: 11), at: 2 << 20, into: pristine.file("child.vhd"), model: &scratch)
        let (report, coverage) = try Self.reparentKilledEverywhere(pristine, child: "child.vhd", parent: "base.vhd", moved: "m")
        #expect((report["bytesAppended"] as? NSNumber)?.intValue == 512, "\(report)")
        #expect(coverage.writes >= 4 && coverage.killed == coverage.writes)
    }

    // MARK: merge

    /// layer0.vhd (4 MiB, 512 KiB blocks: data in blocks 0 and 6), layer1.vhd (its child:
    /// data over the parent's in block 0, in block 2, which the parent lacks, and zeros over the
    /// parent's data in block 6) and, with `depth` 3, layer2.vhd (data in block 4, which
    /// neither has, and zeros at the start). Built packed by TestDiskBuilder: the BAT, one
    /// sector with the parent's relative path, then the blocks.
    static func mergeChain(in folder: TemporaryFolder, depth: Int) throws -> [String] {
        let block = 512 << 10
        let layers: [[(offset: UInt64, bytes: [UInt8])]] = [
            [(0, pattern(256 << 10, seed: 0x11)), (UInt64(6 * block), pattern(128 << 10, seed: 0x33))],
            [
                (128 << 10, pattern(256 << 10, seed: 0x44)), (UInt64(2 * block + 4096), pattern((256 << 10) + 8192, seed: 0x55)),
                (UInt64(6 * block + (64 << 10)), [UInt8](repeating: 0, count: 32 << 10)),
            ],
            [(UInt64(4 * block + (128 << 10)), pattern(256 << 10, seed: 0x66)), (0, [UInt8](repeating: 0, count: 4096))],
        ]
        return try TestChain.write(size: 4 << 20, blockSize: UInt32(block), layers: Array(layers.prefix(depth)), in: folder.path)
    }

    /// `bytes` cut or padded with zeros to `count`.
    static func resized(_ bytes: [UInt8], to count: Int) -> [UInt8] {
        count <= bytes.count ? Array(bytes.prefix(count)) : bytes + [UInt8](repeating: 0, count: count - bytes.count)
    }

    /// Merges the top of the chain `names` (base first) in `pristine` into its parent or, with
    /// `all`, into its base, killed everywhere: the top reads as before, and the target reads
    /// at its old size or the top's, every sector as the target did (zeros past its old end)
    /// or as merged; once finished, the target reads as the top did and the merged files are
    /// gone.
    static func mergeKilledEverywhere(_ pristine: TemporaryFolder, chain names: [String], all: Bool) throws -> Coverage {
        let top = names[names.count - 1]
        let target = all ? names[0] : names[names.count - 2]
        let merged = try content(pristine.file(top))
        let oldTarget = try content(pristine.file(target))
        #expect(!same(merged, oldTarget))
        let runs = try TemporaryFolder()
        return try killEverywhere(pristine.path, in: runs, settled: [target]) { run in
            ["merge", run + "/" + top, "-q"] + (all ? ["--all"] : [])
        } interrupted: { run, context in
            do {
                #expect(same(try content(run + "/" + top), merged), "\(context): the top reads otherwise")
                let now = try content(run + "/" + target)
                #expect(now.count == oldTarget.count || now.count == merged.count, "\(context): \(target) has \(now.count) bytes")
                let mixed = sectorsNeitherOldNorNew(now, old: resized(oldTarget, to: now.count), new: resized(merged, to: now.count))
                #expect(mixed.isEmpty, "\(context): \(mixed.count) sectors of \(target) are neither old nor merged, the first at \(mixed.first ?? 0)")
            } catch {
                Issue.record("\(context): the chain does not open: \(error)")
            }
        } finished: { run, _, context in
            let now = try content(run + "/" + target)
            #expect(same(now, merged), "\(context)")
            for name in names where name != target && (all || name == top) {
                #expect(!FileManager.default.fileExists(atPath: run + "/" + name), "\(context): \(name) is still there")
            }
        }
    }

    @Test func mergingIntoTheParentKilledAtEveryWrite() throws {
        let pristine = try TemporaryFolder()
        _ = try Self.mergeChain(in: pristine, depth: 2)
        let coverage = try Self.mergeKilledEverywhere(pristine, chain: ["layer0.vhd", "layer1.vhd"], all: false)
        #expect(coverage.writes >= 3 && coverage.killed >= min(coverage.writes, 40))
    }

    @Test func mergingAChainIntoItsBaseKilledAtEveryWrite() throws {
        let pristine = try TemporaryFolder()
        _ = try Self.mergeChain(in: pristine, depth: 3)
        let coverage = try Self.mergeKilledEverywhere(pristine, chain: ["layer0.vhd", "layer1.vhd", "layer2.vhd"], all: true)
        #expect(coverage.writes >= 3 && coverage.killed >= min(coverage.writes, 40))
    }

    /// A child grown to 10 MiB over a 6 MiB parent: the merge grows the parent first (its BAT
    /// from 3 entries to 5, then the footer at the end and its copy at 0), then writes into it.
    @Test func mergingIntoASmallerParentKilledAtEveryWrite() throws {
        let pristine = try TemporaryFolder()
        var scratch = [UInt8](repeating: 0, count: 10 << 20)  // the content is read back from the files
        #expect(try ConvertTests.vhdtool(["create", pristine.file("base.vhd"), "--size", "6M"]).status == 0)
        try Self.write(Self.pattern(1 << 20, seed: 12), at: 0, into: pristine.file("base.vhd"), model: &scratch)
        #expect(try ConvertTests.vhdtool(["create", pristine.file("child.vhd"), "--parent", pristine.file("base.vhd")]).status == 0)
        #expect(try ConvertTests.vhdtool(["resize", pristine.file("child.vhd"), "--size", "10M"]).status == 0)
        try Self.write(Self.pattern(64 << 10, seed: 13), at: 512 << 10, into: pristine.file("child.vhd"), model: &scratch)
        try Self.write(Self.pattern(1 << 20, seed: 14), at: 8 << 20, into: pristine.file("child.vhd"), model: &scratch)
        let coverage = try Self.mergeKilledEverywhere(pristine, chain: ["base.vhd", "child.vhd"], all: false)
        #expect(coverage.writes >= 8 && coverage.killed == coverage.writes)
    }

    /// A target of 512 KiB blocks (data in one) under a child with 8 KiB in each of its 12
    /// blocks: the merge allocates eleven blocks in the target, over 40 writes (45 today), of
    /// which the first 15, the last 15 and 10 between are killed.
    @Test func mergingIntoManySmallBlocksKilledAtFirstAndLastWrites() throws {
        let pristine = try TemporaryFolder()
        var scratch = [UInt8](repeating: 0, count: 6 << 20)  // the content is read back from the files
        #expect(try ConvertTests.vhdtool(["create", pristine.file("base.vhd"), "--size", "6M", "--block-size", "512K"]).status == 0)
        try Self.write(Self.pattern(64 << 10, seed: 15), at: 1 << 20, into: pristine.file("base.vhd"), model: &scratch)
        #expect(try ConvertTests.vhdtool(["create", pristine.file("child.vhd"), "--parent", pristine.file("base.vhd")]).status == 0)
        var piece = Self.pattern(8 << 10, seed: 16)
        for block in 0..<12 {
            piece[0] = UInt8(block)
            try Self.write(piece, at: block * (512 << 10) + 4096 * block, into: pristine.file("child.vhd"), model: &scratch)
        }
        let coverage = try Self.mergeKilledEverywhere(pristine, chain: ["base.vhd", "child.vhd"], all: false)
        #expect(coverage.writes > 40 && coverage.killed == 40, "\(coverage)")
    }

    // MARK: compact

    /// `compact` writes a copy beside the disk and renames it over the disk at the end: killed
    /// before any write, the disk is byte for byte as it was. SIGKILL leaves the copy behind
    /// (a hidden `.NAME.*.vhdtool-partial`, which nothing reads: `rm` it); run again, compact
    /// finishes.
    @Test func compactKilledAtEveryWriteLeavesTheDiskAsItWas() throws {
        guard let qemuImg = ExternalTool.find("qemu-img"), let qemuIO = ExternalTool.find("qemu-io") else { return }
        let pristine = try TemporaryFolder()
        let disk = pristine.file("disk.vhd")
        #expect(try ExternalTool.run(qemuImg, ["create", "-f", "vpc", disk, "8M"]).status == 0)
        let wrote = try ExternalTool.run(qemuIO, [
            "-f", "vpc", "-c", "write -P 0x5a 0 1M", "-c", "write -P 0 3M 1M", "-c", "write -P 0x11 6M 64k", disk,
        ])
        #expect(wrote.status == 0, "\(wrote.stderr)")
        let expected = try Self.content(disk)
        let original = try FileComparison.sha256(disk)
        let runs = try TemporaryFolder()
        let coverage = try Self.killEverywhere(pristine.path, in: runs, settled: ["disk.vhd"]) { run in
            ["compact", run + "/disk.vhd", "-q", "--json"]
        } interrupted: { run, context in
            #expect(try FileComparison.sha256(run + "/disk.vhd") == original, "\(context): the disk changed")
            let others = try FileManager.default.contentsOfDirectory(atPath: run).filter { $0 != "disk.vhd" }
            #expect(others.allSatisfy { $0.hasPrefix(".disk.vhd.") && $0.hasSuffix(".vhdtool-partial") }, "\(context): \(others)")
        } finished: { run, output, context in
            #expect(Self.same(try Self.content(run + "/disk.vhd"), expected), "\(context)")
            let report = try InPlaceCommandTests.json(output)
            #expect((report["oldAllocatedBlocks"] as? NSNumber)?.intValue == 3, "\(context): \(report)")
            #expect((report["newAllocatedBlocks"] as? NSNumber)?.intValue == 2, "\(context): \(report)")
        }
        #expect(coverage.writes >= 5 && coverage.killed == coverage.writes)
    }
}
