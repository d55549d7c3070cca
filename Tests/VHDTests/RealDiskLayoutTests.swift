import Foundation
import SystemPackage
import TestSupport
import Testing
import VHD

/// The probe on disks partitioned and formatted by the real tools (sfdisk, mkfs.*), converted
/// to VHD by qemu-img, and on the FreeBSD mkimg GPT image of the corpus.
struct RealDiskLayoutTests {
    static let requireTools = ProcessInfo.processInfo.environment["VHDTOOL_REQUIRE_ORACLES"] == "1"

    /// The tools' paths, or nil (recorded as an issue when VHDTOOL_REQUIRE_ORACLES=1:
    /// scripts/install-deps installs them).
    static func tools(_ names: [String]) -> [String: String]? {
        var found: [String: String] = [:]
        for name in names {
            guard let path = ExternalTool.find(name) ?? ["/usr/sbin/", "/sbin/"].map({ $0 + name }).first(where: FileManager.default.isExecutableFile) else {
                if requireTools { Issue.record("\(name) is not installed (scripts/install-deps installs it)") }
                return nil
            }
            found[name] = path
        }
        return found
    }

    static func run(_ tool: String, _ arguments: [String]) throws {
        let result = try ExternalTool.run(tool, arguments)
        try #require(result.status == 0, "\(tool) \(arguments.joined(separator: " ")): \(result.stderr)")
    }

    /// Partitions `raw` with the sfdisk `script` and formats partition images with `formats`
    /// (command and arguments, applied to a new file of the partition's size), copied into place.
    static func makeDisk(
        _ raw: String, size: Int, script: String, formats: [(sector: Int, sectors: Int, command: [String])], in folder: TemporaryFolder
    ) throws {
        let tools = try #require(Self.tools(["sfdisk", "dd"]))
        try #require(FileManager.default.createFile(atPath: raw, contents: nil))
        try FileHandle(forWritingAtPath: raw)!.truncate(atOffset: UInt64(size))
        try folder.file("script").write(script)
        let sfdisk = try ExternalTool.run("/bin/sh", ["-c", "\(tools["sfdisk"]!) -q \(raw) < \(folder.file("script"))"])
        try #require(sfdisk.status == 0, "sfdisk: \(sfdisk.stderr)")
        for (index, format) in formats.enumerated() {
            let part = folder.file("part\(index)")
            FileManager.default.createFile(atPath: part, contents: nil)
            try FileHandle(forWritingAtPath: part)!.truncate(atOffset: UInt64(format.sectors * 512))
            try run(format.command[0], Array(format.command.dropFirst()) + [part])
            try run(tools["dd"]!, ["if=\(part)", "of=\(raw)", "bs=512", "seek=\(format.sector)", "conv=notrunc,sparse", "status=none"])
        }
    }

    static func probe(_ path: String) throws -> DiskLayout {
        try Disk.withOpened(at: FilePath(path)) { try DiskLayoutProbe.probe($0) }
    }

    /// Converts the raw disk to a dynamic VHD with qemu-img (exact size) and probes both.
    static func probeRawAndVHD(_ raw: String, in folder: TemporaryFolder) throws -> [DiskLayout] {
        var layouts = [try probe(raw)]
        if let qemuImg = ExternalTool.find("qemu-img") {
            let vhd = folder.file("disk.vhd")
            try run(qemuImg, ["convert", "-f", "raw", "-O", "vpc", "-o", "subformat=dynamic,force_size=on", raw, vhd])
            layouts.append(try probe(vhd))
        }
        return layouts
    }

