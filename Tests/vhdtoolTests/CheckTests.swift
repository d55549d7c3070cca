import Foundation
import TestSupport
import Testing

/// `vhdtool check [--azure]`: exit statuses 0 / 2 / 1, each problem with its fix.
struct CheckTests {
    static func check(_ path: String, azure: Bool = false) throws -> (status: Int32, json: [String: Any]) {
        let result = try ConvertTests.vhdtool(["check", path, "--json"] + (azure ? ["--azure"] : []))
        let json = (try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]) ?? [:]
        return (result.status, json)
    }

    static func problems(_ json: [String: Any]) -> [[String: Any]] { json["problems"] as? [[String: Any]] ?? [] }

    @Test func cleanDisksExitZero() throws {
        for name in ["fixed-1M.vhd", "dynamic-8M.vhd", "dynamic-empty-16M.vhd"] {
            let (status, json) = try Self.check(TestPaths.testImage(name))
            #expect(status == 0, "\(name): \(json)")
            #expect(json["clean"] as? Bool == true)
        }
    }

    @Test(arguments: [("broken-bat-past-end.vhd", "structure", true), ("broken-overlapping-blocks.vhd", "structure", false),
                      ("broken-bad-footer-checksum.vhd", "checksum", true), ("broken-end-footer-zeroed.vhd", "structure", true)])
    func brokenDisksExitTwoWithTheirProblem(name: String, check: String, repairable: Bool) throws {
        let (status, json) = try Self.check(TestPaths.testImage(name))
        #expect(status == 2)
        let problem = try #require(Self.problems(json).first)
        #expect(problem["check"] as? String == check)
        #expect(((problem["fix"] as? String)?.contains("vhdtool repair") ?? false) == repairable, "\(problem)")
    }

    @Test func fileThatCannotBeCheckedExitsOne() throws {
        #expect(try Self.check(TestPaths.testImage("raw-1M.img")).status == 1)
        #expect(try Self.check("/nonexistent/disk.vhd").status == 1)
    }

    /// Sectors whose bitmap bit is clear but whose stored bytes are not zero: qemu-img reads
    /// the bytes, libvhdi and vhdtool zeros.
    @Test func dataHiddenByClearBitmapBitsIsFound() throws {
        let folder = try TemporaryFolder()
        let path = folder.file("hidden.vhd")
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: TestPaths.testImage("dynamic-8M.vhd"))))
        // Block 0 is at sector 4 (see TestImages/README.md): bitmap at 2048, data from 2560.
        #expect(bytes[2048] == 0xFF && bytes[2560..<(2560 + 4096)].contains { $0 != 0 })
        bytes[2048] = 0x00  // sectors 0-7 of block 0
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let (status, json) = try Self.check(path)
        #expect(status == 2)
        let problem = try #require(Self.problems(json).first { $0["check"] as? String == "bitmap" })
        #expect((problem["message"] as? String)?.contains("8 sectors in 1 blocks (0)") == true, "\(problem)")
    }

    @Test(.enabled(if: TestPaths.hasCorpusImage("dfvfs-image-differential.vhd"), Comment(rawValue: TestPaths.corpusMissing)))
    func missingParentIsAChainProblem() throws {
        let corpusChild = try #require(TestPaths.corpusImage("dfvfs-image-differential.vhd"))
        let folder = try TemporaryFolder()
        let child = folder.file("child.vhd")
        try FileManager.default.copyItem(atPath: corpusChild, toPath: child)
        let (status, json) = try Self.check(child)
        #expect(status == 2)
        let problem = try #require(Self.problems(json).first { $0["check"] as? String == "chain" })
        #expect((problem["message"] as? String)?.contains("was not found") == true, "\(problem)")
    }

    @Test func azureRulesEachSayHowToFixThem() throws {
        let (status, json) = try Self.check(TestPaths.testImage("dynamic-5M-force.vhd"), azure: true)
        #expect(status == 2)
        let azure = Self.problems(json).filter { $0["check"] as? String == "azure" }
        let messages = azure.compactMap { $0["message"] as? String }
        #expect(messages.contains { $0.contains("only fixed VHDs") })
        #expect(messages.contains { $0.contains("outside Azure's limits") })
        #expect(azure.allSatisfy { ($0["fix"] as? String)?.contains("vhdtool convert") == true }, "\(azure)")

        // What the fix says, done, gives a disk Azure accepts.
        let folder = try TemporaryFolder()
        let fixed = folder.file("fixed.vhd")
        #expect(try ConvertTests.vhdtool(["convert", TestPaths.testImage("dynamic-5M-force.vhd"), fixed, "--azure", "--size", "20M", "-q"]).status == 0)
        let after = try Self.check(fixed, azure: true)
        #expect(after.status == 0, "\(after.json)")
    }

    /// Windows and Hyper-V always write a CHS product below the current size: every reader
    /// takes the current size, so that is no problem (it used to exit 2).
    @Test(arguments: ["dissect-dynamic.vhd", "dissect-fixed.vhd"])
    func windowsDisksAreClean(name: String) throws {
        guard let path = TestPaths.corpusImage(name) else { return }
        let (status, json) = try Self.check(path)
        #expect(status == 0, "\(json)")
        #expect(json["clean"] as? Bool == true && Self.problems(json).isEmpty, "\(json)")
    }

    /// FreeBSD mkimg's "*img": qemu-img reads the CHS size, the others the current size. A
    /// note says so, and the check passes.
    @Test func otherReadersSizeIsANoteNotAProblem() throws {
        guard let path = TestPaths.corpusImage("freebsd-img-1x1-512-gpt.vhdf") else { return }
        let (status, json) = try Self.check(path)
        #expect(status == 0, "\(json)")
        let note = try #require(Self.problems(json).first)
        #expect(note["note"] as? Bool == true)
        #expect((note["message"] as? String)?.contains("qemu-img reads 5222400 bytes") == true, "\(note)")
        let text = try ConvertTests.vhdtool(["check", path])
        #expect(text.status == 0 && text.stdout.contains("note: qemu-img reads"), "\(text.stdout)")
    }

    /// The Windows-made differencing disk with a parent of its recorded UUID and time beside it
    /// (its real parent is not in the corpus): clean.
    @Test func windowsDifferencingDiskWithItsParentIsClean() throws {
        guard let corpusChild = TestPaths.corpusImage("dfvfs-fat-differential.vhd") else { return }
        let folder = try TemporaryFolder()
        let child = folder.file("child.vhd")
        try FileManager.default.copyItem(atPath: corpusChild, toPath: child)
        let parent = folder.file("fat-parent.vhd")
        #expect(try ConvertTests.vhdtool(["create", parent, "--size", "4M", "--type", "fixed"]).status == 0)
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: parent)))
        let footer = bytes.count - 512
        let uuid: [UInt8] = [0x5f, 0xa2, 0x1a, 0x55, 0xf3, 0x94, 0xaa, 0x4d, 0x99, 0x58, 0x19, 0x51, 0xa6, 0x7d, 0x55, 0x40]
        bytes.replaceSubrange((footer + 68)..<(footer + 84), with: uuid)
        bytes.replaceSubrange((footer + 64)..<(footer + 68), with: [0, 0, 0, 0])
        let sum = ~bytes[footer..<(footer + 512)].reduce(UInt32(0)) { $0 &+ UInt32($1) }
        bytes.replaceSubrange((footer + 64)..<(footer + 68), with: withUnsafeBytes(of: sum.bigEndian) { Array($0) })
        try Data(bytes).write(to: URL(fileURLWithPath: parent))
        // The child records its parent's modification time (dynamic header offset 56).
        let header = try [UInt8](Data(contentsOf: URL(fileURLWithPath: child)))[512..<1536]
        let recorded = header[(512 + 56)..<(512 + 60)].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        try FileManager.default.setAttributes(
            [.modificationDate: Date(timeIntervalSince1970: TimeInterval(UInt64(recorded) + 946_684_800))], ofItemAtPath: parent)
        let (status, json) = try Self.check(child)
        #expect(status == 0, "\(json)")
    }
}
