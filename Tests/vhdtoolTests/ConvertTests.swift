import Foundation
import TestSupport
import Testing

/// `vhdtool convert --to raw` and `vhdtool map` against qemu-img, and the command's safety.
struct ConvertTests {
    static func vhdtool(_ arguments: [String], stdoutTo file: String? = nil) throws -> ExternalTool.Output {
        let vhdtool = try #require(ExternalTool.vhdtool, "vhdtool is not built")
        return try ExternalTool.run(vhdtool, arguments, stdoutTo: file)
    }

    static var qemuImg: String? {
        let found = ExternalTool.find("qemu-img")
        if found == nil && InspectInteropTests.requireOracles { Issue.record("qemu-img is not installed") }
        return found
    }

    static let images = ["fixed-1M.vhd", "fixed-3M-chs.vhd", "fixed-legacy-511.vhd", "dynamic-8M.vhd",
                         "dynamic-5M-force.vhd", "dynamic-empty-16M.vhd", "dynamic-1sector.vhd"]

    @Test(arguments: images)
    func rawExportEqualsQemuImgConvert(_ name: String) throws {
        guard let qemuImg = Self.qemuImg else { return }
        let folder = try TemporaryFolder()
        let ours = try Self.vhdtool(["convert", TestPaths.testImage(name), folder.file("ours.raw"), "--to", "raw", "-q"])
        #expect(ours.status == 0, "\(ours.stderr)")
        let theirs = try ExternalTool.run(qemuImg, ["convert", "-f", "vpc", "-O", "raw", TestPaths.testImage(name), folder.file("qemu.raw")])
        #expect(theirs.status == 0, "\(theirs.stderr)")
        #expect(try FileComparison.sameContent(folder.file("ours.raw"), folder.file("qemu.raw")))
    }

    /// Huge, nearly empty disks with a few scattered writes, made with qemu-img and qemu-io.
    @Test(arguments: [("127G", ["write -P 0x5a 0 4k", "write -P 0x11 17G 64k", "write -P 0x22 126G 1M"]),
                      ("2040G", ["write -P 0x33 1G 512", "write -P 0x44 1T 2M", "write -P 0x55 2039G 4k"])])
    func hugeSparseDisksExportLikeQemuImg(size: String, writes: [String]) throws {
        guard let qemuImg = Self.qemuImg, let qemuIO = ExternalTool.find("qemu-io") else { return }
        let folder = try TemporaryFolder()
        let image = folder.file("huge.vhd")
        #expect(try ExternalTool.run(qemuImg, ["create", "-f", "vpc", "-o", "subformat=dynamic", image, size]).status == 0)
        #expect(try ExternalTool.run(qemuIO, ["-f", "vpc"] + writes.flatMap { ["-c", $0] } + [image]).status == 0)
        let ours = try Self.vhdtool(["convert", image, folder.file("ours.raw"), "-q"])
        #expect(ours.status == 0, "\(ours.stderr)")
        #expect(try ExternalTool.run(qemuImg, ["convert", "-f", "vpc", "-O", "raw", image, folder.file("qemu.raw")]).status == 0)
        #expect(try FileComparison.sameContent(folder.file("ours.raw"), folder.file("qemu.raw")))
        // Sparse: the output stores about the data written, not the virtual size.
        let stored = try FileComparison.storedRanges(folder.file("ours.raw")).reduce(0) { $0 + $1.count }
        #expect(stored < 8 << 20, "\(stored) bytes stored")
    }

    /// Whether a map entry holds data. qemu-img marks the host-file holes of a fixed VHD as
    /// `"data": true, "zero": true`; both tools agree those read as zeros.
    static func holdsData(_ entry: [String: Any]) -> Bool {
        entry["data"] as? Bool == true && entry["zero"] as? Bool != true
    }

