import Foundation
import SystemPackage
import TestSupport
import Testing
import VHD
import VHDFormat

/// Occupied size: every figure against an independent count over the bytes the test put there
/// (or that qemu-img reads), at 512 B, 4 KiB and 4 MiB granules; target regions and cost.
struct OccupiedSizeTests {
    static let granularities = [512, 4096, 4 << 20]

    /// The oracle: bytes of the granules of `bytes` (aligned to 0, the last one short) that
    /// hold a non-zero byte, by a plain loop over the array.
    static func nonZeroBytes(_ bytes: [UInt8], granularity: Int) -> UInt64 {
        var total: UInt64 = 0
        var start = 0
        while start < bytes.count {
            let end = min(start + granularity, bytes.count)
            if bytes[start..<end].contains(where: { $0 != 0 }) { total += UInt64(end - start) }
            start = end
        }
        return total
    }

    static func measure(_ path: String, granularity: OccupiedSize.Granularity, parent: String? = nil) throws -> OccupiedSize {
        try Disk.withOpened(at: FilePath(path), options: DiskOptions(parentPath: parent.map { FilePath($0) })) { disk in
            try OccupiedSize.measure(disk, granularity: granularity)
        }
    }

    static func measure(_ path: String, granularity: Int) throws -> OccupiedSize {
        try measure(path, granularity: OccupiedSize.Granularity(bytes: UInt64(granularity)))
    }

