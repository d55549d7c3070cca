import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// What is around the bytes (issue 14, items 3 and 4): FIFOs where files are expected,
/// destinations that are not regular files, sizes past what a file holds, compact's file
/// attributes, and what signals leave. Every run has a harness limit, so a hang fails the test.
struct HostileSurroundingsTests {
    static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> ExternalTool.Output {
        try RunningProcess.run(try LockingTests.vhdtool(), arguments, environment: environment)
    }

    static func mode(_ path: String) -> mode_t {
        var status = stat()
        return stat(path, &status) == 0 ? status.st_mode : 0
    }

    static func lkind(_ path: String) -> mode_t {
        var status = stat()
        return lstat(path, &status) == 0 ? status.st_mode & S_IFMT : 0
    }

    // MARK: FIFOs

    /// A FIFO as the source of convert or digest, and as a differencing disk's parent: one
    /// sentence, no hang.
    @Test func fifoSourcesAndParentsAreRefused() throws {
        let folder = try TemporaryFolder()
        let fifo = folder.file("pipe.vhd")
        #expect(mkfifo(fifo, 0o600) == 0)
        for arguments in [["convert", fifo, folder.file("out.vhd")], ["digest", fifo], ["inspect", fifo], ["write", fifo, "--offset", "0", "--input", "/dev/null"]] {
            let refused = try Self.run(arguments)
            #expect(refused.status == 1 && refused.stderr.contains("is a FIFO"), "\(arguments[0]): \(refused.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: folder.file("out.vhd")))
        // A child whose parent has become a FIFO (same name): passed over, "not found".
        #expect(try Self.run(["create", folder.file("base.vhd"), "--size", "8M"]).status == 0)
        #expect(try Self.run(["create", folder.file("child.vhd"), "--parent", folder.file("base.vhd")]).status == 0)
        unlink(folder.file("base.vhd"))
        #expect(mkfifo(folder.file("base.vhd"), 0o600) == 0)
        let orphan = try Self.run(["digest", folder.file("child.vhd")])
        #expect(orphan.status == 1 && orphan.stderr.contains("was not found"), "\(orphan.stderr)")
        let named = try Self.run(["digest", folder.file("child.vhd"), "--parent", folder.file("base.vhd")])
        #expect(named.status == 1, "\(named.stderr)")
    }

    /// A block device where a locator points (the parent's name now a device node): passed
    /// over as missing, never opened; named with --parent, it would be the user's choice.
    @Test func aBlockDeviceIsNeverAParentThroughALocator() throws {
        let folder = try TemporaryFolder()
        #expect(try Self.run(["create", folder.file("base.vhd"), "--size", "8M"]).status == 0)
        #expect(try Self.run(["create", folder.file("child.vhd"), "--parent", folder.file("base.vhd")]).status == 0)
        unlink(folder.file("base.vhd"))
        // 7:0 is loop0's number; nothing is read from it (it may not even be set up).
        #expect(mknod(folder.file("base.vhd"), S_IFBLK | 0o600, dev_t(7 << 8)) == 0, "mknod needs root")
        let orphan = try Self.run(["digest", folder.file("child.vhd")])
        #expect(orphan.status == 1 && orphan.stderr.contains("was not found"), "\(orphan.stderr)")
    }

    /// A FIFO at the tag sidecar's path (inspect, tag) and among the merge's siblings.
    @Test func fifoSidecarAndSiblingDoNotHang() throws {
        let folder = try TemporaryFolder()
        #expect(try Self.run(["create", folder.file("d.vhd"), "--size", "8M"]).status == 0)
        #expect(mkfifo(folder.file("d.vhd.vhdtool.json"), 0o600) == 0)
        let inspected = try Self.run(["inspect", folder.file("d.vhd")])
        #expect(inspected.status == 0 && (inspected.stdout + inspected.stderr).contains("FIFO"), "\(inspected.stdout) \(inspected.stderr)")
        let tagged = try Self.run(["tag", folder.file("d.vhd")])
        #expect(tagged.status == 1 && tagged.stderr.contains("is a FIFO"), "\(tagged.stderr)")

        let chain = try InPlaceCommandTests.chain(in: folder)
        #expect(mkfifo(folder.file("sibling.vhd"), 0o600) == 0)
        let merged = try Self.run(["merge", chain[1]])
        #expect(merged.status == 0, "\(merged.stderr)")
    }

    // MARK: Destinations

    /// A device node or FIFO at the destination is never replaced, --force or not.
    @Test func deviceAndFIFODestinationsAreNeverReplaced() throws {
        let folder = try TemporaryFolder()
        let source = TestPaths.testImage("dynamic-8M.vhd")
        let device = folder.file("null-device")
        #expect(mknod(device, S_IFCHR | 0o600, dev_t(1 << 8 | 3)) == 0, "mknod (of 1:3, /dev/null's numbers) needs root")
        #expect(mkfifo(folder.file("fifo.vhd"), 0o600) == 0)
        for destination in [device, folder.file("fifo.vhd")] {
            for extra in [[], ["--force"]] {
                let refused = try Self.run(["convert", source, destination, "--to", "raw"] + extra)
                #expect(refused.status == 1, "\(destination) \(extra): \(refused.stderr)")
            }
            let created = try Self.run(["create", destination, "--size", "8M", "--force"])
            #expect(created.status == 1 && created.stderr.contains("only a regular file"), "\(created.stderr)")
        }
        #expect(Self.lkind(device) == S_IFCHR && Self.lkind(folder.file("fifo.vhd")) == S_IFIFO)
    }

    /// A dangling symbolic link is an existing destination: refused without --force; with it,
    /// the link's name is replaced and its target never created.
    @Test func danglingSymlinkNeedsForce() throws {
        let folder = try TemporaryFolder()
        let link = folder.file("link.vhd")
        #expect(symlink(folder.file("nowhere.vhd"), link) == 0)
        let refused = try Self.run(["create", link, "--size", "8M"])
        #expect(refused.status == 1 && refused.stderr.contains("exists"), "\(refused.stderr)")
        #expect(Self.lkind(link) == S_IFLNK)
        let forced = try Self.run(["create", link, "--size", "8M", "--force"])
        #expect(forced.status == 0, "\(forced.stderr)")
        #expect(Self.lkind(link) == S_IFREG && !FileManager.default.fileExists(atPath: folder.file("nowhere.vhd")))
    }

    /// create X --parent X --force, or X = the parent's parent: refused, the chain intact.
    @Test func createOverAFileOfTheParentsChainIsRefused() throws {
        let folder = try TemporaryFolder()
        let base = folder.file("base.vhd")
        let middle = folder.file("middle.vhd")
        #expect(try Self.run(["create", base, "--size", "8M"]).status == 0)
        #expect(try Self.run(["create", middle, "--parent", base]).status == 0)
        let baseBytes = try Data(contentsOf: URL(fileURLWithPath: base))
        let middleBytes = try Data(contentsOf: URL(fileURLWithPath: middle))
        for (destination, parent) in [(middle, middle), (base, middle), (base, base)] {
            let refused = try Self.run(["create", destination, "--parent", parent, "--force"])
            #expect(refused.status == 1 && refused.stderr.contains("same file"), "\(destination) over \(parent): \(refused.stderr)")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: base)) == baseBytes)
        #expect(try Data(contentsOf: URL(fileURLWithPath: middle)) == middleBytes)
        #expect(try Self.run(["check", middle]).status == 0)
    }

    /// convert --to raw --size 2^63 (and above): one sentence, exit 1, nothing left; no trap.
    @Test(arguments: ["9223372036854775808", "18446744073709551615"])
    func rawSizeBeyondAFileIsAnError(_ size: String) throws {
        let folder = try TemporaryFolder()
        let converted = try Self.run(["convert", TestPaths.testImage("dynamic-8M.vhd"), folder.file("out.raw"), "--to", "raw", "--size", size])
        #expect(converted.status == 1 && converted.stderr.contains("does not fit in a file"), "\(converted.status) \(converted.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).isEmpty)
    }

    /// A --block-size past 32 bits is refused with the size given, not clamped into another.
    @Test func blockSizeBeyond32BitsIsNamedAsGiven() throws {
        let folder = try TemporaryFolder()
        for arguments in [
            ["create", folder.file("d.vhd"), "--size", "8M", "--block-size", "8T"],
            ["convert", TestPaths.testImage("dynamic-8M.vhd"), folder.file("d.vhd"), "--block-size", "8T"],
        ] {
            let refused = try Self.run(arguments)
            #expect(refused.status == 64 && refused.stderr.contains("8796093022208"), "\(arguments[0]): \(refused.stderr)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).isEmpty)
    }

    // MARK: compact

    /// compact keeps a 0600 mode, the owner, the group and an xattr; a 0444 disk is refused.
    @Test func compactKeepsAttributesAndRefusesReadOnly() throws {
        let folder = try TemporaryFolder()
        let disk = folder.file("d.vhd")
        #expect(try Self.run(["convert", TestPaths.testImage("dynamic-8M.vhd"), disk]).status == 0)
        #expect(chmod(disk, 0o600) == 0)
        let owned = getuid() == 0 && chown(disk, 4321, 8765) == 0
        let python = ExternalTool.find("python3")
        let tagged = try python.map {
            try ExternalTool.run($0, ["-c", "import os, sys; os.setxattr(sys.argv[1], 'user.vhdtool-test', b'kept')", disk]).status == 0
        } ?? false
        let compacted = try Self.run(["compact", disk, "-q"])
        #expect(compacted.status == 0, "\(compacted.stderr)")
        var status = stat()
        #expect(stat(disk, &status) == 0)
        #expect(status.st_mode & 0o7777 == 0o600)
        if owned { #expect(status.st_uid == 4321 && status.st_gid == 8765) }
        if tagged, let python {
            let read = try ExternalTool.run(python, ["-c", "import os, sys; print(os.getxattr(sys.argv[1], 'user.vhdtool-test').decode())", disk])
            #expect(read.stdout == "kept\n", "\(read.stdout) \(read.stderr)")
        }

        #expect(chmod(disk, 0o444) == 0)
        let before = try Data(contentsOf: URL(fileURLWithPath: disk))
        let refused = try Self.run(["compact", disk, "-q"])
        #expect(refused.status == 1 && refused.stderr.contains("cannot be written"), "\(refused.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: disk)) == before)
        #expect(Self.mode(disk) & 0o7777 == 0o444)
    }

    // MARK: Signals

    /// convert to .gz held part-way (the uncompressed staging copy being written), then
    /// SIGHUP or SIGTERM: the staging file was 0600 and has no name; afterwards nothing is
    /// left in the destination's folder nor in TMPDIR.
    @Test(arguments: [SIGHUP, SIGTERM, SIGINT])
    func gzipStagingIsPrivateAndGoneAfterASignal(_ signal: Int32) throws {
        let library = try FaultInjectionTests.requireLibrary()
        let folder = try TemporaryFolder()
        let temporary = folder.file("tmp")
        try FileManager.default.createDirectory(atPath: temporary, withIntermediateDirectories: false)
        let out = folder.file("out")
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: false)
        let marker = folder.file("paused")
        let running = try RunningProcess(
            try LockingTests.vhdtool(), ["convert", TestPaths.testImage("dynamic-8M.vhd"), out + "/d.vhd.gz", "-q"],
            environment: ["LD_PRELOAD": library, "FAULT_PAUSE_AT_WRITE": "2", "FAULT_PAUSE_FILE": marker, "TMPDIR": temporary])
        #expect(RunningProcess.waitUntil { FileManager.default.fileExists(atPath: marker) }, "convert never wrote")
        // The files it holds open in the two folders: each is 0600.
        var staged: [String] = []
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(running.pid)/fd")) ?? [] {
            let link = "/proc/\(running.pid)/fd/\(entry)"
            guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: link),
                  target.hasPrefix(temporary) || target.hasPrefix(out) else { continue }
            staged.append(target)
            #expect(Self.mode(link) & 0o777 == 0o600, "\(target) is not 0600")
        }
        #expect(!staged.isEmpty, "no staging file open")
        running.send(signal)
        unlink(marker)
        let stopped = running.finish()
        #expect(stopped.status != 0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: temporary).isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: out).isEmpty)
    }

    /// create of a large preallocated fixed disk killed by SIGHUP while writing (a command
    /// that does not poll): the partial file is removed by the handler.
    @Test(arguments: [SIGHUP, SIGTERM])
    func partialDestinationIsRemovedOnASignal(_ signal: Int32) throws {
        let library = try FaultInjectionTests.requireLibrary()
        let folder = try TemporaryFolder()
        let marker = folder.file("paused")
        let running = try RunningProcess(
            try LockingTests.vhdtool(), ["create", folder.file("d.vhd"), "--size", "8M", "--type", "fixed"],
            environment: ["LD_PRELOAD": library, "FAULT_PAUSE_AT_WRITE": "1", "FAULT_PAUSE_FILE": marker])
        #expect(RunningProcess.waitUntil { FileManager.default.fileExists(atPath: marker) }, "create never wrote")
        let partial = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".vhdtool-partial") }
        #expect(partial.count == 1)
        for name in partial { #expect(Self.mode(folder.file(name)) & 0o777 == 0o600) }
        running.send(signal)
        let stopped = running.finish()
        #expect(stopped.status == 128 + signal, "\(stopped.status) \(stopped.stderr)")
        unlink(marker)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).isEmpty)
    }
}
