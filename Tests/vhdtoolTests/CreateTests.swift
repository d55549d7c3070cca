import Foundation
import TestSupport
import Testing

/// Images that vhdtool creates or converts, read by qemu-img, vhdiinfo and vhdimount.
struct CreateTests {
    static func vhdiinfoSize(_ path: String) throws -> UInt64? {
        guard let vhdiinfo = ExternalTool.find("vhdiinfo") else { return nil }
        let output = try ExternalTool.run(vhdiinfo, [path])
        #expect(output.status == 0, "vhdiinfo refused \(path): \(output.stderr)")
        return output.stdout.split(separator: "\n").first { $0.contains("Media size") }
            .flatMap { $0.split(separator: "(").last?.split(separator: " ").first }.flatMap { UInt64($0) }
    }

    static func qemuSize(_ path: String) throws -> UInt64? {
        guard let qemuImg = ConvertTests.qemuImg else { return nil }
        let output = try ExternalTool.run(qemuImg, ["info", "--output=json", "-f", "vpc", path])
        #expect(output.status == 0, "qemu-img refused \(path): \(output.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any]
        return (json?["virtual-size"] as? NSNumber)?.uint64Value
    }

    @Test(arguments: ["512", "1M", "3M", "5000K", "100M", "4G", "10479616", "127G", "2040G"])
    func everyReaderSeesTheSizeAsked(_ size: String) throws {
        let folder = try TemporaryFolder()
        let bytes = try #require(ConvertTests.parseSize(size))
        for type in ["dynamic", "fixed"] where !(type == "fixed" && bytes > 1 << 30) {
            let path = folder.file("\(type).vhd")
            let output = try ConvertTests.vhdtool(["create", path, "--size", size, "--type", type])
            #expect(output.status == 0, "\(output.stderr)")
            if let qemu = try Self.qemuSize(path) { #expect(qemu == bytes, "qemu-img, \(type) \(size)") }
            if let libvhdi = try Self.vhdiinfoSize(path) { #expect(libvhdi == bytes, "vhdiinfo, \(type) \(size)") }
        }
    }

    @Test(arguments: ["dynamic-8M.vhd", "dynamic-5M-force.vhd", "fixed-3M-chs.vhd", "dynamic-1sector.vhd", "fixed-legacy-511.vhd"])
    func convertedImagesAreIdenticalForQemuImgAndOpenInVhdiinfo(_ name: String) throws {
        guard let qemuImg = ConvertTests.qemuImg else { return }
        let folder = try TemporaryFolder()
        for type in ["dynamic", "fixed"] {
            let path = folder.file("\(type).vhd")
            let output = try ConvertTests.vhdtool(["convert", TestPaths.testImage(name), path, "--to", type])
            #expect(output.status == 0, "\(output.stderr)")
            let compare = try ExternalTool.run(qemuImg, ["compare", "-f", "vpc", "-F", "vpc", TestPaths.testImage(name), path])
            #expect(compare.status == 0, "qemu-img compare: \(compare.stdout) \(compare.stderr)")
            _ = try Self.vhdiinfoSize(path)
        }
    }

    @Test func azureOutputIsAFixedDiskOfWholeMebibytes() throws {
        let folder = try TemporaryFolder()
        let output = try ConvertTests.vhdtool(["convert", TestPaths.testImage("dynamic-8M.vhd"), folder.file("azure.vhd"), "--azure"])
        #expect(output.status == 0)
        #expect(output.stderr.contains("rounded up from 8390656 to 9437184"))
        let report = try InspectInteropTests.inspect(folder.file("azure.vhd"))
        #expect(report["diskType"] as? String == "fixed")
        #expect(report["azureReady"] as? Bool == true)
        let size = try #require((report["virtualSize"] as? NSNumber)?.uint64Value)
        #expect(size % (1 << 20) == 0 && size == 9_437_184)
        #expect((report["fileSize"] as? NSNumber)?.uint64Value == size + 512)
        // Sparse: the host stores the data and the footer, not 9 MiB.
        let stored = try FileComparison.storedRanges(folder.file("azure.vhd")).reduce(0) { $0 + $1.count }
        #expect(stored < 1 << 20)
    }

    @Test func differencingChildReadsThroughVhdimount() throws {
        let folder = try TemporaryFolder()
        #expect(try ConvertTests.vhdtool(["convert", TestPaths.testImage("dynamic-8M.vhd"), folder.file("base.vhd")]).status == 0)
        let created = try ConvertTests.vhdtool(["create", folder.file("child.vhd"), "--parent", folder.file("base.vhd")])
        #expect(created.status == 0, "\(created.stderr)")
        #expect(try ConvertTests.vhdtool(["convert", folder.file("child.vhd"), folder.file("ours.raw")]).status == 0)
        guard let theirs = try ExternalTool.vhdimountRead(folder.file("child.vhd"), layerCount: 2) else { return }
        #expect(Data(theirs) == (try Data(contentsOf: URL(fileURLWithPath: folder.file("ours.raw")))))
    }
}

extension ConvertTests {
    /// "4G" -> 4 << 30, as vhdtool reads sizes.
    static func parseSize(_ text: String) -> UInt64? {
        let units: [Character: UInt64] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40]
        if let last = text.last, let unit = units[last] { return UInt64(text.dropLast()).map { $0 * unit } }
        return UInt64(text)
    }
}
