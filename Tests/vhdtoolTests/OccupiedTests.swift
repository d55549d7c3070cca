import Foundation
import TestSupport
import Testing

/// `vhdtool occupied`: JSON {disks, total, cost}, the table, the gallery billing example end to
/// end, and refused arguments.
struct OccupiedTests {
    static func vhdtool(_ arguments: [String]) throws -> ExternalTool.Output {
        try ConvertTests.vhdtool(arguments)
    }

    static func json(_ arguments: [String]) throws -> [String: Any] {
        let output = try vhdtool(["occupied", "--json"] + arguments)
        try #require(output.status == 0, "\(output.stderr)")
        return try #require(JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any])
    }

    static func number(_ value: Any?) -> UInt64? { (value as? NSNumber)?.uint64Value }

    /// What TestImages/README.md says dynamic-8M.vhd holds: 0..4095, 2096640..2097151 and
    /// 8388608..8390655 (the end of the disk) non-zero; blocks 0 and 4 allocated by QEMU.
    static let documentedCases: [(String, UInt64, UInt64)] = [
        ("512", 4096 + 512 + 2048, 512),
        ("4K", 4096 + 4096 + 2048, 4096),
        ("4M", (4 << 20) + 2048, 4 << 20),
        ("block", (2 << 20) + 2048, 2 << 20),
    ]

