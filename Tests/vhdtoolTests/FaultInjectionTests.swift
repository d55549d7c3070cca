import Foundation
import SystemPackage
import TestSupport
import Testing
import VHD

/// Crashes and I/O errors injected into `vhdtool` at every write (Tests/FaultInjection/fault.c,
/// loaded with LD_PRELOAD): a destination is absent or complete, an in-place write leaves every
/// block old or new, and errors leave nothing behind.
struct FaultInjectionTests {
    /// fault.so, built once per test run with the C compiler.
    static let library: String? = {
        guard let compiler = ExternalTool.find("cc") ?? ExternalTool.find("gcc") else { return nil }
        let source = TestPaths.repositoryRoot.appendingPathComponent("Tests/FaultInjection/fault.c").path
        let output = NSTemporaryDirectory() + "vhdtool-fault-\(getpid()).so"
        let result = try? ExternalTool.run(compiler, ["-shared", "-fPIC", "-O1", "-o", output, source, "-ldl"])
        return result?.status == 0 ? output : nil
    }()

    static func requireLibrary() throws -> String {
        try #require(library, "fault.so could not be built (no C compiler?)")
    }

    /// Runs vhdtool with the fault library and `settings` in its environment.
    static func vhdtool(_ arguments: [String], faults settings: [String: String], stdin: String? = nil) throws -> ExternalTool.Output {
        let vhdtool = try #require(ExternalTool.vhdtool, "vhdtool is not built")
        var environment = ["LD_PRELOAD": try requireLibrary()]
        environment.merge(settings) { $1 }
        return try ExternalTool.run("/usr/bin/env", environment.map { "\($0)=\($1)" } + [vhdtool] + arguments)
    }

    /// A dynamic disk (2 MiB blocks, 10 MiB) with data in blocks 0, 2 and 4, made by our writer.
    static func sourceDisk(in folder: TemporaryFolder) throws -> (path: String, content: [UInt8]) {
        let path = folder.file("source.vhd")
        var content = [UInt8](repeating: 0, count: 10 << 20)
        for (block, value) in [(0, UInt8(0x11)), (2, 0x22), (4, 0x44)] {
            let start = block * (2 << 20) + 4096 * block
            content.replaceSubrange(start..<(start + 300_000), with: repeatElement(value, count: 300_000))
        }
        try Data(content).write(to: URL(fileURLWithPath: folder.file("source.raw")))
        let made = try ConvertTests.vhdtool(["convert", folder.file("source.raw"), path, "--to", "dynamic", "-q"])
        #expect(made.status == 0, "\(made.stderr)")
        return (path, content)
    }

    static func killedBySIGKILL(_ output: ExternalTool.Output) -> Bool { output.status == 128 + 9 || output.status == -9 || output.status == 9 }

    static func visibleFiles(_ folder: TemporaryFolder) throws -> Set<String> {
        Set(try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { !$0.hasPrefix(".") })
    }

    /// Kills `convert` before each of its writes in turn: until the run that completes, the
    /// destination never exists; then it holds the whole disk.
    @Test(arguments: ["raw", "fixed", "dynamic"])
    func convertKilledAtEveryWriteLeavesNoDestination(to kind: String) throws {
        let folder = try TemporaryFolder()
        let (source, content) = try Self.sourceDisk(in: folder)
        let destination = folder.file("out.\(kind)")
        var completed = false
        for write in 1...200 {
            let run = try Self.vhdtool(["convert", source, destination, "--to", kind, "-q"], faults: ["FAULT_KILL_AT_WRITE": "\(write)"])
            if run.status == 0 {
                completed = true
                break
            }
            #expect(Self.killedBySIGKILL(run), "write \(write): status \(run.status), \(run.stderr)")
            #expect(!FileManager.default.fileExists(atPath: destination), "write \(write): a destination after a crash")
        }
        #expect(completed)
        let reread = try Disk.withOpened(at: FilePath(destination)) { try $0.read(at: 0, count: content.count) }
        #expect(reread == content)
    }

    @Test func createKilledAtEveryWriteLeavesNoDestination() throws {
        let folder = try TemporaryFolder()
        let destination = folder.file("new.vhd")
        var completed = false
        for write in 1...20 {
            let run = try Self.vhdtool(["create", destination, "--size", "64M"], faults: ["FAULT_KILL_AT_WRITE": "\(write)"])
            if run.status == 0 {
                completed = true
                break
            }
            #expect(!FileManager.default.fileExists(atPath: destination), "write \(write)")
        }
        #expect(completed)
    }

