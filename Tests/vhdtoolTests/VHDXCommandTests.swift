import Foundation
import TestSupport
import Testing

/// The commands on VHDX sources: inspect, check (--azure and its fix), convert, digest, map.
struct VHDXCommandTests {
    static let image = TestPaths.testImage("vhdx/qemu-dynamic-64M.vhdx.gz")

    static func unpacked(_ folder: TemporaryFolder, _ image: String = image) throws -> String {
        let destination = folder.file("disk.vhdx")
        let result = try ExternalTool.run(try #require(ExternalTool.find("gzip")), ["-dc", image], stdoutTo: destination)
        #expect(result.status == 0)
        return destination
    }

    @Test func inspectShowsTheVHDXFields() throws {
        let folder = try TemporaryFolder()
        let path = try Self.unpacked(folder)
        let result = try ConvertTests.vhdtool(["inspect", path, "--json", "--bat"])
        #expect(result.status == 0, "\(result.stderr)")
        let json = try #require(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(json["format"] as? String == "vhdx" && json["diskType"] as? String == "dynamic")
        #expect((json["virtualSize"] as? NSNumber)?.uint64Value == 67_108_864)
        #expect((json["blockSize"] as? NSNumber)?.uint32Value == 8 << 20)
        #expect((json["headers"] as? [[String: Any]])?.count == 2)
        #expect(json["blockStates"] as? [String: Int] == ["fully present": 2, "zero": 6])
        #expect(json["log"] as? String == "empty")
        let text = try ConvertTests.vhdtool(["inspect", path])
        #expect(text.status == 0 && text.stdout.contains("VHDX, dynamic"), "\(text.stdout)")
    }

    @Test func checkAzureSuggestsAConversionThatWorks() throws {
        let folder = try TemporaryFolder()
        let path = try Self.unpacked(folder)
        #expect(try CheckTests.check(path).status == 0)
        let (status, json) = try CheckTests.check(path, azure: true)
        #expect(status == 2)
        let problem = try #require(CheckTests.problems(json).first { $0["check"] as? String == "azure" })
        let fix = try #require(problem["fix"] as? String)
        #expect(fix.contains("vhdtool convert") && fix.contains("--azure"))
        let fixed = folder.file("fixed.vhd")
        #expect(try ConvertTests.vhdtool(["convert", path, fixed, "--azure", "-q"]).status == 0)
        #expect(try CheckTests.check(fixed, azure: true).status == 0)
    }

    /// VHDX -> raw, fixed and dynamic VHD: qemu-img reads each the same as the source, and the
    /// digest is the same in every container.
    @Test(arguments: ["qemu-dynamic-64M.vhdx.gz", "qemu-fixed-8M.vhdx.gz", "coreos-config2-base.vhdx.gz"])
    func convertsToEveryKindWithTheSameContent(_ name: String) throws {
        let folder = try TemporaryFolder()
        let source = try Self.unpacked(folder, TestPaths.testImage("vhdx/" + name))
        let raw = folder.file("out.raw")
        #expect(try ConvertTests.vhdtool(["convert", source, raw, "-q"]).status == 0)
        let digest = try ConvertTests.vhdtool(["digest", source]).stdout
        if let qemuImg = ExternalTool.find("qemu-img") {
            let theirs = folder.file("qemu.raw")
            #expect(try ExternalTool.run(qemuImg, ["convert", "-f", "vhdx", "-O", "raw", source, theirs]).status == 0)
            #expect(try FileComparison.sha256(theirs) == FileComparison.sha256(raw))
        }
        for kind in ["fixed", "dynamic"] {
            let vhd = folder.file("out-\(kind).vhd")
            #expect(try ConvertTests.vhdtool(["convert", source, vhd, "--to", kind, "-q"]).status == 0)
            #expect(try ConvertTests.vhdtool(["digest", vhd]).stdout.split(separator: " ").first == digest.split(separator: " ").first)
            if let qemuImg = ExternalTool.find("qemu-img") {
                let back = folder.file("back-\(kind).raw")
                #expect(try ExternalTool.run(qemuImg, ["convert", "-f", "vpc", "-O", "raw", vhd, back]).status == 0)
                #expect(try FileComparison.sha256(back) == FileComparison.sha256(raw))
            }
        }
        let map = try ConvertTests.vhdtool(["map", source])
        #expect(map.status == 0, "\(map.stderr)")
    }
}