    /// st_blocks x 512 and st_size as coreutils' stat prints them.
    static func statOracle(_ path: String) throws -> (size: UInt64, allocated: UInt64) {
        let output = try ExternalTool.run("/usr/bin/stat", ["-c", "%s %b %B", path])
        let fields = output.stdout.split(separator: " ").compactMap { UInt64($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        try #require(fields.count == 3, "stat printed \(output.stdout) \(output.stderr)")
        return (fields[0], fields[1] * fields[2])
    }

    /// Bytes of `path` stored by the filesystem inside `0..<limit`, by SEEK_DATA/SEEK_HOLE.
    static func storedBytes(_ path: String, below limit: Int64) throws -> UInt64 {
        try FileComparison.storedRanges(path).reduce(0) { total, range in
            total + UInt64(max(0, min(range.upperBound, limit) - range.lowerBound))
        }
    }

    /// A dynamic or differencing disk written with TestDiskBuilder, and the model of what it holds.
    struct Built {
        var builder: TestDiskBuilder
        var model: [UInt8]
        /// Sectors whose bitmap bits are set.
        var sectors: Set<Int> = []

        init(size: Int, blockSize: UInt32, uniqueId: VHDUUID, parent: (String, VHDUUID)? = nil, base: [UInt8]? = nil) {
            builder = TestDiskBuilder(virtualSize: UInt64(size), blockSize: blockSize, uniqueId: uniqueId, parent: parent)
            model = base ?? [UInt8](repeating: 0, count: size)
        }

        mutating func set(_ byte: UInt8, at offset: Int) {
            model[offset] = byte
            sectors.insert(offset / 512)
        }

        /// Marks a range of whole sectors as written with `byte`.
        mutating func fill(_ range: Range<Int>, with byte: UInt8) {
            model.replaceSubrange(range, with: repeatElement(byte, count: range.count))
            sectors.formUnion((range.lowerBound / 512)..<((range.upperBound + 511) / 512))
        }

        func write(to path: String) throws {
            var builder = builder
            for run in Self.runs(sectors.sorted()) {
                builder.write(Array(model[(run.lowerBound * 512)..<(run.upperBound * 512)]), at: UInt64(run.lowerBound * 512))
            }
            try builder.write(to: path)
        }

        var allocatedBlocks: Int { Set(sectors.map { $0 * 512 / Int(builder.blockSize) }).count }

        static func runs(_ sorted: [Int]) -> [Range<Int>] {
            var runs: [Range<Int>] = []
            for sector in sorted {
                if let last = runs.last, last.upperBound == sector {
                    runs[runs.count - 1] = last.lowerBound..<(sector + 1)
                } else {
                    runs.append(sector..<(sector + 1))
                }
            }
            return runs
        }
    }

    /// Single non-zero bytes at seeded random positions, bytes on both sides of sector and
    /// 4 KiB edges, the last byte of the disk, a whole block written with zeros (allocated,
    /// bitmap set, all zero) and zero sectors written beside data.
    static func scatteredDisk(seed: UInt64) -> Built {
        let size = 6 << 20 + 1536  // a partial last block
        var disk = Built(size: size, blockSize: 128 << 10, uniqueId: VHDUUID(high: 0x31, low: 0x31))
        var random = SeededGenerator(seed: seed)
        for _ in 0..<150 {
            disk.set(UInt8.random(in: 1...255, using: &random), at: Int.random(in: 0..<size, using: &random))
        }
        for edge in [512 * 700, 4096 * 300, 4096 * 301 + 512, 1 << 20, 4 << 20] {
            disk.set(0x7F, at: edge - 1)
            disk.set(0x80, at: edge)
        }
        disk.set(0xFF, at: size - 1)
        disk.fill((2 << 20)..<((2 << 20) + (128 << 10)), with: 0)  // block 16: allocated, all zero
        disk.fill((3 << 20)..<((3 << 20) + 8192), with: 0)  // zero sectors written...
        disk.set(0x01, at: (3 << 20) + 8192 + 100)  // ...beside data in the same block
        return disk
    }

    @Test(arguments: granularities)
    func dynamicDiskFiguresEqualAnIndependentCount(granularity: Int) throws {
        let folder = try TemporaryFolder()
        let disk = Self.scatteredDisk(seed: 42)
        try disk.write(to: folder.file("disk.vhd"))
        let size = try Self.measure(folder.file("disk.vhd"), granularity: granularity)
        #expect(size.virtualSize == UInt64(disk.model.count))
        #expect(size.nonZeroBytes == Self.nonZeroBytes(disk.model, granularity: granularity))
        #expect(size.writtenBytes == UInt64(disk.sectors.count * 512))
        #expect(size.allocatedBytes == UInt64(disk.allocatedBlocks) * (128 << 10))
        #expect(size.granularity == granularity)
        let host = try Self.statOracle(folder.file("disk.vhd"))
        #expect(size.fileSize == host.size && size.hostAllocatedBytes == host.allocated)
    }

    @Test func blockGranularityIsTheDisksBlockSize() throws {
        let folder = try TemporaryFolder()
        let disk = Self.scatteredDisk(seed: 7)
        try disk.write(to: folder.file("disk.vhd"))
        let size = try Self.measure(folder.file("disk.vhd"), granularity: .block)
        #expect(size.granularity == 128 << 10)
        #expect(size.nonZeroBytes == Self.nonZeroBytes(disk.model, granularity: 128 << 10))
    }

    @Test(arguments: [UInt64(1), 2, 3])
    func seededDisksAtEveryGranularity(seed: UInt64) throws {
        let folder = try TemporaryFolder()
        let disk = Self.scatteredDisk(seed: seed)
        try disk.write(to: folder.file("disk.vhd"))
        for granularity in [512, 1024, 4096, 65536, 1 << 20, 4 << 20, 64 << 20] {
            let expected = Self.nonZeroBytes(disk.model, granularity: granularity)
            // Small chunks: many windows and batches, counted on two threads.
            for chunkSize in [4096, 4 << 20] {
                let size = try Disk.withOpened(at: FilePath(folder.file("disk.vhd"))) { disk in
                    try OccupiedSize.measure(
                        disk, granularity: OccupiedSize.Granularity(bytes: UInt64(granularity)), options: CopyOptions(chunkSize: chunkSize))
                }
                #expect(size.nonZeroBytes == expected, "granularity \(granularity), chunks of \(chunkSize)")
            }
        }
    }

    /// A sparse fixed disk with bytes written here and there: holes are not allocated.
    @Test(arguments: granularities)
    func fixedDiskWithHoles(granularity: Int) throws {
        let folder = try TemporaryFolder()
        let path = folder.file("fixed.vhd")
        let size = 5 << 20 + 3584
        try WriteAPITests.create(.fixed, size: UInt64(size), at: path)
        var model = [UInt8](repeating: 0, count: size)
        var random = SeededGenerator(seed: 99)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        for round in 0..<40 {
            let offset = round == 0 ? size - 1 : Int.random(in: 0..<size, using: &random)
            let byte = UInt8.random(in: 1...255, using: &random)
            model[offset] = byte
            try handle.seek(toOffset: UInt64(offset))
            try handle.write(contentsOf: [byte])
        }
        try handle.close()
        let measured = try Self.measure(path, granularity: granularity)
        #expect(measured.nonZeroBytes == Self.nonZeroBytes(model, granularity: granularity))
        #expect(measured.writtenBytes == nil)
        let stored = try Self.storedBytes(path, below: Int64(size))
        #expect(measured.allocatedBytes == stored)
        #expect(stored < UInt64(size) / 2, "the file should be sparse here: \(stored) bytes stored")
        let host = try Self.statOracle(path)
        #expect(measured.fileSize == UInt64(size + 512) && measured.hostAllocatedBytes == host.allocated)
    }

    /// A fixed disk whose every byte was written (mostly zeros): all of it is allocated, only
    /// the non-zero granules are occupied.
    @Test(arguments: granularities)
    func fixedDiskWithZerosWritten(granularity: Int) throws {
        let folder = try TemporaryFolder()
        let path = folder.file("fixed.vhd")
        let size = 3 << 20
        var model = [UInt8](repeating: 0, count: size)
        var random = SeededGenerator(seed: 5)
        for _ in 0..<25 { model[Int.random(in: 0..<size, using: &random)] = UInt8.random(in: 1...255, using: &random) }
        model[4095] = 1
        model[4096] = 2
        let footer = Footer(
            dataOffset: Footer.noDataOffset, timestamp: VHDTimestamp(rawValue: 0), creatorApplication: .vhdtool,
            creatorVersion: 1, creatorHostOS: .windows, originalSize: UInt64(size), currentSize: UInt64(size),
            geometry: DiskGeometry(forSizeInBytes: UInt64(size)), diskType: .fixed,
            uniqueId: VHDUUID(high: 0x42, low: 0x42)
        ).withComputedChecksum().serialized()
        try Data(model + footer).write(to: URL(fileURLWithPath: path))
        let measured = try Self.measure(path, granularity: granularity)
        #expect(measured.allocatedBytes == UInt64(size))
        #expect(measured.nonZeroBytes == Self.nonZeroBytes(model, granularity: granularity))
        #expect(measured.writtenBytes == nil)
    }

    /// A raw image with holes.
    @Test func rawImage() throws {
        let folder = try TemporaryFolder()
        let path = folder.file("disk.img")
        var model = [UInt8](repeating: 0, count: 2 << 20)
        model[70_000] = 9
        model[(2 << 20) - 1] = 9
        FileManager.default.createFile(atPath: path, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.truncate(atOffset: UInt64(model.count))
        for offset in [70_000, (2 << 20) - 1] {
            try handle.seek(toOffset: UInt64(offset))
            try handle.write(contentsOf: [model[offset]])
        }
        try handle.close()
        for granularity in Self.granularities {
            let measured = try Self.measure(path, granularity: granularity)
            #expect(measured.nonZeroBytes == Self.nonZeroBytes(model, granularity: granularity))
            #expect(measured.allocatedBytes == (try Self.storedBytes(path, below: Int64(model.count))))
            #expect(measured.virtualSize == UInt64(model.count) && measured.writtenBytes == nil)
        }
    }

    /// A chain: sectors zeroed in the child over non-zero parent data count as zero; parent
    /// data the child leaves alone counts; the child's own figures are its layer's.
    @Test(arguments: granularities)
    func differencingChainReadsThroughParents(granularity: Int) throws {
        let folder = try TemporaryFolder()
        let size = 4 << 20
        let parentId = VHDUUID(high: 0x51, low: 0x51)
        var parent = Built(size: size, blockSize: 256 << 10, uniqueId: parentId)
        parent.fill(0..<(64 << 10), with: 0xAA)
        parent.fill((1 << 20)..<((1 << 20) + 4096), with: 0xBB)
        parent.fill((3 << 20)..<((3 << 20) + (256 << 10)), with: 0xCC)
        var random = SeededGenerator(seed: 77)
        for _ in 0..<30 { parent.set(UInt8.random(in: 1...255, using: &random), at: Int.random(in: 0..<size, using: &random)) }
        try parent.write(to: folder.file("base.vhd"))

        var child = Built(size: size, blockSize: 256 << 10, uniqueId: VHDUUID(high: 0x52, low: 0x52),
                          parent: ("base.vhd", parentId), base: parent.model)
        child.fill(0..<(64 << 10), with: 0)  // every parent sector of the first 64 KiB zeroed
        child.fill((1 << 20)..<((1 << 20) + 512), with: 0)  // one sector of the 0xBB run
        child.fill((3 << 20)..<((3 << 20) + (256 << 10)), with: 0)  // a whole parent block zeroed
        child.set(0x01, at: (2 << 20) + 511)
        child.set(0x02, at: size - 1)
        try child.write(to: folder.file("child.vhd"))

        let measured = try Self.measure(folder.file("child.vhd"), granularity: OccupiedSize.Granularity(bytes: UInt64(granularity)))
        #expect(measured.nonZeroBytes == Self.nonZeroBytes(child.model, granularity: granularity))
        #expect(measured.nonZeroBytes < Self.nonZeroBytes(parent.model, granularity: granularity) || granularity == 4 << 20)
        #expect(measured.writtenBytes == UInt64(child.sectors.count * 512))
        #expect(measured.allocatedBytes == UInt64(child.allocatedBlocks) * (256 << 10))
        let base = try Self.measure(folder.file("base.vhd"), granularity: OccupiedSize.Granularity(bytes: UInt64(granularity)))
        #expect(base.nonZeroBytes == Self.nonZeroBytes(parent.model, granularity: granularity))
    }

    /// Images made by qemu-img (TestImages and the corpus): non-zero bytes equal a count over
    /// `qemu-img convert -O raw`, and written bytes the data that `qemu-img map` reports
    /// (QEMU sets every bitmap bit of the blocks it allocates).
    @Test(arguments: ["dynamic-8M.vhd", "dynamic-5M-force.vhd", "dynamic-empty-16M.vhd", "dynamic-1sector.vhd",
                      "fixed-1M.vhd", "fixed-3M-chs.vhd", "corpus:qemu/qemu-dynamic-64M.vhd", "corpus:qemu/qemu-fixed-4M.vhd",
                      "corpus:dissect-dynamic.vhd", "corpus:dissect-fixed.vhd"])
    func agreesWithQemuImg(_ name: String) throws {
        guard let qemuImg = ExternalTool.find("qemu-img") else { return }
        let path: String
        if name.hasPrefix("corpus:") {
            guard let found = TestPaths.corpusImage(String(name.dropFirst(7))) else {
                print("skipped: \(TestPaths.corpusMissing)")
                return
            }
            path = found
        } else {
            path = TestPaths.testImage(name)
        }
        let folder = try TemporaryFolder()
        let convert = try ExternalTool.run(qemuImg, ["convert", "-f", "vpc", "-O", "raw", path, folder.file("disk.raw")])
        try #require(convert.status == 0, "\(convert.stderr)")
        let raw = try [UInt8](Data(contentsOf: URL(fileURLWithPath: folder.file("disk.raw"))))
        for granularity in Self.granularities {
            let measured = try Self.measure(path, granularity: granularity)
            #expect(measured.virtualSize == UInt64(raw.count))
            #expect(measured.nonZeroBytes == Self.nonZeroBytes(raw, granularity: granularity), "\(name) at \(granularity)")
        }
        let measured = try Self.measure(path, granularity: 512)
        let map = try ExternalTool.run(qemuImg, ["map", "--output=json", "-f", "vpc", path])
        let entries = try #require(JSONSerialization.jsonObject(with: Data(map.stdout.utf8)) as? [[String: Any]])
        let mapped = entries.filter { $0["data"] as? Bool == true && $0["zero"] as? Bool != true }
            .reduce(UInt64(0)) { $0 + UInt64(($1["length"] as? NSNumber)?.uint64Value ?? 0) }
        if measured.writtenBytes != nil, !name.contains("dissect") {
            #expect(measured.writtenBytes == mapped, "\(name)")
        }
        let host = try Self.statOracle(path)
        #expect(measured.fileSize == host.size && measured.hostAllocatedBytes == host.allocated)
    }

    /// The README's contents of dynamic-8M.vhd: 4096 + 512 + 2048 non-zero bytes; two blocks.
    @Test func dynamic8MFromItsDocumentedContents() throws {
        let size = try Self.measure(TestPaths.testImage("dynamic-8M.vhd"), granularity: 512)
        #expect(size.nonZeroBytes == 4096 + 512 + 2048)
        #expect(size.allocatedBytes == 2 * (2 << 20))
        #expect(size.writtenBytes == (2 << 20) + 2048)  // QEMU's all-ones bitmaps, inside the disk
        #expect(size.fileSize == 4_197_888)
    }

    // MARK: The gallery billing example

    /// The gallery documentation's example scaled to MiB: a 127 MiB OS disk occupying 10 MiB
    /// and an empty 32 MiB data disk, in 3 regions with 2 replicas each: 6 snapshots,
    /// 60 MiB stored, 20 MiB egress.
    @Test func galleryBillingExample() throws {
        let folder = try TemporaryFolder()
        try WriteAPITests.create(.dynamic, size: 127 << 20, at: folder.file("os.vhd"))
        try WriteAPITests.create(.dynamic, size: 32 << 20, at: folder.file("data.vhd"))
        try Disk.withOpened(at: FilePath(folder.file("os.vhd")), options: DiskOptions(writable: true)) { disk in
            try disk.write([UInt8](repeating: 0x5A, count: 6 << 20), at: 1 << 20)
            try disk.write([UInt8](repeating: 0xA5, count: 4 << 20), at: 100 << 20)
        }
        let os = try Self.measure(folder.file("os.vhd"), granularity: .sector)
        let data = try Self.measure(folder.file("data.vhd"), granularity: .sector)
        #expect(os.nonZeroBytes == 10 << 20 && data.nonZeroBytes == 0)
        let regions = try TargetRegion.parseList(["eastus", "westeurope", "southeastasia"], defaultReplicaCount: 2)
        let cost = try SnapshotCost(occupiedBytes: [os.nonZeroBytes, data.nonZeroBytes], regions: regions)
        #expect(cost.snapshots == 6)
        #expect(cost.storedBytes == 60 << 20)
        #expect(cost.egressBytes == 20 << 20)
        #expect(cost.regions.map(\.storedBytes) == [20 << 20, 20 << 20, 20 << 20])
        #expect(cost.regions.map(\.egressBytes) == [0, 10 << 20, 10 << 20])
        let total = try OccupiedTotal([os, data])
        #expect(total.nonZeroBytes == 10 << 20 && total.virtualSize == 159 << 20 && total.diskCount == 2)
    }

    @Test func costPerRegionFollowsItsReplicaCount() throws {
        let regions = try TargetRegion.parseList(["a=1", "b=3=Premium_LRS", "c"], defaultReplicaCount: 5)
        let cost = try SnapshotCost(occupiedBytes: [700, 300, 0], regions: regions)
        #expect(cost.regions.map(\.replicas) == [1, 3, 5])
        #expect(cost.regions.map(\.storedBytes) == [1000, 3000, 5000])
        #expect(cost.storedBytes == 9000 && cost.egressBytes == 2000 && cost.snapshots == 2 * 9)
        #expect(throws: SnapshotCostError.noRegions) { try SnapshotCost(occupiedBytes: [1], regions: []) }
        #expect(throws: SnapshotCostError.overflow) {
            try SnapshotCost(occupiedBytes: [UInt64.max / 2], regions: [TargetRegion(name: "a", replicaCount: 3, storageType: .standardLRS)])
        }
    }

    // MARK: Target regions, as az sig parses them

    @Test(arguments: [
        ("eastus", "eastus", 4, StorageAccountType.standardLRS),
        ("eastus=2", "eastus", 2, .standardLRS),
        ("eastus=standard_zrs", "eastus", 4, .standardZRS),
        ("eastus=PREMIUM_LRS", "eastus", 4, .premiumLRS),
        ("eastus=100=Standard_ZRS", "eastus", 100, .standardZRS),
        ("eastus=1=standard_lrs", "eastus", 1, .standardLRS),  // case-insensitive in three parts too (azure-cli#33880)
        ("East US=3", "East US", 3, .standardLRS),
    ])
    func parsesRegion(argument: String, name: String, count: Int, type: StorageAccountType) throws {
        let region = try TargetRegion(parsing: argument, defaultReplicaCount: 4)
        #expect(region == TargetRegion(name: name, replicaCount: count, storageType: type))
    }

    @Test(arguments: [
        ("=2", SnapshotCostError.emptyRegionName("=2")),
        ("", .emptyRegionName("")),
        ("eastus=", .neitherCountNorType("eastus=", part: "")),
        ("eastus=two", .neitherCountNorType("eastus=two", part: "two")),
        ("eastus=Standard_GRS", .neitherCountNorType("eastus=Standard_GRS", part: "Standard_GRS")),
        ("eastus=x=Standard_LRS", .invalidReplicaCount("eastus=x=Standard_LRS", part: "x")),
        ("eastus=Standard_LRS=2", .invalidReplicaCount("eastus=Standard_LRS=2", part: "Standard_LRS")),
        ("eastus=2=hot", .invalidStorageType("eastus=2=hot", part: "hot")),
        ("eastus=2=Standard_LRS=x", .invalidStorageType("eastus=2=Standard_LRS=x", part: "Standard_LRS=x")),
        ("eastus=0", .replicaCountOutOfRange(0, region: "eastus")),
        ("eastus=101", .replicaCountOutOfRange(101, region: "eastus")),
        ("eastus=-1=Premium_LRS", .replicaCountOutOfRange(-1, region: "eastus")),
        ("eastus=99999999999999999999", .neitherCountNorType("eastus=99999999999999999999", part: "99999999999999999999")),
    ])
    func refusesRegion(argument: String, error: SnapshotCostError) {
        #expect(throws: error) { try TargetRegion(parsing: argument) }
    }

    @Test func duplicateRegionsAndBadDefaultsAreRefused() {
        #expect(throws: SnapshotCostError.duplicateRegion("eastus", "eastus")) {
            try TargetRegion.parseList(["eastus", "westus", "eastus=2"])
        }
        #expect(throws: SnapshotCostError.duplicateRegion("eastus", "East US")) {
            try TargetRegion.parseList(["eastus", "East US"])
        }
        #expect(throws: SnapshotCostError.replicaCountOutOfRange(0, region: nil)) {
            try TargetRegion.parseList(["eastus"], defaultReplicaCount: 0)
        }
        #expect(throws: SnapshotCostError.replicaCountOutOfRange(101, region: nil)) {
            try TargetRegion.parseList([], defaultReplicaCount: 101)
        }
    }

    // MARK: Granularity, progress, cancellation

    @Test(arguments: [UInt64(0), 1, 256, 511, 513, 1000, 3 << 20, 128 << 20, UInt64.max])
    func refusesGranularity(_ bytes: UInt64) {
        #expect(throws: OccupiedSizeError.invalidGranularity(bytes)) { try OccupiedSize.Granularity(bytes: bytes) }
    }

    @Test func acceptsEveryPowerOfTwoFrom512To64MiB() throws {
        for shift in 9...26 { #expect(try OccupiedSize.Granularity(bytes: 1 << UInt64(shift)).bytes == 1 << shift) }
    }

    @Test func progressEndsAtTheVirtualSizeAndCancellationStops() throws {
        let folder = try TemporaryFolder()
        var disk = Self.scatteredDisk(seed: 3)
        disk.fill((4 << 20)..<(5 << 20), with: 0x33)
        try disk.write(to: folder.file("disk.vhd"))
        var reports: [(UInt64, UInt64)] = []
        let options = CopyOptions(progress: { reports.append(($0, $1)) }, chunkSize: 4096)  // batches of 256 KiB
        let size = try Disk.withOpened(at: FilePath(folder.file("disk.vhd"))) { try OccupiedSize.measure($0, options: options) }
        #expect(size.nonZeroBytes == Self.nonZeroBytes(disk.model, granularity: 512))  // small chunks: same count
        #expect(reports.count > 2)
        #expect(zip(reports, reports.dropFirst()).allSatisfy { $0.0 <= $1.0 })
        #expect(reports.last.map { $0 == (size.virtualSize, size.virtualSize) } == true)
        let error = #expect(throws: VHDError.self) {
            try Disk.withOpened(at: FilePath(folder.file("disk.vhd"))) {
                try OccupiedSize.measure($0, options: CopyOptions(isCancelled: { true }))
            }
        }
        #expect(error?.kind == .cancelled)
    }
}
