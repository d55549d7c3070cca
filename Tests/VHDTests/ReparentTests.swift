import Foundation
import SystemPackage
import TestSupport
import Testing
import VHD
import VHDFormat

/// Pointing differencing disks at moved parents.
struct ReparentTests {
    /// A dynamic base with random data and a differencing child with its own writes, made by
    /// our writer; returns the child's content.
    static func chain(in folder: TemporaryFolder, seed: UInt64, base: String = "base.vhd", child: String = "child.vhd") throws -> [UInt8] {
        var model = try InPlace.randomDisk(.dynamic, size: 6 << 20, blockSize: 2 << 20, at: folder.file(base), seed: seed, writes: 10)
        let output = try OutputFile.create(at: FilePath(folder.file(child)), overwrite: false)
        try DiskCreation.createDifferencing(parentPath: FilePath(folder.file(base)), output: output)
        try output.commit(sync: false)
        try WriteAPITests.writeRandomly(folder.file(child), model: &model, seed: seed + 1, count: 10, alignment: 4096)
        return model
    }

    static func locatorPaths(_ path: String) throws -> [String: String] {
        var result: [String: String] = [:]
        for located in try layout(of: path, checksumPolicy: .verify).dynamic?.locators ?? [] {
            result[located.locator.platformCode.description] = located.path
        }
        return result
    }

    @Test(arguments: 1...6)
    func aMovedParentIsFoundAgain(seed: UInt64) throws {
        let folder = try TemporaryFolder()
        let model = try Self.chain(in: folder, seed: seed * 31)
        // Longer and longer paths: later ones no longer fit the gaps and go to the end.
        let subfolder = "elsewhere/" + String(repeating: "a-deeper-folder/", count: Int(seed) * 10)
        try FileManager.default.createDirectory(atPath: folder.file(subfolder), withIntermediateDirectories: true)
        let name = "moved-\(seed).vhd"
        let moved = folder.file(subfolder + name)
        try FileManager.default.moveItem(atPath: folder.file("base.vhd"), toPath: moved)
        #expect(throws: VHDError.self) { try InPlace.content(folder.file("child.vhd")) }
        let summary = try DiskReparent.reparent(at: FilePath(folder.file("child.vhd")), to: FilePath(moved))
        #expect(summary.relativePath == ".\\" + (subfolder + name).replacingOccurrences(of: "/", with: "\\"))
        #expect(!summary.uniqueIdChanged)
        try InPlace.expectNoWarnings(folder.file("child.vhd"))
        #expect(try Self.locatorPaths(folder.file("child.vhd")) == ["W2ku": moved, "W2ru": summary.relativePath])
        let header = try #require(try layout(of: folder.file("child.vhd")).dynamic?.header)
        #expect(header.parentName == name)
        #expect(firstDifference(try InPlace.content(folder.file("child.vhd")), model) == nil)
        // Moved back beside the child: the relative path is .\base.vhd again.
        try FileManager.default.moveItem(atPath: moved, toPath: folder.file("base.vhd"))
        let back = try DiskReparent.reparent(at: FilePath(folder.file("child.vhd")), to: FilePath(folder.file("base.vhd")))
        #expect(back.relativePath == ".\\base.vhd")
        #expect(firstDifference(try InPlace.content(folder.file("child.vhd")), model) == nil)
        // libvhdi looks for the parent by name beside the child, so it is asked only now.
        if seed <= 2, let theirs = try ExternalTool.vhdimountRead(folder.file("child.vhd"), layerCount: 2) {
            #expect(firstDifference(theirs, model) == nil, "vhdimount")
        }
    }

    @Test func repeatedReparentsReuseTheFreedSpace() throws {
        let folder = try TemporaryFolder()
        _ = try Self.chain(in: folder, seed: 3)
        var sizes: [Int64] = []
        for round in 0..<8 {
            let name = round % 2 == 0 ? "a.vhd" : "b.vhd"
            try FileManager.default.moveItem(atPath: folder.file(round == 0 ? "base.vhd" : (round % 2 == 0 ? "b.vhd" : "a.vhd")), toPath: folder.file(name))
            _ = try DiskReparent.reparent(at: FilePath(folder.file("child.vhd")), to: FilePath(folder.file(name)))
            sizes.append(try layout(of: folder.file("child.vhd")).fileSize)
            _ = try InPlace.content(folder.file("child.vhd"))
        }
        #expect(Set(sizes.dropFirst(2)).count == 1, "the file keeps growing: \(sizes)")
    }

