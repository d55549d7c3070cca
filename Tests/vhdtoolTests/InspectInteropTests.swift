import Foundation
import TestSupport
import Testing

/// `vhdtool inspect --json` against the oracles: `qemu-img info -f vpc` and `vhdiinfo`.
///
/// The oracles are skipped with a message where they are not installed, unless
/// VHDTOOL_REQUIRE_ORACLES=1 (set by .ci/run), which turns their absence into a failure.
struct InspectInteropTests {
    static let requireOracles = ProcessInfo.processInfo.environment["VHDTOOL_REQUIRE_ORACLES"] == "1"

    /// Every valid image: the project's fixtures and the corpus.
    static var images: [String] {
        var paths = ["fixed-1M.vhd", "fixed-3M-chs.vhd", "fixed-legacy-511.vhd", "dynamic-8M.vhd",
                     "dynamic-5M-force.vhd", "dynamic-empty-16M.vhd", "dynamic-1sector.vhd",
                     "broken-end-footer-zeroed.vhd"].map(TestPaths.testImage)
        paths += ["dfvfs-image.vhd", "dfvfs-image-differential.vhd", "dfvfs-fat-differential.vhd",
                  "dissect-dynamic.vhd", "dissect-fixed.vhd", "freebsd-img-1x1-512-gpt.vhdf",
                  "qemu/qemu-fixed-4M.vhd", "qemu/qemu-dynamic-64M.vhd", "qemu/qemu-fixed-2M-force_size.vhd"]
            .compactMap(TestPaths.corpusImage)
        return paths
    }

    static func inspect(_ path: String, _ extra: [String] = []) throws -> [String: Any] {
        let vhdtool = try #require(ExternalTool.vhdtool, "vhdtool is not built")
        let output = try ExternalTool.run(vhdtool, ["inspect", "--json", path] + extra)
        #expect(output.status == 0, "vhdtool inspect failed: \(output.stderr)")
        return try #require(JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any])
    }

    static func oracle(_ name: String) throws -> String? {
        let found = ExternalTool.find(name)
        if found == nil && requireOracles { Issue.record("\(name) is not installed but VHDTOOL_REQUIRE_ORACLES=1") }
        return found
    }

    @Test(arguments: images)
    func virtualSizeAndFormatAgreeWithQemuImg(_ path: String) throws {
        guard let qemuImg = try Self.oracle("qemu-img") else { return }
        let ours = try Self.inspect(path)
        let output = try ExternalTool.run(qemuImg, ["info", "--output=json", "-f", "vpc", path])
        guard output.status == 0 else {
            // qemu-img refuses a wrong footer checksum; we report it and read on.
            #expect(output.stderr.contains("Incorrect header checksum"), "qemu-img: \(output.stderr)")
            let footer = try #require(ours["footer"] as? [String: Any])
            #expect(footer["checksumValid"] as? Bool == false)
            return
        }
        let theirs = try #require(JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any])
        #expect(theirs["format"] as? String == "vpc" && ours["format"] as? String == "vhd")
        // qemu-img uses the CHS size for creators it does not know; we report its reading beside ours.
        #expect((theirs["virtual-size"] as? NSNumber)?.uint64Value == (ours["qemuVirtualSize"] as? NSNumber)?.uint64Value)
        if let blockSize = ours["blockSize"] as? NSNumber {
            #expect((theirs["cluster-size"] as? NSNumber)?.uint64Value == blockSize.uint64Value)
        }
    }

    @Test(arguments: images)
    func virtualSizeAndTypeAgreeWithVhdiinfo(_ path: String) throws {
        guard let vhdiinfo = try Self.oracle("vhdiinfo") else { return }
        let ours = try Self.inspect(path)
        let output = try ExternalTool.run(vhdiinfo, [path])
        guard output.status == 0 else {
            // libvhdi reads only the last 512 bytes: no legacy 511-byte footer, no recovery from the copy at 0.
            #expect(["legacyEnd", "copyAtStart"].contains(ours["footerLocation"] as? String), "vhdiinfo: \(output.stderr)")
            return
        }
        let mediaSize = output.stdout.split(separator: "\n").first { $0.contains("Media size") }
            .flatMap { $0.split(separator: "(").last?.split(separator: " ").first }.flatMap { UInt64($0) }
        #expect(mediaSize == (ours["virtualSize"] as? NSNumber)?.uint64Value)
        let diskType = ours["diskType"] as? String
        let expectedType = ["fixed": "Fixed", "dynamic": "Dynamic", "differencing": "Differential"][diskType ?? ""]
        #expect(output.stdout.contains("Disk type\t\t: \(expectedType ?? "?")"))
        let identifier = output.stdout.split(separator: "\n").first { $0.contains("\tIdentifier") }
        #expect(identifier?.hasSuffix(ours["uniqueId"] as? String ?? "?") == true)
    }
}

