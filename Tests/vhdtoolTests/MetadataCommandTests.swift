import Foundation
import TestSupport
import Testing

/// `vhdtool digest`, `vhdtool tag` and the `layout` and `tag` sections of `inspect`: exit
/// statuses and the JSON keys scripts read.
struct MetadataCommandTests {
    static func vhdtool(_ arguments: [String]) throws -> ExternalTool.Output { try ConvertTests.vhdtool(arguments) }

    static func json(_ output: ExternalTool.Output) throws -> [String: Any] {
        try #require(output.status == 0, "\(output.stderr)")
        return try #require(JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any])
    }

    /// A GPT disk (EFI system partition + ext4) as a raw file and a dynamic VHD.
    static func makeImages(in folder: TemporaryFolder) throws -> (raw: String, vhd: String) {
        var builder = PartitionTableBuilder(sizeInBytes: 8 << 20)
        builder.writeGPT([
            .init(type: PartitionTableBuilder.efiSystem, firstSector: 2048, lastSector: 6143, name: "EFI"),
            .init(type: PartitionTableBuilder.linuxFilesystem, firstSector: 6144, lastSector: 16350, name: "root"),
        ])
        builder.writeSignature(.fat32, at: 2048 * 512)
        builder.writeSignature(.ext4, at: 6144 * 512)
        try Data(builder.bytes).write(to: URL(fileURLWithPath: folder.file("disk.raw")))
        #expect(try vhdtool(["convert", folder.file("disk.raw"), folder.file("disk.vhd"), "-q"]).status == 0)
        return (folder.file("disk.raw"), folder.file("disk.vhd"))
    }

    @Test func digestIsTheSameForEveryContainer() throws {
        let folder = try TemporaryFolder()
        let (raw, vhd) = try Self.makeImages(in: folder)
        #expect(try Self.vhdtool(["convert", raw, folder.file("fixed.vhd"), "--to", "fixed", "-q"]).status == 0)
        let digests = try [raw, vhd, folder.file("fixed.vhd")].map { try Self.json(Self.vhdtool(["digest", "--json", $0]))["digest"] as? String }
        let first = try #require(digests[0])
        #expect(first.hasPrefix("sha256:") && first.count == 7 + 64)
        #expect(Set(digests) == [first])
        let text = try Self.vhdtool(["digest", vhd])
        #expect(text.status == 0 && text.stdout == "\(first)  \(vhd)\n")
    }

    @Test func inspectShowsTheLayout() throws {
        let folder = try TemporaryFolder()
        let (_, vhd) = try Self.makeImages(in: folder)
        let report = try Self.json(Self.vhdtool(["inspect", "--json", vhd]))
        let layout = try #require(report["layout"] as? [String: Any])
        #expect(layout["scheme"] as? String == "gpt")
        #expect(layout["suggestedOSType"] as? String == "linux")
        #expect(layout["suggestedHyperVGeneration"] as? String == "V2")
        let partitions = try #require(layout["partitions"] as? [[String: Any]])
        #expect(partitions.count == 2)
        for key in ["index", "start", "size", "type", "name", "bootable", "filesystem"] {
            #expect(partitions.allSatisfy { $0[key] != nil }, "key \(key)")
        }
        #expect(partitions.map { $0["filesystem"] as? String } == ["fat32", "ext4"])
        #expect(partitions[0]["start"] as? Int == 1 << 20)
        #expect(partitions[0]["type"] as? String == PartitionTableBuilder.efiSystem)
        #expect(report["tag"] == nil)
        let text = try Self.vhdtool(["inspect", vhd]).stdout
        #expect(text.contains("Partition table:") && text.contains("EFI System") && text.contains("ext4"))
        // An MBR disk's partitions have a null name.
        var mbr = PartitionTableBuilder(sizeInBytes: 4 << 20)
        mbr.writeBootRecord([.init(active: true, type: 0x07, firstSector: 2048, sectorCount: 4096)])
        mbr.writeSignature(.ntfs, at: 2048 * 512)
        try Data(mbr.bytes).write(to: URL(fileURLWithPath: folder.file("mbr.raw")))
        #expect(try Self.vhdtool(["convert", folder.file("mbr.raw"), folder.file("mbr.vhd"), "--to", "fixed", "-q"]).status == 0)
        let mbrLayout = try #require(try Self.json(Self.vhdtool(["inspect", "--json", folder.file("mbr.vhd")]))["layout"] as? [String: Any])
        let mbrPartition = try #require((mbrLayout["partitions"] as? [[String: Any]])?.first)
        #expect(mbrPartition["name"] is NSNull && mbrPartition["bootable"] as? Bool == true && mbrPartition["type"] as? String == "0x07")
        #expect(mbrLayout["suggestedOSType"] as? String == "windows" && mbrLayout["suggestedHyperVGeneration"] as? String == "V1")
    }