    @Test(arguments: documentedCases)
    func jsonOfADocumentedImage(granularity: String, nonZero: UInt64, granuleBytes: UInt64) throws {
        let path = TestPaths.testImage("dynamic-8M.vhd")
        let report = try Self.json([path, "--granularity", granularity])
        #expect(Set(report.keys) == ["disks", "total", "cost"])
        #expect(report["cost"] is NSNull)
        let disks = try #require(report["disks"] as? [[String: Any]])
        try #require(disks.count == 1)
        let disk = disks[0]
        #expect(Set(disk.keys) == ["path", "virtualSize", "fileSize", "hostAllocatedBytes", "allocatedBytes",
                                   "writtenBytes", "nonZeroBytes", "granularity"])
        #expect(disk["path"] as? String == path)
        #expect(Self.number(disk["virtualSize"]) == 8_390_656)
        #expect(Self.number(disk["fileSize"]) == 4_197_888)
        #expect(Self.number(disk["allocatedBytes"]) == 2 * (2 << 20))
        #expect(Self.number(disk["writtenBytes"]) == (2 << 20) + 2048)
        #expect(Self.number(disk["nonZeroBytes"]) == nonZero)
        #expect(Self.number(disk["granularity"]) == granuleBytes)
        // du counts what the filesystem allocates, as st_blocks does.
        let du = try ExternalTool.run("/usr/bin/du", ["--block-size=1", path])
        #expect(Self.number(disk["hostAllocatedBytes"]) == UInt64(du.stdout.split(separator: "\t").first ?? ""))
        let total = try #require(report["total"] as? [String: Any])
        #expect(Self.number(total["nonZeroBytes"]) == nonZero && Self.number(total["disks"]) == 1)
    }

    @Test func fixedAndRawDisksHaveNoWrittenFigure() throws {
        let report = try Self.json([TestPaths.testImage("fixed-1M.vhd"), TestPaths.testImage("raw-1M.img")])
        let disks = try #require(report["disks"] as? [[String: Any]])
        try #require(disks.count == 2)
        for disk in disks {
            #expect(disk["writtenBytes"] is NSNull)
            #expect(Self.number(disk["nonZeroBytes"]) == 1024)  // the first and last sectors (README)
            #expect(Self.number(disk["virtualSize"]) == 1 << 20)
        }
        let total = try #require(report["total"] as? [String: Any])
        #expect(total["writtenBytes"] is NSNull)
        #expect(Self.number(total["nonZeroBytes"]) == 2048 && Self.number(total["virtualSize"]) == 2 << 20)
    }

    /// The gallery documentation's example scaled to MiB, made with qemu-img and qemu-io: a
    /// 127 MiB OS disk with 10 MiB of data and an empty 32 MiB data disk, in 3 regions with
    /// 2 replicas each: 6 snapshots, 60 MiB stored, 20 MiB of egress.
    static let billingArguments: [[String]] = [["--target-region", "eastus=2", "--target-region", "westeurope=2", "--target-region", "southeastasia=2"],
                      ["--replica-count", "2", "--target-region", "eastus", "--target-region", "westeurope=Standard_ZRS",
                       "--target-region", "southeastasia=2=premium_lrs"]]

    @Test(arguments: billingArguments)
    func galleryBillingExample(regionArguments: [String]) throws {
        guard let qemuImg = ConvertTests.qemuImg, let qemuIO = ExternalTool.find("qemu-io") else { return }
        let folder = try TemporaryFolder()
        let os = folder.file("os.vhd")
        let data = folder.file("data.vhd")
        #expect(try ExternalTool.run(qemuImg, ["create", "-q", "-f", "vpc", "-o", "subformat=dynamic,force_size=on", os, "127M"]).status == 0)
        #expect(try ExternalTool.run(qemuIO, ["-f", "vpc", "-c", "write -P 0x5a 1M 7M", "-c", "write -P 0x11 120M 3M", os]).status == 0)
        #expect(try Self.vhdtool(["create", data, "--size", "32M", "--type", "dynamic"]).status == 0)

        let report = try Self.json([os, data] + regionArguments)
        let disks = try #require(report["disks"] as? [[String: Any]])
        #expect(disks.map { Self.number($0["nonZeroBytes"]) } == [10 << 20, 0])
        #expect(disks.map { Self.number($0["virtualSize"]) } == [127 << 20, 32 << 20])
        let cost = try #require(report["cost"] as? [String: Any])
        #expect(Self.number(cost["snapshots"]) == 6)
        #expect(Self.number(cost["storedBytes"]) == 60 << 20)
        #expect(Self.number(cost["egressBytes"]) == 20 << 20)
        let regions = try #require(cost["regions"] as? [[String: Any]])
        #expect(regions.map { $0["name"] as? String } == ["eastus", "westeurope", "southeastasia"])
        #expect(regions.map { Self.number($0["replicas"]) } == [2, 2, 2])
        #expect(regions.map { Self.number($0["storedBytes"]) } == [20 << 20, 20 << 20, 20 << 20])
        #expect(regions.map { Self.number($0["egressBytes"]) } == [0, 10 << 20, 10 << 20])
        #expect(Set(regions[0].keys) == ["name", "replicas", "storageType", "storedBytes", "egressBytes"])
        let types = regions.map { $0["storageType"] as? String }
        #expect(types == (regionArguments.contains("--replica-count")
            ? ["Standard_LRS", "Standard_ZRS", "Premium_LRS"] : ["Standard_LRS", "Standard_LRS", "Standard_LRS"]))

        let text = try Self.vhdtool(["occupied", os, data] + regionArguments)
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout.contains("Snapshots: 6"))
        #expect(text.stdout.contains("Stored:    62914560 bytes (60 MiB)"))
        #expect(text.stdout.contains("Egress:    20971520 bytes (20 MiB)"))
        #expect(text.stdout.split(separator: "\n").contains { $0.hasPrefix("Total ") && $0.hasSuffix("10 MiB") })
    }

    static let refusals: [([String], String)] = [
        (["--target-region", "eastus", "--target-region", "EastUS=2"], "duplicate target region"),
        (["--target-region", "eastus=101"], "between 1 and 100"),
        (["--target-region", "eastus=0"], "between 1 and 100"),
        (["--target-region", "eastus=2=Hot_LRS"], "not a storage account type"),
        (["--target-region", "eastus=two=Standard_LRS"], "valid integer replica count"),
        (["--target-region", "eastus=cool"], "neither a replica count nor a storage account type"),
        (["--target-region", "=3"], "no region name"),
        (["--replica-count", "0", "--target-region", "eastus"], "between 1 and 100"),
        (["--granularity", "1000"], "power of two"),
        (["--granularity", "128M"], "power of two"),
        (["--granularity", "256"], "power of two"),
        (["--granularity", "lots"], "not a size"),
    ]

    @Test(arguments: refusals)
    func refusedArguments(arguments: [String], message: String) throws {
        let output = try Self.vhdtool(["occupied", TestPaths.testImage("dynamic-8M.vhd")] + arguments)
        #expect(output.status == 64, "\(output.stdout)")
        #expect(output.stderr.contains(message), "\(output.stderr)")
    }

    @Test func aMissingDiskIsAnError() throws {
        let output = try Self.vhdtool(["occupied", "/nonexistent/disk.vhd"])
        #expect(output.status == 1)
        #expect(output.stderr.contains("/nonexistent/disk.vhd"))
    }
}
