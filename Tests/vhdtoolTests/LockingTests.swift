import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Image locking as QEMU does it (issue 14, item 1): vhdtool writers exclude everyone,
/// readers coexist, and vhdtool and qemu-io refuse each other in both directions.
struct LockingTests {
    static func vhdtool() throws -> String { try #require(ExternalTool.vhdtool, "vhdtool is not built") }

    static func run(_ arguments: [String]) throws -> ExternalTool.Output {
        try RunningProcess.run(try vhdtool(), arguments)
    }

    static var qemuIO: String? { ExternalTool.find("qemu-io") }

    /// A 64 MiB dynamic disk (2 MiB blocks), empty.
    static func emptyDisk(in folder: TemporaryFolder, name: String = "d.vhd") throws -> String {
        let path = folder.file(name)
        let created = try run(["create", path, "--size", "64M"])
        #expect(created.status == 0, "\(created.stderr)")
        return path
    }

    /// The disk's virtual bytes, as vhdtool converts them to raw.
    static func content(of disk: String, in folder: TemporaryFolder) throws -> [UInt8] {
        let raw = folder.file("content-\(UUID().uuidString).raw")
        let converted = try run(["convert", disk, raw, "--to", "raw", "-q"])
        #expect(converted.status == 0, "\(converted.stderr)")
        defer { unlink(raw) }
        return try [UInt8](Data(contentsOf: URL(fileURLWithPath: raw)))
    }

    /// Eight `vhdtool write`s at once, each into a new block of one dynamic disk: each
    /// succeeds or is refused as locked, and the disk then opens, passes qemu-img check, and
    /// holds every write that said it succeeded (without locks they interleave their BAT
    /// updates and leave blocks that overlap).
    @Test func concurrentWritesIntoNewBlocksAreSerializedOrRefused() throws {
        let folder = try TemporaryFolder()
        let disk = try Self.emptyDisk(in: folder)
        let count = 8
        var writers: [RunningProcess] = []
        for index in 0..<count {
            let input = folder.file("in-\(index).bin")
            try Data(repeating: UInt8(0x10 + index), count: 1 << 20).write(to: URL(fileURLWithPath: input))
            writers.append(try RunningProcess(try Self.vhdtool(), ["write", disk, "--offset", "\(index * (4 << 20))", "--input", input]))
        }
        let results = writers.map { $0.finish() }
        var acknowledged: [Int] = []
        for (index, result) in results.enumerated() {
            if result.status == 0 {
                acknowledged.append(index)
            } else {
                #expect(result.status == 1 && result.stderr.contains("is locked"), "writer \(index): \(result.status) \(result.stderr)")
            }
        }
        #expect(!acknowledged.isEmpty)
        let check = try Self.run(["check", disk])
        #expect(check.status == 0, "\(check.stdout) \(check.stderr)")
        if let qemuImg = ExternalTool.find("qemu-img") {
            let info = try ExternalTool.run(qemuImg, ["info", "-f", "vpc", disk])
            #expect(info.status == 0, "\(info.stderr)")
        }
        let content = try Self.content(of: disk, in: folder)
        for index in 0..<count {
            let range = (index * (4 << 20))..<(index * (4 << 20) + (1 << 20))
            let expected: UInt8 = acknowledged.contains(index) ? UInt8(0x10 + index) : 0
            #expect(content[range].allSatisfy { $0 == expected }, "block of writer \(index)")
        }
    }

    /// qemu-io holding the disk read-write: vhdtool write, resize and compact are refused with
    /// one sentence, and the disk is unchanged; a reader is refused too (qemu-img info is).
    @Test func vhdtoolIsRefusedWhileQemuIOWrites() throws {
        guard let qemuIO = Self.qemuIO else { return }
        let folder = try TemporaryFolder()
        let disk = try Self.emptyDisk(in: folder)
        let before = try Data(contentsOf: URL(fileURLWithPath: disk))
        let holder = try RunningProcess(qemuIO, ["-f", "vpc", disk], holdInput: true)
        #expect(RunningProcess.waitUntil { RunningProcess.isLocked(disk, byte: 101) }, "qemu-io took no write lock")
        try Data(repeating: 0xAB, count: 4096).write(to: URL(fileURLWithPath: folder.file("in.bin")))
        for arguments in [
            ["write", disk, "--offset", "0", "--input", folder.file("in.bin")], ["resize", disk, "--size", "128M"], ["compact", disk],
            ["digest", disk], ["check", disk],
        ] {
            let refused = try Self.run(arguments)
            #expect(refused.status == 1, "\(arguments[0]): \(refused.status) \(refused.stderr)")
            #expect(refused.stderr.contains("is locked") && refused.stderr.contains("open for writing"), "\(arguments[0]): \(refused.stderr)")
            #expect(refused.stderr.split(separator: "\n").count == 1, "\(refused.stderr)")
        }
        let unlocked = try Self.run(["digest", disk, "--no-lock"])
        #expect(unlocked.status == 0, "\(unlocked.stderr)")
        holder.finish()
        #expect(try Data(contentsOf: URL(fileURLWithPath: disk)) == before)
    }

    /// vhdtool writing (held part-way by the fault injector): qemu-io read-write is refused
    /// with QEMU's own "Failed to get "write" lock", and qemu-img info without -U too.
    @Test func qemuIsRefusedWhileVhdtoolWrites() throws {
        guard let qemuIO = Self.qemuIO, let qemuImg = ExternalTool.find("qemu-img") else { return }
        let library = try FaultInjectionTests.requireLibrary()
        let folder = try TemporaryFolder()
        let disk = try Self.emptyDisk(in: folder)
        try Data(repeating: 0xAB, count: 4 << 20).write(to: URL(fileURLWithPath: folder.file("in.bin")))
        let marker = folder.file("paused")
        let writer = try RunningProcess(
            try Self.vhdtool(), ["write", disk, "--offset", "0", "--input", folder.file("in.bin")],
            environment: ["LD_PRELOAD": library, "FAULT_PAUSE_AT_WRITE": "1", "FAULT_PAUSE_FILE": marker])
        #expect(RunningProcess.waitUntil { FileManager.default.fileExists(atPath: marker) }, "vhdtool write never wrote")
        let qemuWriter = try RunningProcess.run(qemuIO, ["-f", "vpc", "-c", "write -P 0x55 0 512", disk])
        #expect(qemuWriter.stderr.contains("Failed to get \"write\" lock"), "\(qemuWriter.stdout) \(qemuWriter.stderr)")
        let info = try RunningProcess.run(qemuImg, ["info", "-f", "vpc", disk])
        #expect(info.status != 0 && info.stderr.contains("lock"), "\(info.stderr)")
        let shared = try RunningProcess.run(qemuImg, ["info", "-U", "-f", "vpc", disk])
        #expect(shared.status == 0, "\(shared.stderr)")
        unlink(marker)
        let written = writer.finish()
        #expect(written.status == 0, "\(written.stderr)")
        let content = try Self.content(of: disk, in: folder)
        #expect(content[0..<(4 << 20)].allSatisfy { $0 == 0xAB })
    }

    /// Readers coexist, in both programs: qemu-io -r holding the disk, vhdtool reads it
    /// (digest, inspect), and qemu-img info works while a vhdtool reader holds it; a vhdtool
    /// writer is refused by the qemu reader ("is reading it").
    @Test func readersCoexistWithQemuReaders() throws {
        guard let qemuIO = Self.qemuIO else { return }
        let folder = try TemporaryFolder()
        let disk = try Self.emptyDisk(in: folder)
        let reader = try RunningProcess(qemuIO, ["-r", "-f", "vpc", disk], holdInput: true)
        #expect(RunningProcess.waitUntil { RunningProcess.isLocked(disk, byte: 201) }, "qemu-io -r took no lock")
        #expect(try Self.run(["digest", disk]).status == 0)
        #expect(try Self.run(["inspect", disk]).status == 0)
        let refused = try Self.run(["write", disk, "--offset", "0", "--input", "/dev/null"])
        #expect(refused.status == 1 && refused.stderr.contains("is reading it"), "\(refused.stderr)")
        reader.finish()
    }

    /// A write made while compact, resize or merge runs (each held at its first write) is
    /// refused, never lost under the operation's result.
    @Test(arguments: ["compact", "resize", "merge"])
    func writeDuringAnInPlaceOperationIsRefused(_ operation: String) throws {
        let library = try FaultInjectionTests.requireLibrary()
        let folder = try TemporaryFolder()
        let disk: String
        var arguments: [String]
        var target: String
        switch operation {
        case "merge":
            let chain = try InPlaceCommandTests.chain(in: folder)
            disk = chain[1]
            target = chain[0]
            arguments = ["merge", disk, "--force"]
        default:
            disk = try Self.emptyDisk(in: folder)
            target = disk
            try Data(repeating: 0x5A, count: 1 << 20).write(to: URL(fileURLWithPath: folder.file("first.bin")))
            #expect(try Self.run(["write", disk, "--offset", "0", "--input", folder.file("first.bin")]).status == 0)
            arguments = operation == "compact" ? ["compact", disk, "-q"] : ["resize", disk, "--size", "128M"]
        }
        let marker = folder.file("paused")
        let running = try RunningProcess(
            try Self.vhdtool(), arguments,
            environment: ["LD_PRELOAD": library, "FAULT_PAUSE_AT_WRITE": "1", "FAULT_PAUSE_FILE": marker])
        #expect(RunningProcess.waitUntil { FileManager.default.fileExists(atPath: marker) }, "\(operation) never wrote")
        try Data(repeating: 0xC3, count: 4096).write(to: URL(fileURLWithPath: folder.file("in.bin")))
        for victim in Set([disk, target]) {
            let refused = try Self.run(["write", victim, "--offset", "\(8 << 20)", "--input", folder.file("in.bin")])
            #expect(refused.status == 1 && refused.stderr.contains("is locked"), "\(operation), write into \(victim): \(refused.stderr)")
        }
        unlink(marker)
        let done = running.finish()
        #expect(done.status == 0, "\(done.stderr)")
        // The result opens and reads (check would also flag the test chain's CHS geometry).
        let read = try Self.run(["digest", target])
        #expect(read.status == 0, "\(read.stderr)")
    }
}