    /// The ranges that hold data, merged, from a list of map entries.
    static func dataRanges(_ entries: [[String: Any]]) -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        for entry in entries where holdsData(entry) {
            let start = (entry["start"] as? NSNumber)?.intValue ?? -1
            let length = (entry["length"] as? NSNumber)?.intValue ?? 0
            if let last = ranges.last, last.upperBound == start {
                ranges[ranges.count - 1] = last.lowerBound..<(start + length)
            } else {
                ranges.append(start..<(start + length))
            }
        }
        return ranges
    }

    @Test(arguments: ["dynamic-8M.vhd", "dynamic-5M-force.vhd", "dynamic-empty-16M.vhd", "dynamic-1sector.vhd", "fixed-1M.vhd"])
    func mapAgreesWithQemuImgMapOnWhereDataIs(_ name: String) throws {
        guard let qemuImg = Self.qemuImg else { return }
        let ours = try Self.vhdtool(["map", "--json", TestPaths.testImage(name)])
        #expect(ours.status == 0, "\(ours.stderr)")
        let theirs = try ExternalTool.run(qemuImg, ["map", "--output=json", "-f", "vpc", TestPaths.testImage(name)])
        let ourEntries = try #require(JSONSerialization.jsonObject(with: Data(ours.stdout.utf8)) as? [[String: Any]])
        let theirEntries = try #require(JSONSerialization.jsonObject(with: Data(theirs.stdout.utf8)) as? [[String: Any]])
        #expect(Self.dataRanges(ourEntries) == Self.dataRanges(theirEntries))
        // Host offsets of data agree too (both point past the sector bitmap).
        let ourOffsets = ourEntries.filter(Self.holdsData).compactMap { ($0["offset"] as? NSNumber)?.intValue }
        let theirOffsets = theirEntries.filter(Self.holdsData).compactMap { ($0["offset"] as? NSNumber)?.intValue }
        #expect(ourOffsets == theirOffsets)
    }

    @Test func streamingToStandardOutputWritesEveryByte() throws {
        let folder = try TemporaryFolder()
        let file = try Self.vhdtool(["convert", TestPaths.testImage("dynamic-8M.vhd"), folder.file("file.raw")])
        #expect(file.status == 0)
        let stream = try Self.vhdtool(["convert", TestPaths.testImage("dynamic-8M.vhd"), "-"], stdoutTo: folder.file("stream.raw"))
        #expect(stream.status == 0, "\(stream.stderr)")
        let streamed = try Data(contentsOf: URL(fileURLWithPath: folder.file("stream.raw")))
        #expect(streamed.count == 8_390_656)
        #expect(streamed == (try Data(contentsOf: URL(fileURLWithPath: folder.file("file.raw")))))
    }

    @Test func gzipCompressedSourcesAreDecompressed() throws {
        guard let gzip = ExternalTool.find("gzip") else { return }
        let folder = try TemporaryFolder()
        try FileManager.default.copyItem(atPath: TestPaths.testImage("dynamic-8M.vhd"), toPath: folder.file("disk.vhd"))
        #expect(try ExternalTool.run(gzip, [folder.file("disk.vhd")]).status == 0)
        #expect(try Self.vhdtool(["convert", folder.file("disk.vhd.gz"), folder.file("from-gz.raw")]).status == 0)
        #expect(try Self.vhdtool(["convert", TestPaths.testImage("dynamic-8M.vhd"), folder.file("plain.raw")]).status == 0)
        #expect(try FileComparison.sameContent(folder.file("from-gz.raw"), folder.file("plain.raw")))
        // A truncated stream is an error, and leaves nothing behind.
        let compressed = try Data(contentsOf: URL(fileURLWithPath: folder.file("disk.vhd.gz")))
        try compressed.prefix(compressed.count / 2).write(to: URL(fileURLWithPath: folder.file("cut.vhd.gz")))
        let cut = try Self.vhdtool(["convert", folder.file("cut.vhd.gz"), folder.file("cut.raw")])
        #expect(cut.status != 0 && cut.stderr.contains("compressed data is corrupt"))
        #expect(!FileManager.default.fileExists(atPath: folder.file("cut.raw")))
    }

    @Test func gzipDestinationsHoldTheImageTheirNameSays() throws {
        guard let gzip = ExternalTool.find("gzip"), let qemuImg = Self.qemuImg else { return }
        let folder = try TemporaryFolder()
        let source = TestPaths.testImage("dynamic-8M.vhd")
        #expect(try Self.vhdtool(["convert", source, folder.file("disk.vhd.gz")]).status == 0)
        #expect(try Self.vhdtool(["convert", source, folder.file("disk.raw.gz")]).status == 0)
        #expect(try ExternalTool.run(gzip, ["-d", folder.file("disk.vhd.gz"), folder.file("disk.raw.gz")]).status == 0)
        let vhd = try InspectInteropTests.inspect(folder.file("disk.vhd"))
        #expect(vhd["diskType"] as? String == "dynamic")
        #expect(try ExternalTool.run(qemuImg, ["compare", "-f", "vpc", "-F", "vpc", source, folder.file("disk.vhd")]).status == 0)
        #expect(try ExternalTool.run(qemuImg, ["compare", "-f", "vpc", "-F", "raw", source, folder.file("disk.raw")]).status == 0)
    }

    @Test func anExistingDestinationNeedsForce() throws {
        let folder = try TemporaryFolder()
        try Data("keep me".utf8).write(to: URL(fileURLWithPath: folder.file("out.raw")))
        let refused = try Self.vhdtool(["convert", TestPaths.testImage("fixed-1M.vhd"), folder.file("out.raw")])
        #expect(refused.status != 0 && refused.stderr.contains("--force"))
        #expect(try String(contentsOfFile: folder.file("out.raw"), encoding: .utf8) == "keep me")
        let forced = try Self.vhdtool(["convert", TestPaths.testImage("fixed-1M.vhd"), folder.file("out.raw"), "--force"])
        #expect(forced.status == 0)
        #expect((try FileManager.default.attributesOfItem(atPath: folder.file("out.raw"))[.size] as? Int) == 1 << 20)
    }

    @Test func writingOverTheSourceIsRefused() throws {
        let folder = try TemporaryFolder()
        try FileManager.default.copyItem(atPath: TestPaths.testImage("dynamic-8M.vhd"), toPath: folder.file("disk.vhd"))
        let output = try Self.vhdtool(["convert", folder.file("disk.vhd"), folder.file("disk.vhd"), "--to", "raw", "--force"])
        #expect(output.status != 0 && output.stderr.contains("is the same file as the source"))
        #expect(try FileComparison.sha256(folder.file("disk.vhd")) == FileComparison.sha256(TestPaths.testImage("dynamic-8M.vhd")))
    }

    @Test func aFailedConversionLeavesNoFileBehind() throws {
        let folder = try TemporaryFolder()
        try FileManager.default.copyItem(atPath: TestPaths.testImage("broken-bad-footer-checksum.vhd"), toPath: folder.file("bad.vhd"))
        let output = try Self.vhdtool(["convert", folder.file("bad.vhd"), folder.file("out.raw")])
        #expect(output.status != 0 && output.stderr.contains("--ignore-checksums"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["bad.vhd"])
        let accepted = try Self.vhdtool(["convert", folder.file("bad.vhd"), folder.file("out.raw"), "--ignore-checksums"])
        #expect(accepted.status == 0)
    }
}
