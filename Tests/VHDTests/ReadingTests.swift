import Foundation
import SystemPackage
import TestSupport
import Testing
import VHD
import VHDFormat

/// Reading virtual bytes and the extent map, checked against the images' known content and
/// against qemu-img and vhdimount.
struct ReadingTests {
    /// Exports `path` to a raw file with the library and returns its path.
    static func export(_ path: String, into folder: TemporaryFolder, options: DiskOptions = DiskOptions()) throws -> String {
        let destination = folder.file(URL(fileURLWithPath: path).lastPathComponent + ".raw")
        try Disk.withOpened(at: FilePath(path), options: options) { disk in
            let output = try OutputFile.create(at: FilePath(destination), overwrite: true)
            _ = try RawExport.write(disk, to: output)
            try output.commit(sync: false)
        }
        return destination
    }

    @Test func dynamicImageReadsItsKnownContent() throws {
        // dynamic-8M.vhd: 0..4095 = 0xc1, 2096640..2097151 = 0xc3, 8388608..8390655 = 0xc2.
        try Disk.withOpened(at: FilePath(TestPaths.testImage("dynamic-8M.vhd"))) { disk in
            #expect(disk.virtualSize == 8_390_656)
            #expect(try disk.read(at: 0, count: 4096) == [UInt8](repeating: 0xC1, count: 4096))
            #expect(try disk.read(at: 4090, count: 12) == [UInt8](repeating: 0xC1, count: 6) + [UInt8](repeating: 0, count: 6))
            // A read spanning blocks 0 and 1 (1 unallocated) and the partial last block.
            #expect(try disk.read(at: 2_097_150, count: 4) == [0xC3, 0xC3, 0, 0])
            #expect(try disk.read(at: 8_388_600, count: 2056) == [UInt8](repeating: 0, count: 8) + [UInt8](repeating: 0xC2, count: 2048))
            #expect(throws: VHDError.self) { try disk.read(at: 8_390_000, count: 1000) }
            #expect(try disk.read(at: 8_390_656, count: 0) == [])
            // QEMU sets every bitmap bit of an allocated block: whole blocks are data.
            let extents = try disk.extents()
            #expect(extents == [
                Extent(start: 0, length: 2_097_152, source: .data(layer: 0, hostOffset: 2560)),
                Extent(start: 2_097_152, length: 6_291_456, source: .zero(layer: 0)),
                Extent(start: 8_388_608, length: 2048, source: .data(layer: 0, hostOffset: 4101 * 512 + 512)),
            ])
        }
    }

    @Test func extentsOfAnyRangeAreClippedToIt() throws {
        try Disk.withOpened(at: FilePath(TestPaths.testImage("dynamic-8M.vhd"))) { disk in
            let first = try disk.extents(in: 4000..<2_097_000)
            #expect(first == [Extent(start: 4000, length: 2_093_000, source: .data(layer: 0, hostOffset: 2560 + 4000))])
            let second = try disk.extents(in: 2_097_000..<2_097_200)
            #expect(second == [
                Extent(start: 2_097_000, length: 152, source: .data(layer: 0, hostOffset: 2560 + 2_097_000)),
                Extent(start: 2_097_152, length: 48, source: .zero(layer: 0)),
            ])
            #expect(throws: VHDError.self) { try disk.extents(in: 0..<8_390_657) }
        }
    }

    @Test func randomReadsEqualTheRawExport() throws {
        let folder = try TemporaryFolder()
        for name in ["dynamic-8M.vhd", "dynamic-5M-force.vhd", "fixed-3M-chs.vhd", "dynamic-1sector.vhd"] {
            let path = TestPaths.testImage(name)
            let raw = try Array(Data(contentsOf: URL(fileURLWithPath: try Self.export(path, into: folder))))
            var random = SeededGenerator(seed: 42)
            try Disk.withOpened(at: FilePath(path)) { disk in
                for _ in 0..<120 {
                    let offset = Int.random(in: 0..<raw.count, using: &random)
                    let count = Int.random(in: 0...min(raw.count - offset, 1 << 20), using: &random)
                    let bytes = try disk.read(at: UInt64(offset), count: count)
                    #expect(bytes == Array(raw[offset..<(offset + count)]), "\(name) \(offset)+\(count)")
                }
            }
        }
    }

    /// The raw sha256 of each corpus image, from ../shared/vhd-corpus/README.md (the qemu-img
    /// column, or vhdimount's where qemu refuses or reads a different size).
    static let corpusHashes: [(String, String)] = [
        ("dfvfs-image.vhd", "c6db12a7db548e193c29420c1b4533e4708b20c5033db5cc29ef075d48316d25"),
        ("dissect-dynamic.vhd", "ecff2ef6615a3cddc6a6885f1c6d9cf13a232697e1dc6575f2c2f01f57247784"),
        ("dissect-fixed.vhd", "459325ab1fcd1d5ec9854cba790ee26378317cda177ffc1072008a1df88e6463"),
        ("freebsd-img-1x1-512-gpt.vhdf", "7bec1f3798a95e2b33eba7e24531bbe40958c8498fa30947a8fb057031908c68"),
        ("qemu/qemu-fixed-4M.vhd", "3c1d0609bb06849fcbd8c673ba98e7b4953f82931acf94aa77ba8a53a906e97d"),
        ("qemu/qemu-dynamic-64M.vhd", "085e0d5d4eb8c2511f4ec25e0a0723ff34a6eabbc8d946a61e4c66dccffae346"),
        ("qemu/qemu-fixed-2M-force_size.vhd", "3beee91536b95ef605be4aff9cb6759fa6ccf3a95d335c2f1282cc51503dc435"),
    ]

    @Test(arguments: corpusHashes.filter { TestPaths.hasCorpusImage($0.0) })
    func corpusRawContentMatchesItsReadme(file: String, sha256: String) throws {
        let folder = try TemporaryFolder()
        let path = try #require(TestPaths.corpusImage(file))
        let raw = try Self.export(path, into: folder, options: DiskOptions(open: OpenOptions(checksumPolicy: .ignore)))
        #expect(try FileComparison.sha256(raw) == sha256)
    }

    @Test(.enabled(if: TestPaths.hasCorpusImage("dfvfs-image-differential.vhd"), Comment(rawValue: TestPaths.corpusMissing)))
    func corpusDifferencingDiskReadsThroughItsParentAsVhdimountDoes() throws {
        let folder = try TemporaryFolder()
        try FileManager.default.copyItem(atPath: try #require(TestPaths.corpusImage("dfvfs-image-differential.vhd")), toPath: folder.file("child.vhd"))
        try FileManager.default.copyItem(atPath: try #require(TestPaths.corpusImage("dfvfs-image.vhd")), toPath: folder.file("image.vhd"))
        let options = DiskOptions(open: OpenOptions(checksumPolicy: .ignore))
        let raw = try Self.export(folder.file("child.vhd"), into: folder, options: options)
        #expect(try FileComparison.sha256(raw) == "c6db12a7db548e193c29420c1b4533e4708b20c5033db5cc29ef075d48316d25")
        try Disk.withOpened(at: FilePath(folder.file("child.vhd")), options: options) { disk in
            #expect(disk.layers.count == 2)
            #expect(disk.layers[1].file.name == folder.file("image.vhd"))
        }
    }

    @Test(.enabled(if: TestPaths.hasCorpusImage("dfvfs-fat-differential.vhd"), Comment(rawValue: TestPaths.corpusMissing)))
    func windowsDifferencingDiskWithoutItsParentListsEveryPathTried() throws {
        let path = try #require(TestPaths.corpusImage("dfvfs-fat-differential.vhd"))
        let folder = path.replacingOccurrences(of: "/dfvfs-fat-differential.vhd", with: "")
        let error = #expect(throws: VHDError.self) { try Disk.withOpened(at: FilePath(path)) { _ in } }
        #expect(error?.kind == .parentNotFound(
            name: "C:\\Projects\\dfvfs\\test_data\\fat-parent.vhd",
            tried: ["\(folder)/fat-parent.vhd", "C:/Projects/dfvfs/test_data/fat-parent.vhd"]))
    }
}