    @Test func tagRecordsShowsAndGoesStale() throws {
        let folder = try TemporaryFolder()
        let (_, vhd) = try Self.makeImages(in: folder)
        let untagged = try Self.vhdtool(["tag", vhd])
        #expect(untagged.status == 1 && untagged.stderr.contains("has no tag"))
        let made = try Self.json(Self.vhdtool([
            "tag", vhd, "--os-state", "generalized", "--os-type", "linux", "--hyper-v-generation", "V2", "--architecture", "x64",
            "--tag", "team=images", "--tag", "build=1=2", "--json",
        ]))
        #expect(Set(made.keys) == ["file", "record", "stale", "contradictions"])
        let record = try #require(made["record"] as? [String: Any])
        #expect(record["osState"] as? String == "generalized" && record["osType"] as? String == "linux")
        #expect(record["hyperVGeneration"] as? String == "V2" && record["architecture"] as? String == "x64")
        #expect(record["tags"] as? [String: String] == ["team": "images", "build": "1=2"])
        let digest = try Self.json(Self.vhdtool(["digest", "--json", vhd]))["digest"] as? String
        #expect((record["image"] as? [String: Any])?["digest"] as? String == digest)
        #expect(FileManager.default.fileExists(atPath: vhd + ".vhdtool.json"))
        let shown = try Self.json(Self.vhdtool(["tag", vhd, "--json"]))
        #expect(shown["stale"] as? Bool == false && (shown["contradictions"] as? [String]) == [])
        let inspected = try Self.json(Self.vhdtool(["inspect", "--json", vhd]))
        #expect((inspected["tag"] as? [String: Any])?["stale"] as? Bool == false)
        // Change one sector through the library's writer: the tag is stale everywhere.
        try ContentWriter.write([UInt8](repeating: 0x77, count: 512), at: 5 << 20, into: vhd)
        let stale = try Self.json(Self.vhdtool(["tag", vhd, "--json"]))
        #expect(stale["stale"] as? Bool == true && (stale["staleReason"] as? String)?.contains("content changed") == true)
        let report = try Self.json(Self.vhdtool(["inspect", "--json", vhd]))
        #expect((report["warnings"] as? [String])?.contains { $0.contains("is stale") } == true)
        #expect(try Self.vhdtool(["inspect", vhd]).stdout.contains("STALE"))
    }

    @Test func contradictingTagsAreReported() throws {
        let folder = try TemporaryFolder()
        let (_, vhd) = try Self.makeImages(in: folder)
        let made = try Self.vhdtool(["tag", vhd, "--os-state", "specialized", "--os-type", "Windows", "--hyper-v-generation", "v1"])
        #expect(made.status == 0 && made.stderr.contains("tagged windows"))
        let report = try Self.json(Self.vhdtool(["inspect", "--json", vhd]))
        let contradictions = try #require((report["tag"] as? [String: Any])?["contradictions"] as? [String])
        #expect(contradictions.count == 2)
        #expect((report["warnings"] as? [String])?.filter { $0.contains("contradicts") }.count == 2)
    }

    @Test func aBrokenSidecarIsAWarningForInspectAndAnErrorForTag() throws {
        let folder = try TemporaryFolder()
        let (_, vhd) = try Self.makeImages(in: folder)
        try "{ not json".write(toFile: vhd + ".vhdtool.json", atomically: false, encoding: .utf8)
        let report = try Self.json(Self.vhdtool(["inspect", "--json", vhd]))
        #expect(report["layout"] != nil && report["tag"] == nil)
        #expect((report["warnings"] as? [String])?.contains { $0.hasPrefix("the tag was not read") } == true)
        let shown = try Self.vhdtool(["tag", vhd])
        #expect(shown.status == 1 && shown.stderr.contains("not a usable tag record"))
    }

    @Test(arguments: [
        ["--os-type", "linux"],  // without --os-state
        ["--os-state", "frozen"],
        ["--os-state", "generalized", "--hyper-v-generation", "V3"],
        ["--os-state", "generalized", "--tag", "novalue"],
        ["--os-state", "generalized", "--tag", "a=1", "--tag", "a=2"],
        ["--os-state", "generalized", "--tag", "a/b=1"],
    ])
    func badTagArgumentsAreRefused(_ arguments: [String]) throws {
        let folder = try TemporaryFolder()
        let (_, vhd) = try Self.makeImages(in: folder)
        let output = try Self.vhdtool(["tag", vhd] + arguments)
        #expect(output.status == 64, "\(output.stderr)")
        #expect(!FileManager.default.fileExists(atPath: vhd + ".vhdtool.json"))
    }
}
