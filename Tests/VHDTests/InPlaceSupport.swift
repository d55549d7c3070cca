import Foundation
import SystemPackage
import TestSupport
import Testing
import VHD
import VHDFormat

/// Shared steps of the in-place operation tests: random disks, reading back, interrupted runs.
enum InPlace {
    /// The whole virtual disk as our reader reads it (through its chain).
    static func content(_ path: String, options: DiskOptions = DiskOptions()) throws -> [UInt8] {
        try Disk.withOpened(at: FilePath(path), options: options) { try $0.read(at: 0, count: Int($0.virtualSize)) }
    }

    /// Warnings of the file at `path` other than "not Azure-ready".
    static func warnings(_ path: String) throws -> [VHDWarning] {
        try layout(of: path, checksumPolicy: .verify).warnings.filter { if case .notAzureReady = $0 { false } else { true } }
    }

    /// Expects no warnings but "not Azure-ready" from the file at `path`.
    static func expectNoWarnings(_ path: String, _ context: String = "") throws {
        let found = try warnings(path)
        #expect(found.isEmpty, "\(context)\(found)")
    }

    /// Creates a fixed or dynamic disk of `size` bytes with seeded random writes; returns its content.
    static func randomDisk(_ kind: ImageKind, size: Int, blockSize: UInt32, at path: String, seed: UInt64, writes: Int = 20) throws -> [UInt8] {
        try WriteAPITests.create(kind, size: UInt64(size), at: path, blockSize: blockSize)
        var model = [UInt8](repeating: 0, count: size)
        try WriteAPITests.writeRandomly(path, model: &model, seed: seed, count: writes, alignment: 512)
        return model
    }

    /// `model` cut or padded with zeros to `size` bytes.
    static func resized(_ model: [UInt8], to size: Int) -> [UInt8] {
        size <= model.count ? Array(model[0..<size]) : model + [UInt8](repeating: 0, count: size - model.count)
    }

    /// The offset just past the last non-zero byte of `bytes`.
    static func dataEnd(_ bytes: [UInt8]) -> Int { (bytes.lastIndex { $0 != 0 } ?? -1) + 1 }

    /// qemu-img compare of a raw model with a VHD (qemu ignores parents: dynamic and fixed only).
    static func qemuAgrees(_ model: [UInt8], _ path: String, in folder: TemporaryFolder) throws {
        guard let qemuImg = ExternalTool.find("qemu-img") else {
            if ProcessInfo.processInfo.environment["VHDTOOL_REQUIRE_ORACLES"] == "1" { Issue.record("qemu-img is not installed") }
            return
        }
        let raw = folder.file("model-\(UUID().uuidString).raw")
        try Data(model).write(to: URL(fileURLWithPath: raw))
        defer { try? FileManager.default.removeItem(atPath: raw) }
        let compare = try ExternalTool.run(qemuImg, ["compare", "-f", "raw", "-F", "vpc", raw, path])
        #expect(compare.status == 0, "qemu-img compare \(path): \(compare.stdout) \(compare.stderr)")
        let check = try ExternalTool.run(qemuImg, ["check", "-f", "vpc", path])
        // qemu-img has no check for vpc ("does not support checks", status 63): only a crash would fail here.
        #expect(check.status == 0 || check.status == 63, "qemu-img check \(path): \(check.stdout) \(check.stderr)")
    }

    /// Runs `operation` on fresh copies of `original` stopped before write 0, 1, 2, ... until it
    /// completes; after each stop, `check` sees the interrupted file. Returns the number of writes.
    static func interruptEverywhere(
        _ original: String, in folder: TemporaryFolder, operation: (String, InPlaceOptions) throws -> Void,
        check: (String, Int) throws -> Void
    ) throws -> Int {
        for stop in 0..<500 {
            let copy = folder.file("interrupted-\(stop).vhd")
            try? FileManager.default.removeItem(atPath: copy)
            try FileManager.default.copyItem(atPath: original, toPath: copy)
            var options = InPlaceOptions()
            options.failBeforeWrite = stop
            do {
                try operation(copy, options)
                try FileManager.default.removeItem(atPath: copy)
                return stop
            } catch let error as VHDError where error.kind == .cancelled {
                try check(copy, stop)
                try FileManager.default.removeItem(atPath: copy)
            }
        }
        Issue.record("the operation never completed")
        return -1
    }
}