    /// A full filesystem and an I/O error part-way: a non-zero status naming the error, no
    /// destination and no temporary file left.
    @Test(arguments: [(28, "No space left on device"), (5, "Input/output error")])
    func writeErrorsLeaveNothing(errno: Int, message: String) throws {
        let folder = try TemporaryFolder()
        let (source, _) = try Self.sourceDisk(in: folder)
        for kind in ["raw", "dynamic"] {
            let destination = folder.file("out.\(kind)")
            let run = try Self.vhdtool(
                ["convert", source, destination, "--to", kind, "-q"],
                faults: ["FAULT_AFTER_BYTES": "200000", "FAULT_ERRNO": "\(errno)"])
            #expect(run.status != 0 && !Self.killedBySIGKILL(run))
            #expect(run.stderr.contains(message), "\(run.stderr)")
            let left = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasPrefix("out") || $0.hasSuffix("vhdtool-partial") }
            #expect(left.isEmpty, "\(left)")
        }
    }

    /// `vhdtool write` into a dynamic disk, killed before each of its writes: the disk opens
    /// and every 2 MiB block reads wholly as before or wholly as written.
    @Test func inPlaceWriteKilledAtEveryWriteLeavesOldOrNewBlocks() throws {
        let folder = try TemporaryFolder()
        let (pristine, old) = try Self.sourceDisk(in: folder)
        // New data over blocks 1..4: 1 and 3 unallocated (allocation), 2 and 4 allocated (in place).
        let newStart = (2 << 20) + 12345
        let newBytes = [UInt8]((0..<(7 << 20)).map { UInt8(truncatingIfNeeded: $0 / 4096 &+ 7) })
        try Data(newBytes).write(to: URL(fileURLWithPath: folder.file("new.bin")))
        var new = old
        new.replaceSubrange(newStart..<(newStart + newBytes.count), with: newBytes)
        let blockSize = 2 << 20

        var completed = false
        for write in 1...200 {
            let disk = folder.file("disk-\(write).vhd")
            try FileManager.default.copyItem(atPath: pristine, toPath: disk)
            let run = try Self.vhdtool(
                ["write", disk, "--offset", "\(newStart)", "--input", folder.file("new.bin")], faults: ["FAULT_KILL_AT_WRITE": "\(write)"])
            let content: [UInt8]
            do {
                content = try Disk.withOpened(at: FilePath(disk)) { try $0.read(at: 0, count: old.count) }
            } catch {
                Issue.record("killed before write \(write): the disk does not open: \(error)")
                try FileManager.default.removeItem(atPath: disk)
                continue
            }
            for block in 0..<(old.count / blockSize) {
                let range = (block * blockSize)..<((block + 1) * blockSize)
                let isOld = content[range] == old[range]
                let isNew = content[range] == new[range]
                #expect(isOld || isNew, "killed before write \(write): block \(block) is neither old nor new")
            }
            try FileManager.default.removeItem(atPath: disk)
            if run.status == 0 {
                completed = true
                #expect(content == new)
                break
            }
            #expect(Self.killedBySIGKILL(run), "write \(write): status \(run.status) \(run.stderr)")
        }
        #expect(completed)
    }

    /// `version create` killed before each of its writes in turn (replica copies and the
    /// catalog's own SQLite writes alike): never a region Completed whose replica is missing or
    /// different, no half-written file at a replica's final path, and `version replicate`
    /// finishes what was recorded.
    @Test func galleryVersionCreateKilledAtManyWrites() throws {
        let gallery = try GalleryFixture(regions: ["westus", "eastus"])
        guard let os = try gallery.qemuDisk("os.vhd", size: "8M", writes: ["write -P 0x11 0 1M", "write -P 0x22 5M 512k"]) else { return }
        try gallery.standardDefinition()
        let vhdtool = try #require(ExternalTool.vhdtool)
        var completedRun = false
        for write in stride(from: 1, through: 400, by: 3) {
            let version = "1.0.\(write)"
            let run = try ExternalTool.run("/usr/bin/env", [
                "LD_PRELOAD=\(try Self.requireLibrary())", "FAULT_KILL_AT_WRITE=\(write)", vhdtool,
                "version", "create", version, "--gallery", "g", "--definition", "ubuntu", "--os-vhd", os, "--os-state", "generalized",
                "--target-region", "westus=2", "--target-region", "eastus", "-q", "--store", gallery.store])
            // Every file at a final path (not a hidden temporary) holds the whole disk.
            for region in ["westus", "eastus"] {
                for file in gallery.files(under: gallery.region(region)) where !(file.split(separator: "/").last ?? "").hasPrefix(".") {
                    let path = gallery.region(region) + "/" + file
                    let compare = try ExternalTool.run(try #require(ExternalTool.find("qemu-img")), ["compare", "-f", "vpc", "-F", "vpc", os, path])
                    #expect(compare.status == 0, "write \(write): \(path) is not the source's content")
                }
            }
            let shown = try gallery.run(["version", "show", version, "--gallery", "g", "--definition", "ubuntu", "--verify", "--json"])
            if shown.status == 2 {  // never recorded: killed before the catalog's commit
                #expect(Self.killedBySIGKILL(run), "write \(write): no version recorded, yet create exited \(run.status): \(run.stderr)")
                continue
            }
            // --verify fails only regions that claimed Completed with a bad replica: none may.
            #expect(shown.status == 0 || !shown.stderr.contains("missing or changed"), "write \(write): \(shown.stderr)")
            let replicate = try gallery.run(["version", "replicate", version, "--gallery", "g", "--definition", "ubuntu", "-q"])
            #expect(replicate.status == 0, "write \(write): replicate: \(replicate.stderr)")
            let after = try gallery.json(["version", "show", version, "--gallery", "g", "--definition", "ubuntu", "--verify"])
            let states = ((after["replicationStatus"] as? [String: Any])?["summary"] as? [[String: Any]])?.compactMap { $0["state"] as? String }
            #expect(states == ["Completed", "Completed"], "write \(write): \(String(describing: states))")
            if run.status == 0 {
                completedRun = true
                break
            }
        }
        #expect(completedRun, "no run got past every write")
    }
}