    @Test func anotherUUIDIsRefusedUnlessForced() throws {
        let folder = try TemporaryFolder()
        let model = try Self.chain(in: folder, seed: 9)
        // A copy of the base under a new UUID, with the same content.
        try Disk.withOpened(at: FilePath(folder.file("base.vhd"))) { disk in
            let output = try OutputFile.create(at: FilePath(folder.file("copy.vhd")), overwrite: false)
            _ = try DiskConversion.convert(disk, to: .dynamic, output: output)
            try output.commit(sync: false)
        }
        try FileManager.default.removeItem(atPath: folder.file("base.vhd"))
        let before = try Data(contentsOf: URL(fileURLWithPath: folder.file("child.vhd")))
        let error = #expect(throws: VHDError.self) {
            try DiskReparent.reparent(at: FilePath(folder.file("child.vhd")), to: FilePath(folder.file("copy.vhd")))
        }
        guard case .refusedUnlessForced = error?.kind else {
            Issue.record("expected a refusal that force overrides, got \(String(describing: error))")
            return
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: folder.file("child.vhd"))) == before)
        let summary = try DiskReparent.reparent(at: FilePath(folder.file("child.vhd")), to: FilePath(folder.file("copy.vhd")), force: true)
        #expect(summary.uniqueIdChanged)
        #expect(firstDifference(try InPlace.content(folder.file("child.vhd")), model) == nil)
    }

    @Test func aLoopIsRefused() throws {
        let folder = try TemporaryFolder()
        _ = try Self.chain(in: folder, seed: 11)
        let output = try OutputFile.create(at: FilePath(folder.file("grandchild.vhd")), overwrite: false)
        try DiskCreation.createDifferencing(parentPath: FilePath(folder.file("child.vhd")), output: output)
        try output.commit(sync: false)
        for parent in ["child.vhd", "grandchild.vhd"] {
            let error = #expect(throws: VHDError.self) {
                try DiskReparent.reparent(at: FilePath(folder.file("child.vhd")), to: FilePath(folder.file(parent)), force: true)
            }
            #expect(error?.description.contains("loop") == true, "\(String(describing: error))")
        }
        let notDifferencing = #expect(throws: VHDError.self) {
            try DiskReparent.reparent(at: FilePath(folder.file("base.vhd")), to: FilePath(folder.file("child.vhd")))
        }
        #expect(notDifferencing?.description.contains("not a differencing disk") == true)
    }

    /// Stopped before each write, a reparent leaves the old parent record or the new one,
    /// and the child opens either way.
    @Test(arguments: [false, true])
    func anInterruptedReparentLeavesTheOldOrTheNewRecord(longPath: Bool) throws {
        let folder = try TemporaryFolder()
        let model = try Self.chain(in: folder, seed: longPath ? 21 : 22)
        let name = longPath ? String(repeating: "a-long-folder-name/", count: 40) + "base.vhd" : "other.vhd"
        try FileManager.default.createDirectory(atPath: folder.file(name + "-folder").replacingOccurrences(of: "/base.vhd-folder", with: ""), withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: folder.file("base.vhd"), toPath: folder.file(name))
        let oldPaths = try Self.locatorPaths(folder.file("child.vhd"))
        var newPaths: [String: String]?
        _ = try InPlace.interruptEverywhere(folder.file("child.vhd"), in: folder, operation: { path, options in
            _ = try DiskReparent.reparent(at: FilePath(path), to: FilePath(folder.file(name)), options: options)
            newPaths = try Self.locatorPaths(path)
        }, check: { path, stop in
            let paths = try Self.locatorPaths(path)
            #expect(paths == oldPaths, "stopped before write \(stop)")
            #expect(firstDifference(try InPlace.content(path), model) == nil, "stopped before write \(stop)")
        })
        #expect(newPaths?["W2ru"] == ".\\" + name.replacingOccurrences(of: "/", with: "\\"))
    }
}