/// The command line's contract: JSON keys, exit codes, one sentence on stderr.
struct InspectCommandTests {
    @Test func jsonHasTheDocumentedKeys() throws {
        let report = try InspectInteropTests.inspect(TestPaths.testImage("dynamic-8M.vhd"), ["--bat"])
        for key in ["format", "diskType", "virtualSize", "chsSize", "geometry", "fileSize", "creatorApplication",
                    "creatorVersion", "creatorHostOS", "uniqueId", "timestamp", "savedState", "footer", "blockSize",
                    "maxTableEntries", "allocatedBlocks", "tableOffset", "header", "warnings", "bat"] {
            #expect(report[key] != nil, "missing key \(key)")
        }
        #expect(report["diskType"] as? String == "dynamic")
        #expect(report["timestamp"] as? String == "2024-01-01T00:00:00Z")
        let geometry = try #require(report["geometry"] as? [String: Any])
        #expect(geometry["cylinders"] as? Int == 241 && geometry["heads"] as? Int == 4 && geometry["sectorsPerTrack"] as? Int == 17)
        let footer = try #require(report["footer"] as? [String: Any])
        #expect(footer["checksumValid"] as? Bool == true)
        let bat = try #require(report["bat"] as? [Any])
        #expect(bat.count == 5 && (bat[0] as? Int) == 4 && bat[1] is NSNull && (bat[4] as? Int) == 4101)
    }

    @Test(arguments: [
        ("raw-1M.img", "is not a VHD"),
        ("broken-overlapping-blocks.vhd", "blocks 0 and 1 overlap"),
        ("broken-block-size-zero.vhd", "block size 0 is not a power of two"),
    ])
    func brokenOrForeignFilesExitNonZeroWithOneSentence(name: String, message: String) throws {
        let vhdtool = try #require(ExternalTool.vhdtool)
        let output = try ExternalTool.run(vhdtool, ["inspect", TestPaths.testImage(name)])
        #expect(output.status != 0)
        #expect(output.stdout.isEmpty)
        #expect(output.stderr.contains(message), "stderr: \(output.stderr)")
        #expect(output.stderr.split(separator: "\n").count == 1)
    }

    @Test func badChecksumIsReportedNotFatal() throws {
        let vhdtool = try #require(ExternalTool.vhdtool)
        let output = try ExternalTool.run(vhdtool, ["inspect", TestPaths.testImage("broken-bad-footer-checksum.vhd")])
        #expect(output.status == 0)
        #expect(output.stdout.contains("WRONG: bytes sum to 0xFFFFF3E0"))
        #expect(output.stdout.contains("footer checksum (at offset 4197376) is 0xFFFFF3E1"))
    }

    /// A differencing disk whose parent is gone: its own layout is still reported (the chain
    /// does not open, so inspect opens the file alone), with why its contents were not read.
    @Test func differencingDiskWithoutItsParentIsReportedWithAWarning() throws {
        let qemuImg = try #require(ExternalTool.find("qemu-img"), "qemu-img is not installed")
        let folder = try TemporaryFolder()
        let (parent, child) = (folder.file("parent.vhd"), folder.file("child.vhd"))
        #expect(try ExternalTool.run(qemuImg, ["create", "-q", "-f", "vpc", parent, "16M"]).status == 0)
        // qemu-img makes no differencing VHD: vhdtool does.
        #expect(try ConvertTests.vhdtool(["create", child, "--parent", parent]).status == 0)
        let whole = try InspectInteropTests.inspect(child)
        #expect(whole["diskType"] as? String == "differencing")
        #expect(!((whole["warnings"] as? [String]) ?? []).contains { $0.hasPrefix("the disk's contents were not read") })
        try FileManager.default.removeItem(atPath: parent)
        let alone = try InspectInteropTests.inspect(child)
        #expect(alone["diskType"] as? String == "differencing" && alone["virtualSize"] as? Int == whole["virtualSize"] as? Int)
        let warnings = try #require(alone["warnings"] as? [String])
        #expect(warnings.contains { $0.hasPrefix("the disk's contents were not read") && $0.contains("parent.vhd") }, "\(warnings)")
    }

    @Test func missingFileSaysWhy() throws {
        let vhdtool = try #require(ExternalTool.vhdtool)
        let output = try ExternalTool.run(vhdtool, ["inspect", "/nonexistent/disk.vhd"])
        #expect(output.status != 0)
        #expect(output.stderr.contains("'open' failed in /nonexistent/disk.vhd: No such file or directory"))
    }
}
