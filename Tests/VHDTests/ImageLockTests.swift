import Foundation
import SystemPackage
import Testing
import TestSupport
@testable import VHD

#if canImport(Glibc)
import Glibc
#endif

/// Locks and file types through the library, in one process (issue 14, items 1 and 3): OFD
/// locks belong to an open file description, so two opens of one disk conflict here as two
/// processes do.
struct ImageLockTests {
    /// A copy of a small dynamic disk in a fresh folder (never lock a shared test image).
    static func disk(in folder: TemporaryFolder) throws -> FilePath {
        let path = folder.file("d.vhd")
        try FileManager.default.copyItem(atPath: TestPaths.testImage("dynamic-8M.vhd"), toPath: path)
        return FilePath(path)
    }

    static func lockError(_ body: () throws -> Void) -> ImageLock.Holder? {
        do {
            try body()
        } catch let error as VHDError {
            if case let .locked(holder) = error.kind { return holder }
            Issue.record("not a lock error: \(error)")
        } catch {
            Issue.record("not a VHDError: \(error)")
        }
        return nil
    }

    @Test func twoWritersInOneProcessAreRefused() throws {
        let folder = try TemporaryFolder()
        let path = try Self.disk(in: folder)
        try Disk.withOpened(at: path, options: DiskOptions(writable: true)) { disk in
            try disk.write([1, 2, 3], at: 0)
            #expect(Self.lockError { try Disk.withOpened(at: path, options: DiskOptions(writable: true)) { _ in } } == .writer)
            #expect(Self.lockError { try Disk.withOpened(at: path) { _ in } } == .writer)
            #expect(Self.lockError { try DiskImage.withOpened(at: path) { _ in } } == .writer)
            // Without locking, the caller answers for it.
            try Disk.withOpened(at: path, options: DiskOptions(locking: false)) { _ in }
        }
        // Closed: the locks went with the descriptor. (A process that other tests spawn at this
        // moment holds copies of our descriptors until its exec closes them, and with them the
        // locks: so a few tries.)
        var reopened = false
        for _ in 0..<100 where !reopened {
            do {
                try Disk.withOpened(at: path, options: DiskOptions(writable: true)) { _ in }
                reopened = true
            } catch {
                usleep(50_000)
            }
        }
        #expect(reopened)
    }

    @Test func readersShareAndExcludeAWriter() throws {
        let folder = try TemporaryFolder()
        let path = try Self.disk(in: folder)
        try Disk.withOpened(at: path) { _ in
            try Disk.withOpened(at: path) { _ in }
            try DiskImage.withOpened(at: path) { _ in }
            #expect(Self.lockError { try Disk.withOpened(at: path, options: DiskOptions(writable: true)) { _ in } } == .reader)
            #expect(Self.lockError { _ = try DiskResize.resize(at: path, to: 16 << 20) } == .reader)
        }
    }

    /// A repair planned, then the file written by someone else before the repair takes its
    /// exclusive lock: nothing is applied.
    @Test func aRepairPlannedOverBytesThatChangedIsRefused() throws {
        let folder = try TemporaryFolder()
        let path = folder.file("broken.vhd")
        try FileManager.default.copyItem(atPath: TestPaths.testImage("broken-bad-header-checksum.vhd"), toPath: path)
        let changes = try HostFile.withOpened(at: FilePath(path)) { try DiskRepair.plan($0) }
        let change = try #require(changes.first)
        let handle = try #require(FileHandle(forWritingAtPath: path))
        try handle.seek(toOffset: UInt64(change.offset))
        try handle.write(contentsOf: change.oldBytes.map { $0 ^ 0xFF })
        try handle.close()
        let changed = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(throws: VHDError.self) { try DiskRepair.apply(changes, to: FilePath(path), backup: FilePath(folder.file("backup.txt"))) }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == changed)
    }

    @Test func fifosAndFoldersAreNotOpened() throws {
        let folder = try TemporaryFolder()
        let fifo = folder.file("pipe.vhd")
        #expect(mkfifo(fifo, 0o600) == 0)
        #expect(throws: VHDError(path: fifo, .notARegularFile(.fifo))) { try HostFile.open(FilePath(fifo)) }
        #expect(throws: VHDError(path: folder.path, .notARegularFile(.directory))) { try HostFile.open(FilePath(folder.path)) }
        #expect(throws: VHDError(path: fifo, .destinationNotReplaceable(.fifo))) { try OutputFile.create(at: FilePath(fifo), overwrite: true) }
        #expect(throws: VHDError(path: folder.path, .destinationNotReplaceable(.directory))) {
            try OutputFile.create(at: FilePath(folder.path), overwrite: true)
        }
    }
}
