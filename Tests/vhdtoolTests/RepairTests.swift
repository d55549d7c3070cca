import Foundation
import TestSupport
import Testing
import VHD
import VHDFormat

/// `vhdtool repair` on the damaged TestImages: what it changes, that the result opens in our
/// reader and in vhdiinfo with dynamic-8M.vhd's content, the backup, dry runs and refusals.
struct RepairTests {
    static func vhdtool(_ arguments: [String]) throws -> ExternalTool.Output {
        try ConvertTests.vhdtool(arguments)
    }

    static func copy(_ name: String, into folder: TemporaryFolder) throws -> String {
        let path = folder.file(name)
        try FileManager.default.copyItem(atPath: TestPaths.testImage(name), toPath: path)
        return path
    }

    static func repairJSON(_ path: String, dryRun: Bool = false) throws -> (status: Int32, json: [String: Any]) {
        let result = try vhdtool(["repair", path, "--json"] + (dryRun ? ["--dry-run"] : []))
        let json = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any] ?? [:]
        return (result.status, json)
    }

    /// Each damaged image, the offsets repair changes, and whether the repaired disk reads
    /// like dynamic-8M.vhd (the truncated one lost half a block).
    static let repairable: [(String, [Int], Bool)] = [
        ("broken-end-footer-zeroed.vhd", [4_197_376], true),
        ("broken-bad-footer-checksum.vhd", [4_197_376, 0], true),
        ("broken-bad-header-checksum.vhd", [548], true),
        ("broken-bat-past-end.vhd", [1540], true),
        ("broken-truncated.vhd", [1552, 2_101_248], false),
    ]

    @Test(arguments: repairable)
    func damagedImagesAreRepaired(name: String, offsets: [Int], sameContent: Bool) throws {
        let folder = try TemporaryFolder()
        let path = try Self.copy(name, into: folder)
        let original = try Data(contentsOf: URL(fileURLWithPath: path))
        let (status, json) = try Self.repairJSON(path)
        #expect(status == 0, "\(json)")
        let changes = json["changes"] as? [[String: Any]] ?? []
        #expect(changes.compactMap { $0["offset"] as? Int } == offsets)
        #expect(json["applied"] as? Bool == true)
        #expect(json["remainingProblem"] == nil || json["remainingProblem"] is NSNull)

        // Opens strictly (checksums verified), without a footer warning.
        let layout = try HostFile.withOpened(at: .init(path)) { try VHDLayout(reading: $0) }
        #expect(layout.warnings.isEmpty, "\(layout.warnings)")
        if let vhdiinfo = ExternalTool.find("vhdiinfo") {
            #expect(try ExternalTool.run(vhdiinfo, [path]).status == 0)
        }
        if sameContent, let qemuImg = ExternalTool.find("qemu-img") {
            let compare = try ExternalTool.run(qemuImg, ["compare", "-f", "vpc", "-F", "vpc", path, TestPaths.testImage("dynamic-8M.vhd")])
            #expect(compare.status == 0, "\(compare.stdout)")
        }

        // The backup holds every byte replaced: writing them back restores the original.
        let backup = try #require(json["backup"] as? String)
        try Self.undo(path, from: backup)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == original)

        // A second repair of the repaired file finds nothing.
        try Self.repairJSONAfterReapplying(path)
    }

    static func repairJSONAfterReapplying(_ path: String) throws {
        _ = try repairJSON(path)
        let (status, json) = try repairJSON(path)
        #expect(status == 0)
        #expect((json["changes"] as? [Any])?.isEmpty == true)
    }

    /// The documented way to undo: each line's bytes back at its offset, then the old size.
    static func undo(_ path: String, from backup: String) throws {
        let lines = try String(contentsOfFile: backup, encoding: .utf8).split(separator: "\n")
        #expect(lines.first == "vhdtool repair backup 1")
        #expect(lines.dropFirst().first == "image \(path)")
        let size = try #require(lines.dropFirst(2).first.flatMap { UInt64($0.dropFirst("size ".count)) })
        let handle = try #require(FileHandle(forUpdatingAtPath: path))
        for line in lines.dropFirst(3) {
            let parts = line.split(separator: " ", omittingEmptySubsequences: false)
            let offset = try #require(UInt64(parts[0]))
            let hex = Array(parts[1].utf8)
            let bytes = stride(from: 0, to: hex.count, by: 2).map { UInt8(String(decoding: hex[$0..<($0 + 2)], as: UTF8.self), radix: 16)! }
            try handle.seek(toOffset: offset)
            handle.write(Data(bytes))
        }
        try handle.truncate(atOffset: size)
        try handle.close()
    }

    @Test func dryRunChangesNothing() throws {
        let folder = try TemporaryFolder()
        let path = try Self.copy("broken-bad-footer-checksum.vhd", into: folder)
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        let (status, json) = try Self.repairJSON(path, dryRun: true)
        #expect(status == 0)
        #expect((json["changes"] as? [Any])?.count == 2)
        #expect(json["applied"] as? Bool == false)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["broken-bad-footer-checksum.vhd"])
    }

    @Test func healthyImageNeedsNothing() throws {
        let folder = try TemporaryFolder()
        let path = try Self.copy("dynamic-8M.vhd", into: folder)
        let result = try Self.vhdtool(["repair", path])
        #expect(result.status == 0)
        #expect(result.stdout.contains("nothing to repair"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["dynamic-8M.vhd"])
    }

    /// Both footers valid, with different timestamps: which one is right cannot be told.
    @Test func twoValidFootersThatDifferAreRefused() throws {
        let folder = try TemporaryFolder()
        let path = try Self.copy("dynamic-8M.vhd", into: folder)
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        var copy = try Footer(parsing: Array(bytes[0..<512]))
        copy.timestamp = VHDTimestamp(rawValue: copy.timestamp.rawValue &+ 1)
        bytes.replaceSubrange(0..<512, with: copy.withComputedChecksum().serialized())
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let result = try Self.vhdtool(["repair", path])
        #expect(result.status != 0)
        #expect(result.stderr.contains("both valid but differ"), "\(result.stderr)")
        #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: path))) == bytes)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["dynamic-8M.vhd"])
    }

    /// What repair does not fix is said, with a non-zero status.
    @Test func overlappingBlocksAreReportedNotFixed() throws {
        let folder = try TemporaryFolder()
        let path = try Self.copy("broken-overlapping-blocks.vhd", into: folder)
        let (status, json) = try Self.repairJSON(path)
        #expect(status == 1)
        #expect((json["remainingProblem"] as? String)?.contains("overlap") == true)
    }
}
