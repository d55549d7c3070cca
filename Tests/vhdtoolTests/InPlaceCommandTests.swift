import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `vhdtool resize`, `compact`, `merge` and `reparent`, run as a user runs them.
struct InPlaceCommandTests {
    static func run(_ arguments: [String]) throws -> ExternalTool.Output { try ConvertTests.vhdtool(arguments) }

    static func json(_ output: ExternalTool.Output) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any])
    }

    /// The virtual disk flattened to raw by vhdtool convert.
    static func raw(_ path: String, in folder: TemporaryFolder) throws -> Data {
        let out = folder.file("flat-\(UUID().uuidString).raw")
        let converted = try run(["convert", path, out, "--to", "raw", "-q"])
        #expect(converted.status == 0, "\(converted.stderr)")
        defer { try? FileManager.default.removeItem(atPath: out) }
        return try Data(contentsOf: URL(fileURLWithPath: out))
    }

    /// layer0.vhd (8 MiB, data), layer1.vhd (its child: new data, zeros over the parent's
    /// data) and, with `depth` 3, layer2.vhd; built byte by byte (qemu-io cannot write
    /// differencing disks: it puts blocks over the locators).
    static func chain(in folder: TemporaryFolder, depth: Int = 2) throws -> [String] {
        func fill(_ byte: UInt8, _ count: Int) -> [UInt8] { [UInt8](repeating: byte, count: count) }
        let layers: [[(offset: UInt64, bytes: [UInt8])]] = [
            [(0, fill(0x11, 1 << 20)), (3 << 20, fill(0x22, 64 << 10)), (6 << 20, fill(0x33, 512 << 10))],
            [(512 << 10, fill(0x44, 1 << 20)), (3 << 20, fill(0, 32 << 10)), (2 << 20, fill(0x55, 1 << 20))],
            [(2560 << 10, fill(0x66, 8192)), (0, fill(0, 4096))],
        ]
        return try TestChain.write(size: 8 << 20, layers: Array(layers.prefix(depth)), in: folder.path)
    }

    @Test func resizeGrowsAndShrinksAndSaysSo() throws {
        let folder = try TemporaryFolder()
        #expect(try Self.run(["convert", TestPaths.testImage("dynamic-8M.vhd"), folder.file("d.vhd")]).status == 0)
        let before = try Self.raw(folder.file("d.vhd"), in: folder)
        let grown = try Self.run(["resize", folder.file("d.vhd"), "--size", "1G", "--json"])
        #expect(grown.status == 0, "\(grown.stderr)")
        let report = try Self.json(grown)
        #expect((report["newSize"] as? NSNumber)?.uint64Value == 1 << 30)
        #expect(report["diskType"] as? String == "dynamic")
        let after = try Self.raw(folder.file("d.vhd"), in: folder)
        #expect(after.prefix(before.count) == before && after.count == 1 << 30)
        #expect(after.dropFirst(before.count).allSatisfy { $0 == 0 })
        let refused = try Self.run(["resize", folder.file("d.vhd"), "--size", "1M"])
        #expect(refused.status != 0 && refused.stderr.contains("would cut off data"), "\(refused.stderr)")
        let azure = try Self.run(["resize", folder.file("d.vhd"), "--size", "1000000000", "--azure"])
        #expect(azure.status == 0 && azure.stderr.contains("rounded up"), "\(azure.stderr)")
        if let qemuImg = ExternalTool.find("qemu-img") {
            let info = try ExternalTool.run(qemuImg, ["info", "--output=json", "-f", "vpc", folder.file("d.vhd")])
            #expect(info.stdout.contains("\"virtual-size\": 1000341504"), "\(info.stdout)")
        }
    }

    @Test func compactReportsWhatItReclaimedAndRefusesFixedDisks() throws {
        let folder = try TemporaryFolder()
        #expect(try Self.run(["create", folder.file("d.vhd"), "--size", "16M"]).status == 0)
        guard let qemuIO = ExternalTool.find("qemu-io") else { return }
        #expect(try ExternalTool.run(qemuIO, ["-f", "vpc", "-c", "write -P 0x5a 0 1M", "-c", "write -z 4M 4M", "-c", "write -P 0 10M 2M", folder.file("d.vhd")]).status == 0)
        let before = try Self.raw(folder.file("d.vhd"), in: folder)
        let compacted = try Self.run(["compact", folder.file("d.vhd"), "--json"])
        #expect(compacted.status == 0, "\(compacted.stderr)")
        let report = try Self.json(compacted)
        #expect(((report["bytesReclaimed"] as? NSNumber)?.int64Value ?? 0) > 0, "\(report)")
        #expect((report["newAllocatedBlocks"] as? NSNumber)?.intValue == 1)
        #expect(try Self.raw(folder.file("d.vhd"), in: folder) == before)
        let text = try Self.run(["compact", folder.file("d.vhd")])
        #expect(text.status == 0 && text.stdout.contains("reclaimed"), "\(text.stdout)")
        #expect(try Self.run(["create", folder.file("f.vhd"), "--size", "1M", "--type", "fixed"]).status == 0)
        let fixed = try Self.run(["compact", folder.file("f.vhd")])
        #expect(fixed.status != 0 && fixed.stderr.contains("convert it to a dynamic disk"), "\(fixed.stderr)")
    }

    /// Storage the filesystem allocates to the file at `path` (st_blocks x 512), as du counts.
    static func allocatedBytes(_ path: String) throws -> Int64 {
        var status = stat()
        try #require(stat(path, &status) == 0, "stat \(path)")
        return Int64(status.st_blocks) * 512
    }

    /// A QEMU-made disk with nothing to drop: compacting lays its blocks out 4 KiB-aligned,
    /// which makes the file a little larger (holes) while it takes no more storage. What is
    /// reclaimed is storage, measured as du does, never negative here.
    @Test func compactReportsTheStorageFreedNotTheFileSizeChange() throws {
        guard let qemuImg = ExternalTool.find("qemu-img"), let qemuIO = ExternalTool.find("qemu-io") else { return }
        let folder = try TemporaryFolder()
        let disk = folder.file("q.vhd")
        #expect(try ExternalTool.run(qemuImg, ["create", "-f", "vpc", disk, "16M"]).status == 0)
        #expect(try ExternalTool.run(qemuIO, ["-f", "vpc", "-c", "write -P 0x5a 0 1M", "-c", "write -P 0x11 5M 64k", disk]).status == 0)
        let before = try Self.allocatedBytes(disk)
        let compacted = try Self.run(["compact", disk, "--json"])
        #expect(compacted.status == 0, "\(compacted.stderr)")
        let report = try Self.json(compacted)
        func number(_ key: String) -> Int64? { (report[key] as? NSNumber)?.int64Value }
        #expect(number("oldAllocatedBlocks") == 2 && number("newAllocatedBlocks") == 2, "\(report)")
        #expect(number("oldAllocatedBytes") == before, "\(report)")
        #expect(number("newAllocatedBytes") == (try Self.allocatedBytes(disk)), "\(report)")
        #expect(number("bytesReclaimed") == before - (try Self.allocatedBytes(disk)), "\(report)")
        #expect((number("bytesReclaimed") ?? -1) >= 0, "\(report)")
        let size = try FileManager.default.attributesOfItem(atPath: disk)[.size] as? NSNumber
        #expect(number("newFileSize") == size?.int64Value, "\(report)")
        let text = try Self.run(["compact", disk])
        #expect(text.status == 0 && text.stdout.contains("reclaimed") && text.stdout.contains("allocated"), "\(text.stdout)")
    }

    /// Shrinking leaves the dropped blocks in the file: resize says how many bytes, and that
    /// compact reclaims them; compact then does.
    @Test func shrinkSaysWhatStaysInTheFileUntilCompact() throws {
        let folder = try TemporaryFolder()
        let disk = folder.file("d.vhd")
        #expect(try Self.run(["create", disk, "--size", "8M"]).status == 0)
        try Data(repeating: 0x5A, count: 1 << 20).write(to: URL(fileURLWithPath: folder.file("data")))
        try Data(count: 1 << 20).write(to: URL(fileURLWithPath: folder.file("zeros")))
        for (offset, input) in [(0, "data"), (6 << 20, "data"), (6 << 20, "zeros")] {  // block 3 ends up all zeros
            #expect(try Self.run(["write", disk, "--offset", "\(offset)", "--input", folder.file(input)]).status == 0)
        }
        try FileManager.default.copyItem(atPath: disk, toPath: folder.file("e.vhd"))
        let shrunk = try Self.run(["resize", disk, "--size", "4M", "--json"])
        #expect(shrunk.status == 0, "\(shrunk.stderr)")
        let report = try Self.json(shrunk)
        #expect((report["unreachableBytes"] as? NSNumber)?.intValue == 512 + 2 * 1024 * 1024, "\(report)")
        let text = try Self.run(["resize", folder.file("e.vhd"), "--size", "4M"])
        #expect(text.status == 0 && text.stdout.contains("vhdtool compact"), "\(text.stdout)")
        let compacted = try Self.json(try Self.run(["compact", disk, "--json"]))
        #expect((compacted["newAllocatedBlocks"] as? NSNumber)?.intValue == 1, "\(compacted)")
        let oldSize = (compacted["oldFileSize"] as? NSNumber)?.intValue ?? 0
        let newSize = (compacted["newFileSize"] as? NSNumber)?.intValue ?? 0
        #expect(oldSize - newSize >= 2 << 20, "\(compacted)")
    }

    @Test func mergeWritesTheChildIntoItsParentAndRemovesIt() throws {
        let folder = try TemporaryFolder()
        let paths = try Self.chain(in: folder)
        for (index, name) in ["base.vhd", "child.vhd"].enumerated() { try FileManager.default.moveItem(atPath: paths[index], toPath: folder.file(name)) }
        #expect(try Self.run(["reparent", folder.file("child.vhd"), "--parent", folder.file("base.vhd")]).status == 0)
        let expected = try Self.raw(folder.file("child.vhd"), in: folder)
        #expect(expected[3 << 20] == 0 && expected[(3 << 20) + 40_000] == 0x22)
        // A sibling in the folder: refused unless --force.
        #expect(try Self.run(["create", folder.file("sibling.vhd"), "--parent", folder.file("base.vhd")]).status == 0)
        let refused = try Self.run(["merge", folder.file("child.vhd")])
        #expect(refused.status != 0 && refused.stderr.contains("sibling.vhd") && refused.stderr.contains("--force"), "\(refused.stderr)")
        try FileManager.default.removeItem(atPath: folder.file("sibling.vhd"))
        let merged = try Self.run(["merge", folder.file("child.vhd"), "--json"])
        #expect(merged.status == 0, "\(merged.stderr)")
        #expect((try Self.json(merged)["removed"] as? [String])?.count == 1)
        #expect(!FileManager.default.fileExists(atPath: folder.file("child.vhd")))
        #expect(try Self.raw(folder.file("base.vhd"), in: folder) == expected)
        if let theirs = try ExternalTool.vhdimountRead(folder.file("base.vhd"), layerCount: 1) {
            #expect(Data(theirs) == expected)
        }
    }

    @Test func mergeAllCollapsesAChainAndKeepLeavesTheFiles() throws {
        let folder = try TemporaryFolder()
        let paths = try Self.chain(in: folder, depth: 3)
        let expected = try Self.raw(paths[2], in: folder)
        #expect(expected[0] == 0 && expected[5000] == 0x11 && expected[(2560 << 10)] == 0x66)
        let merged = try Self.run(["merge", paths[2], "--all", "--keep"])
        #expect(merged.status == 0, "\(merged.stderr)")
        #expect(FileManager.default.fileExists(atPath: paths[2]))
        #expect(try Self.raw(paths[0], in: folder) == expected)
        #expect(try Self.raw(paths[2], in: folder) == expected)
        let both = try Self.run(["merge", paths[2], "--all", "--into", paths[0]])
        #expect(both.status != 0)
    }

    @Test func reparentFindsAMovedParent() throws {
        let folder = try TemporaryFolder()
        let paths = try Self.chain(in: folder)
        for (index, name) in ["base.vhd", "child.vhd"].enumerated() { try FileManager.default.moveItem(atPath: paths[index], toPath: folder.file(name)) }
        #expect(try Self.run(["reparent", folder.file("child.vhd"), "--parent", folder.file("base.vhd")]).status == 0)
        let expected = try Self.raw(folder.file("child.vhd"), in: folder)
        try FileManager.default.createDirectory(atPath: folder.file("moved"), withIntermediateDirectories: true)
        try FileManager.default.moveItem(atPath: folder.file("base.vhd"), toPath: folder.file("moved/base2.vhd"))
        #expect(try Self.run(["inspect", folder.file("child.vhd")]).status == 0)
        #expect(try Self.run(["convert", folder.file("child.vhd"), folder.file("x.raw")]).status != 0)
        let reparented = try Self.run(["reparent", folder.file("child.vhd"), "--parent", folder.file("moved/base2.vhd"), "--json"])
        #expect(reparented.status == 0, "\(reparented.stderr)")
        #expect(try Self.json(reparented)["relativePath"] as? String == ".\\moved\\base2.vhd")
        #expect(try Self.raw(folder.file("child.vhd"), in: folder) == expected)
        // Another disk with another UUID: refused, then accepted with --force.
        #expect(try Self.run(["create", folder.file("other.vhd"), "--size", "8M"]).status == 0)
        let refused = try Self.run(["reparent", folder.file("child.vhd"), "--parent", folder.file("other.vhd")])
        #expect(refused.status != 0 && refused.stderr.contains("--force"), "\(refused.stderr)")
        #expect(try Self.run(["reparent", folder.file("child.vhd"), "--parent", folder.file("other.vhd"), "--force"]).status == 0)
        #expect(try Self.run(["convert", folder.file("child.vhd"), folder.file("y.raw")]).status == 0)
    }
}
