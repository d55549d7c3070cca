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

    /// What we write, qemu-img (512-byte sectors: qemu 7.2 refuses 4096 with "Operation not
    /// supported") and vhdimount read with the same content; 1 MiB alignment, clean log.
    @Test(arguments: [(["--to", "dynamic"], true), (["--to", "fixed"], true), (["--block-size", "1M"], true),
                      (["--logical-sector-size", "4096", "--block-size", "8M"], false)])
    func writtenVHDXReadsTheSameInEveryReader(options: [String], qemuReads: Bool) throws {
        let folder = try TemporaryFolder()
        let source = try Self.unpacked(folder)
        let raw = folder.file("source.raw")
        #expect(try ConvertTests.vhdtool(["convert", source, raw, "-q"]).status == 0)
        let written = folder.file("written.vhdx")
        let result = try ConvertTests.vhdtool(["convert", source, written, "-q"] + options)
        #expect(result.status == 0, "\(result.stderr)")
        let back = folder.file("back.raw")
        #expect(try ConvertTests.vhdtool(["convert", written, back, "-q"]).status == 0)
        #expect(try FileComparison.sha256(back) == FileComparison.sha256(raw))
        let inspect = try ConvertTests.vhdtool(["inspect", written, "--json", "--bat"])
        let json = try #require(JSONSerialization.jsonObject(with: Data(inspect.stdout.utf8)) as? [String: Any])
        #expect(json["log"] as? String == "empty")
        for entry in json["bat"] as? [[String: Any]] ?? [] {
            if let offset = (entry["fileOffset"] as? NSNumber)?.uint64Value { #expect(offset % (1 << 20) == 0) }
        }
        #expect(try CheckTests.check(written).status == 0)
        // The digest is the digest of the content, whatever holds it.
        let digests = try [written, raw].map { try ConvertTests.vhdtool(["digest", $0]).stdout.split(separator: " ").first }
        #expect(digests[0] != nil && digests[0] == digests[1])
        if qemuReads, let qemuImg = ExternalTool.find("qemu-img") {
            let theirs = folder.file("qemu.raw")
            let converted = try ExternalTool.run(qemuImg, ["convert", "-f", "vhdx", "-O", "raw", written, theirs])
            #expect(converted.status == 0, "\(converted.stderr)")
            #expect(try FileComparison.sha256(theirs) == FileComparison.sha256(raw))
            let check = try ExternalTool.run(qemuImg, ["check", "-f", "vhdx", written])
            #expect(check.status == 0, "\(check.stdout)")
        }
        if let mounted = try ExternalTool.vhdimountRead(written, layerCount: 1) {
            #expect(mounted == (try [UInt8](Data(contentsOf: URL(fileURLWithPath: raw)))))
        }
    }

    /// create: an empty VHDX (qemu-img reads it), and a differencing child of a VHDX and of a
    /// VHD that reads as its parent. (libvhdi 20210425 reads a VHDX child's parent by file
    /// offset, not through its BAT, and qemu-img does not read differencing VHDX: neither is an
    /// oracle for children.)
    @Test func createsEmptyDisksAndChildren() throws {
        let folder = try TemporaryFolder()
        let empty = folder.file("empty.vhdx")
        #expect(try ConvertTests.vhdtool(["create", empty, "--size", "100M"]).status == 0)
        if let qemuImg = ExternalTool.find("qemu-img") {
            let info = try ExternalTool.run(qemuImg, ["info", "-f", "vhdx", "--output=json", empty])
            #expect(info.status == 0 && info.stdout.contains("\"virtual-size\": 104857600"), "\(info.stdout)")
        }
        let base = try Self.unpacked(folder)
        let child = folder.file("child.vhdx")
        #expect(try ConvertTests.vhdtool(["create", child, "--parent", base]).status == 0)
        let baseDigest = try ConvertTests.vhdtool(["digest", base]).stdout.split(separator: " ").first
        #expect(try ConvertTests.vhdtool(["digest", child]).stdout.split(separator: " ").first == baseDigest)
        #expect(try CheckTests.check(child).status == 0)
        let vhdBase = folder.file("base.vhd")
        #expect(try ConvertTests.vhdtool(["convert", base, vhdBase, "-q"]).status == 0)
        let vhdChild = folder.file("vhd-child.vhdx")
        #expect(try ConvertTests.vhdtool(["create", vhdChild, "--parent", vhdBase]).status == 0)
        #expect(try ConvertTests.vhdtool(["digest", vhdChild]).stdout.split(separator: " ").first == baseDigest)
        // A parent that is not the one recorded is refused.
        let other = folder.file("other.vhdx")
        #expect(try ConvertTests.vhdtool(["convert", base, other, "-q"]).status == 0)
        #expect(try ConvertTests.vhdtool(["digest", child, "--parent", other]).status != 0)
    }

    /// A VHD child reads through a VHDX parent (here named with --parent; its UUID is the VHD
    /// parent's, so --ignore-parent-uuid accepts the VHDX holding the same bytes).
    @Test func vhdChildReadsThroughAVHDXParent() throws {
        let folder = try TemporaryFolder()
        let base = try Self.unpacked(folder)
        let vhdBase = folder.file("base.vhd")
        #expect(try ConvertTests.vhdtool(["convert", base, vhdBase, "--to", "dynamic", "-q"]).status == 0)
        let child = folder.file("child.vhd")
        #expect(try ConvertTests.vhdtool(["create", child, "--parent", vhdBase]).status == 0)
        let expected = try ConvertTests.vhdtool(["digest", base]).stdout.split(separator: " ").first
        let refused = try ConvertTests.vhdtool(["digest", child, "--parent", base])
        #expect(refused.status != 0, "a parent that is not the one recorded is refused")
        let read = try ConvertTests.vhdtool(["digest", child, "--parent", base, "--ignore-parent-uuid"])
        #expect(read.status == 0, "\(read.stderr)")
        #expect(read.stdout.split(separator: " ").first == expected)
    }

    /// Gzip-compressed images: inspect, digest and map read them (decompressed into an anonymous
    /// temporary file); check, which reads the file in place, says it is gzip-compressed and
    /// how to decompress it.
    @Test func readOnlyCommandsReadCompressedImages() throws {
        let folder = try TemporaryFolder()
        let inspected = try ConvertTests.vhdtool(["inspect", Self.image, "--json"])
        #expect(inspected.status == 0, "\(inspected.stderr)")
        #expect(inspected.stdout.contains("\"vhdx\"") && inspected.stdout.contains("67108864"), "\(inspected.stdout)")
        let compressedVHD = folder.file("fixed-1M.vhd.gz")
        let gzip = try #require(ExternalTool.find("gzip"))
        #expect(try ExternalTool.run(gzip, ["-c", TestPaths.testImage("fixed-1M.vhd")], stdoutTo: compressedVHD).status == 0)
        let vhd = try ConvertTests.vhdtool(["inspect", compressedVHD])
        #expect(vhd.status == 0 && vhd.stdout.contains("fixed"), "\(vhd.stdout)\(vhd.stderr)")
        let unpacked = try Self.unpacked(folder)
        for command in [["digest"], ["map", "--json"]] {
            let fromCompressed = try ConvertTests.vhdtool(command + [Self.image])
            #expect(fromCompressed.status == 0, "\(fromCompressed.stderr)")
            #expect(fromCompressed.stdout.replacingOccurrences(of: Self.image, with: unpacked)
                    == (try ConvertTests.vhdtool(command + [unpacked])).stdout)
        }
        let check = try ConvertTests.vhdtool(["check", compressedVHD])
        #expect(check.status != 0)
        #expect(check.stderr.contains("gzip-compressed; decompress it first"), "\(check.stdout)\(check.stderr)")
    }
}
