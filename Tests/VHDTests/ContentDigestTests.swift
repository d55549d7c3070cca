import Crypto
import Foundation
import SystemPackage
import TestSupport
import Testing
import VHD

/// The content digest: its documented canonical form, one digest for the same bytes in every
/// container, a different one when a byte changes, and zeros never read.
struct ContentDigestTests {
    /// The documented form computed straight from the bytes: the size, then (offset, length,
    /// bytes) of each non-zero 4 KiB granule.
    static func referenceDigest(_ bytes: [UInt8]) -> String {
        var hasher = SHA256()
        func put(_ value: UInt64) { withUnsafeBytes(of: value.bigEndian) { hasher.update(bufferPointer: $0) } }
        put(UInt64(bytes.count))
        for start in stride(from: 0, to: bytes.count, by: 4096) {
            let granule = bytes[start..<min(start + 4096, bytes.count)]
            guard granule.contains(where: { $0 != 0 }) else { continue }
            put(UInt64(start))
            put(UInt64(granule.count))
            hasher.update(data: Array(granule))
        }
        return "sha256:" + hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    static func digest(_ path: String) throws -> ContentDigest {
        try Disk.withOpened(at: FilePath(path)) { try $0.contentDigest() }
    }

    /// Some data at unaligned places (sector-aligned, since VHDs store sectors), a partial
    /// last granule, and zeros between.
    static func model(size: Int = 9 << 20 + 3584, seed: UInt64 = 7) -> [UInt8] {
        var random = SeededGenerator(seed: seed)
        var bytes = [UInt8](repeating: 0, count: size)
        for _ in 0..<25 {
            let length = Int.random(in: 1...300, using: &random) * 512
            let offset = Int.random(in: 0...(size - length) / 512, using: &random) * 512
            for index in offset..<(offset + length) { bytes[index] = UInt8.random(in: 0...255, using: &random) }
        }
        bytes[size - 1] = 0xFF  // the short last granule
        return bytes
    }

    static func convert(_ source: String, to kind: ImageKind, at destination: String) throws {
        try Disk.withOpened(at: FilePath(source)) { disk in
            let output = try OutputFile.create(at: FilePath(destination), overwrite: true)
            _ = try DiskConversion.convert(disk, to: kind, output: output)
            try output.commit(sync: false)
        }
    }

    @Test func digestFollowsTheDocumentedForm() throws {
        let folder = try TemporaryFolder()
        let bytes = Self.model()
        try Data(bytes).write(to: URL(fileURLWithPath: folder.file("disk.raw")))
        #expect(try Self.digest(folder.file("disk.raw")).description == Self.referenceDigest(bytes))
    }

    @Test func sameContentInRawFixedDynamicAndAChainHasOneDigest() throws {
        let folder = try TemporaryFolder()
        let bytes = Self.model()
        let expected = Self.referenceDigest(bytes)
        try Data(bytes).write(to: URL(fileURLWithPath: folder.file("disk.raw")))
        try Self.convert(folder.file("disk.raw"), to: .fixed, at: folder.file("fixed.vhd"))
        try Self.convert(folder.file("disk.raw"), to: .dynamic, at: folder.file("dynamic.vhd"))
        var paths = ["disk.raw", "fixed.vhd", "dynamic.vhd"]
        if let qemuImg = ExternalTool.find("qemu-img") {
            let made = try ExternalTool.run(qemuImg, ["convert", "-f", "raw", "-O", "vpc", "-o", "subformat=dynamic,force_size=on", folder.file("disk.raw"), folder.file("qemu.vhd")])
            #expect(made.status == 0, "\(made.stderr)")
            paths.append("qemu.vhd")
        }
        // A two-deep chain: the base holds the first third of the content, the child the
        // second (and zeros over some of the base's data), the grandchild the rest.
        let size = bytes.count
        var base = [UInt8](repeating: 0, count: size)
        base.replaceSubrange(0..<(size / 3), with: bytes[0..<(size / 3)])
        base.replaceSubrange((size / 3)..<(size / 3 + 8192), with: [UInt8](repeating: 0xEE, count: 8192))  // overwritten later
        try Data(base).write(to: URL(fileURLWithPath: folder.file("base.raw")))
        try Self.convert(folder.file("base.raw"), to: .dynamic, at: folder.file("base.vhd"))
        try Self.createChild(of: folder.file("base.vhd"), at: folder.file("child.vhd"))
        try Self.write(Array(bytes[(size / 3)..<(2 * size / 3)]), at: size / 3, into: folder.file("child.vhd"))
        try Self.createChild(of: folder.file("child.vhd"), at: folder.file("grandchild.vhd"))
        try Self.write(Array(bytes[(2 * size / 3)...]), at: 2 * size / 3, into: folder.file("grandchild.vhd"))
        paths.append("grandchild.vhd")
        for path in paths {
            #expect(try Self.digest(folder.file(path)).description == expected, "\(path)")
        }
        #expect(try Self.digest(folder.file("child.vhd")).description != expected)
    }

    static func createChild(of parent: String, at path: String) throws {
        let output = try OutputFile.create(at: FilePath(path), overwrite: true)
        try DiskCreation.createDifferencing(parentPath: FilePath(parent), output: output)
        try output.commit(sync: false)
    }

    /// Writes whole sectors (the rest of `bytes` is written over zero-padded).
    static func write(_ bytes: [UInt8], at offset: Int, into path: String) throws {
        try Disk.withOpened(at: FilePath(path), options: DiskOptions(writable: true)) { disk in
            try disk.write(bytes, at: UInt64(offset))
            try disk.flush()
        }
    }

    @Test func changingOneByteChangesTheDigest() throws {
        let folder = try TemporaryFolder()
        var bytes = Self.model()
        try Data(bytes).write(to: URL(fileURLWithPath: folder.file("a.raw")))
        let before = try Self.digest(folder.file("a.raw"))
        for index in [0, 4095, 4096, 5 << 20 + 17, bytes.count - 1] {
            bytes[index] ^= 0x01
            try Data(bytes).write(to: URL(fileURLWithPath: folder.file("b.raw")))
            let after = try Self.digest(folder.file("b.raw"))
            #expect(after != before, "byte \(index)")
            #expect(after.description == Self.referenceDigest(bytes))
            bytes[index] ^= 0x01
        }
        // A larger disk with the same bytes differs too (the size is part of the form).
        try Data(bytes + [UInt8](repeating: 0, count: 512)).write(to: URL(fileURLWithPath: folder.file("c.raw")))
        #expect(try Self.digest(folder.file("c.raw")) != before)
    }

    @Test func storedZerosDigestLikeHoles() throws {
        let folder = try TemporaryFolder()
        var bytes = [UInt8](repeating: 0, count: 4 << 20)
        bytes[1 << 20] = 1
        try Data(bytes).write(to: URL(fileURLWithPath: folder.file("dense.raw")))  // zeros written out
        FileManager.default.createFile(atPath: folder.file("sparse.raw"), contents: nil)
        let handle = try #require(FileHandle(forWritingAtPath: folder.file("sparse.raw")))
        try handle.truncate(atOffset: 4 << 20)
        try handle.seek(toOffset: 1 << 20)
        try handle.write(contentsOf: Data([1]))
        try handle.close()
        #expect(try Self.digest(folder.file("dense.raw")) == Self.digest(folder.file("sparse.raw")))
        // A dynamic disk whose only block holds zeros but one byte digests alike too.
        try Self.convert(folder.file("dense.raw"), to: .dynamic, at: folder.file("dynamic.vhd"))
        #expect(try Self.digest(folder.file("dynamic.vhd")) == Self.digest(folder.file("dense.raw")))
    }

    @Test(.timeLimit(.minutes(1)))
    func aNearlyEmptyTerabyteDiskDigestsInTimeProportionalToItsData() throws {
        let folder = try TemporaryFolder()
        let path = folder.file("huge.vhd")
        let output = try OutputFile.create(at: FilePath(path), overwrite: true)
        try DiskCreation.createDynamic(size: 1 << 40, output: output)
        try output.commit(sync: false)
        var model: [(Int, [UInt8])] = [(0, [UInt8](repeating: 0x11, count: 512)), ((1 << 39) + 4096, [UInt8](repeating: 0x22, count: 8192))]
        model.append(((1 << 40) - 512, [UInt8](repeating: 0x33, count: 512)))
        for (offset, bytes) in model { try Self.write(bytes, at: offset, into: path) }
        var total: UInt64 = 0
        let digest = try Disk.withOpened(at: FilePath(path)) { disk in
            try disk.contentDigest(options: CopyOptions(progress: { _, all in total = all }))
        }
        #expect(total == 1 << 40, "progress counts virtual bytes; the time limit shows only data was read")
        // The form by hand: size, then three granules.
        var hasher = SHA256()
        func put(_ value: UInt64) { withUnsafeBytes(of: value.bigEndian) { hasher.update(bufferPointer: $0) } }
        put(1 << 40)
        for (offset, bytes) in model {
            let granuleStart = offset / 4096 * 4096
            var granules = [UInt8](repeating: 0, count: (offset + bytes.count + 4095) / 4096 * 4096 - granuleStart)
            granules.replaceSubrange((offset - granuleStart)..<(offset - granuleStart + bytes.count), with: bytes)
            for start in stride(from: 0, to: granules.count, by: 4096) {
                put(UInt64(granuleStart + start))
                put(4096)
                hasher.update(data: Array(granules[start..<(start + 4096)]))
            }
        }
        #expect(digest.description == "sha256:" + hasher.finalize().map { String(format: "%02x", $0) }.joined())
    }

    @Test func digestTextRoundTrips() throws {
        let text = "sha256:" + String(repeating: "0123456789abcdef", count: 4)
        #expect(ContentDigest(text)?.description == text)
        #expect(ContentDigest(text.uppercased()) == nil)  // "SHA256:" prefix
        #expect(ContentDigest("sha256:" + String(repeating: "AB", count: 32))?.description == "sha256:" + String(repeating: "ab", count: 32))
        for bad in ["", "sha256:", "sha256:12", "md5:" + String(repeating: "0", count: 64), "sha256:" + String(repeating: "g", count: 64)] {
            #expect(ContentDigest(bad) == nil, "\(bad)")
        }
    }
}
