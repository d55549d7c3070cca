import Foundation
import SystemPackage
import TestSupport
import Testing
import VHD

/// `vhdtool map` prints the extent map as it walks it: the same bytes as the whole list
/// encoded at once (how it printed before it streamed).
struct MapStreamTests {
    /// One `map --json` element, as the command's `Encodable` entry was.
    struct Entry: Encodable {
        var start: UInt64
        var length: UInt64
        var data: Bool
        var zero: Bool
        var depth: Int
        var offset: Int64?
    }

    /// What `map` printed when it built the whole list: JSON by JSONEncoder, or the table.
    static func listed(_ path: String, json: Bool) throws -> String {
        try Disk.withOpened(at: FilePath(path)) { disk in
            let extents = try disk.extents()
            if json {
                let entries = extents.map { extent in
                    switch extent.source {
                    case let .zero(layer):
                        Entry(start: extent.start, length: extent.length, data: false, zero: true, depth: layer, offset: nil)
                    case let .data(layer, hostOffset):
                        Entry(start: extent.start, length: extent.length, data: true, zero: false, depth: layer, offset: hostOffset)
                    }
                }
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
                return String(decoding: try encoder.encode(entries), as: UTF8.self) + "\n"
            }
            let files = disk.layers.map(\.file.name)
            func column(_ value: String) -> String { value + String(repeating: " ", count: max(1, 16 - value.count)) }
            func hex(_ value: UInt64) -> String { "0x" + String(value, radix: 16) }
            var text = "Offset          Length          Mapped to       File\n"
            for extent in extents {
                text += column(hex(extent.start)) + column(hex(extent.length))
                switch extent.source {
                case .zero: text += column("zero") + "\n"
                case let .data(layer, offset): text += column(hex(UInt64(offset))) + (layer < files.count ? files[layer] : "-") + "\n"
                }
            }
            return text
        }
    }

    static func map(_ path: String, json: Bool, in folder: TemporaryFolder) throws -> String {
        let vhdtool = try #require(ExternalTool.vhdtool, "vhdtool is not built")
        let output = folder.file("map.out")
        let result = try ExternalTool.run(vhdtool, ["map", path] + (json ? ["--json"] : []), stdoutTo: output)
        #expect(result.status == 0, "\(result.stderr)")
        return try String(contentsOfFile: output, encoding: .utf8)
    }

    static let images = ["fixed-1M.vhd", "fixed-3M-chs.vhd", "fixed-legacy-511.vhd", "dynamic-8M.vhd",
                         "dynamic-5M-force.vhd", "dynamic-empty-16M.vhd", "dynamic-1sector.vhd", "raw-1M.img"]

    @Test(arguments: images, [false, true])
    func streamedMapEqualsTheListedOne(_ name: String, json: Bool) throws {
        let folder = try TemporaryFolder()
        let path = TestPaths.testImage(name)
        #expect(try Self.map(path, json: json, in: folder) == Self.listed(path, json: json))
    }

    /// 24 blocks of alternating bitmap bits, with and without data: 98 thousand extents.
    @Test(arguments: [false, true])
    func streamedMapOfAFragmentedDiskEqualsTheListedOne(json: Bool) throws {
        let folder = try TemporaryFolder()
        let path = folder.file("fragmented.vhd")
        try FragmentedDisk.create(at: path, virtualSize: 64 << 20, blockCount: 24, dataByte: json ? 0x5A : nil)
        #expect(try Self.map(path, json: json, in: folder) == Self.listed(path, json: json))
    }

    @Test func emptyDiskMapsToAnEmptyList() throws {
        let folder = try TemporaryFolder()
        let path = folder.file("empty.img")
        FileManager.default.createFile(atPath: path, contents: Data())
        #expect(try Self.map(path, json: true, in: folder) == Self.listed(path, json: true))
    }
}