    @Test func sfdiskGPTWithEFISystemPartitionSwapAndExt4() throws {
        guard let tools = Self.tools(["mkfs.vfat", "mkswap", "mkfs.ext4"]) else { return }
        let folder = try TemporaryFolder()
        let raw = folder.file("gpt.raw")
        try Self.makeDisk(raw, size: 128 << 20, script: """
            label: gpt
            start=2048, size=40M, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="EFI System"
            size=8M, type=0657FD6D-A4AB-43C4-84E5-0933C84B4F4F, name=swap
            size=60M, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name=root
            """, formats: [
                (2048, 81920, [tools["mkfs.vfat"]!, "-F", "32"]),
                (83968, 16384, [tools["mkswap"]!]),
                (100352, 122880, [tools["mkfs.ext4"]!, "-q", "-F"]),
            ], in: folder)
        for layout in try Self.probeRawAndVHD(raw, in: folder) {
            #expect(layout.scheme == .gpt && layout.backupHeaderValid == true && layout.warnings == [])
            #expect(layout.partitions.map(\.filesystem) == [.fat32, .swap, .ext4])
            #expect(layout.partitions.map(\.name) == ["EFI System", "swap", "root"])
            let sectors: [UInt64] = [2048, 83968, 100352]
            #expect(layout.partitions.map(\.start) == sectors.map { $0 * 512 })
            #expect(layout.suggestedOSType == .linux && layout.suggestedHyperVGeneration == .v2)
        }
    }

    @Test func sfdiskMBRWithActiveNTFSAndExFAT() throws {
        guard let tools = Self.tools(["mkfs.ntfs", "mkfs.exfat"]) else { return }
        let folder = try TemporaryFolder()
        let raw = folder.file("mbr.raw")
        try Self.makeDisk(raw, size: 64 << 20, script: """
            label: dos
            start=2048, size=32M, type=7, bootable
            size=16M, type=7
            """, formats: [
                (2048, 65536, [tools["mkfs.ntfs"]!, "-F", "-Q", "-q"]),
                (67584, 32768, [tools["mkfs.exfat"]!]),
            ], in: folder)
        for layout in try Self.probeRawAndVHD(raw, in: folder) {
            #expect(layout.scheme == .mbr && layout.warnings == [])
            #expect(layout.partitions.map(\.filesystem) == [.ntfs, .exfat])
            #expect(layout.partitions.map(\.bootable) == [true, false])
            #expect(layout.partitions.map(\.type) == ["0x07", "0x07"])
            #expect(layout.suggestedOSType == .windows && layout.suggestedHyperVGeneration == .v1)
        }
    }

    @Test func mkfsOnTheWholeDisk() throws {
        guard let tools = Self.tools(["mkfs.ext4", "mkfs.vfat"]) else { return }
        let folder = try TemporaryFolder()
        for (command, expected) in [([tools["mkfs.ext4"]!, "-q", "-F"], Filesystem.ext4), ([tools["mkfs.vfat"]!], .fat16)] {
            let raw = folder.file("whole-\(expected).raw")
            FileManager.default.createFile(atPath: raw, contents: nil)
            try FileHandle(forWritingAtPath: raw)!.truncate(atOffset: 32 << 20)
            try Self.run(command[0], Array(command.dropFirst()) + [raw])
            let layout = try Self.probe(raw)
            #expect(layout.scheme == .none && layout.filesystem == expected && layout.partitions.isEmpty)
        }
    }

    @Test func freeBSDMkimgGPTImage() throws {
        guard let path = TestPaths.corpusImage("freebsd-img-1x1-512-gpt.vhdf") else {
            print("skipped: \(TestPaths.corpusMissing)")
            return
        }
        let layout = try Self.probe(path)
        #expect(layout.scheme == .gpt && layout.backupHeaderValid == true && layout.warnings == [])
        #expect(layout.partitions.map(\.typeName) == ["FreeBSD UFS", "FreeBSD swap"])
        let starts: [UInt64] = [1536, 4_195_840]
        let sizes: [UInt64] = [4 << 20, 128 << 10]
        #expect(layout.partitions.map(\.start) == starts)
        #expect(layout.partitions.map(\.size) == sizes)
        // FreeBSD partition types: Azure's OS type for FreeBSD is Linux, with the detail.
        #expect(layout.suggestedOSType == .linux && layout.suggestedOSDetail == "FreeBSD" && layout.suggestedHyperVGeneration == nil)
    }
}

extension String {
    func write(_ text: String) throws {
        try text.write(toFile: self, atomically: false, encoding: .utf8)
    }
}
