import Foundation
import SystemPackage
import TestSupport
import Testing
import VHD

#if canImport(Glibc)
import Glibc
#endif

/// Tag records: the sidecar round trip, staleness after the image changes, contradictions
/// with the probe, and sidecars that are not ours.
struct ImageTagTests {
    static func makeDisk(in folder: TemporaryFolder, bytes: [UInt8] = DiskLayoutProbeTests.gptDisk().bytes) throws -> String {
        try Data(bytes).write(to: URL(fileURLWithPath: folder.file("disk.raw")))
        try ContentDigestTests.convert(folder.file("disk.raw"), to: .dynamic, at: folder.file("disk.vhd"))
        return folder.file("disk.vhd")
    }

    static func tag(_ path: String, osType: OSType? = .linux, generation: HyperVGeneration? = .v2) throws -> ImageTag {
        let record = try Disk.withOpened(at: FilePath(path)) { disk in
            ImageTag(
                osState: .generalized, osType: osType, hyperVGeneration: generation, architecture: .x64,
                tags: ["team": "images", "build": "42"], image: try ImageBinding(disk: disk, digest: disk.contentDigest()),
                taggedAtUnixSeconds: 1_700_000_000)
        }
        try ImageTagFile.write(record, for: FilePath(path))
        return record
    }

    static func freshness(_ path: String) throws -> TagFreshness {
        let record = try #require(try ImageTagFile.read(for: FilePath(path)))
        return try Disk.withOpened(at: FilePath(path)) { try record.freshness(for: $0) }
    }

    @Test func recordsRoundTripThroughTheSidecar() throws {
        let folder = try TemporaryFolder()
        let path = try Self.makeDisk(in: folder)
        #expect(try ImageTagFile.read(for: FilePath(path)) == nil)
        let record = try Self.tag(path)
        #expect(ImageTagFile.path(for: FilePath(path)).string == path + ".vhdtool.json")
        #expect(try ImageTagFile.read(for: FilePath(path)) == record)
        #expect(record.taggedAt == "2023-11-14T22:13:20Z")
        #expect(record.image.files.map(\.name) == ["disk.vhd"])
        #expect(record.image.digest == (try ContentDigestTests.digest(folder.file("disk.raw"))))
        // The documented keys.
        let json = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path + ".vhdtool.json"))) as? [String: Any])
        #expect(Set(json.keys) == ["formatVersion", "osState", "osType", "hyperVGeneration", "architecture", "tags", "image", "taggedAt"])
        let image = try #require(json["image"] as? [String: Any])
        #expect(Set(image.keys) == ["uniqueId", "virtualSize", "digest", "files", "stampedAtNanoseconds"])
        #expect(json["osState"] as? String == "generalized" && json["hyperVGeneration"] as? String == "V2")
        #expect((image["digest"] as? String)?.hasPrefix("sha256:") == true)
        #expect(try Self.freshness(path) == .current)
    }

    @Test func aWriteMakesTheTagStale() throws {
        let folder = try TemporaryFolder()
        let path = try Self.makeDisk(in: folder)
        _ = try Self.tag(path)
        try ContentDigestTests.write([UInt8](repeating: 0x5A, count: 512), at: 3 << 20, into: path)
        let freshness = try Self.freshness(path)
        #expect(freshness.isStale)
        if case let .stale(reason) = freshness { #expect(reason.contains("content changed")) }
    }

    @Test func aNewModificationTimeAloneIsNotStale() throws {
        let folder = try TemporaryFolder()
        let path = try Self.makeDisk(in: folder)
        _ = try Self.tag(path)
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: 3600)], ofItemAtPath: path)
        #expect(try Self.freshness(path) == .current)  // the digest was recomputed and matched
        // Writing the same bytes again changes nothing either.
        let first = try Disk.withOpened(at: FilePath(path)) { try $0.read(at: 0, count: 4096) }
        try ContentDigestTests.write(first, at: 0, into: path)
        #expect(try Self.freshness(path) == .current)
    }

    /// A write in the same clock tick as the stamp leaves size and time as they were; a stamp
    /// taken that soon after a write is not trusted, so the content is looked at.
    @Test func aWriteInTheStampsClockTickIsCaught() throws {
        let folder = try TemporaryFolder()
        let path = try Self.makeDisk(in: folder)
        let record = try Self.tag(path)
        // Over the GPT header (sector 1, whose bitmap bit is set): written in place, so the
        // file's size stays as it was.
        try ContentDigestTests.write([UInt8](repeating: 0x5A, count: 512), at: 512, into: path)
        let stamp = record.image.files[0]
        let time = timespec(tv_sec: Int(stamp.modifiedNanoseconds / 1_000_000_000), tv_nsec: Int(stamp.modifiedNanoseconds % 1_000_000_000))
        #expect([time, time].withUnsafeBufferPointer { utimensat(AT_FDCWD, path, $0.baseAddress, 0) } == 0)
        #expect(try FileStamp(FilePath(path)).matches(stamp), "size and time as they were when tagged")
        #expect(try Self.freshness(path).isStale)
    }

    /// Stamps taken long after the last write are trusted: the content is not read again.
    @Test func settledStampsSpareReading() throws {
        let folder = try TemporaryFolder()
        let path = try Self.makeDisk(in: folder)
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -3600)], ofItemAtPath: path)
        let record = try Self.tag(path)
        var read: UInt64 = 0
        let freshness = try Disk.withOpened(at: FilePath(path)) { disk in
            try record.freshness(for: disk, options: CopyOptions(progress: { done, _ in read = done }))
        }
        #expect(freshness == .current && read == 0)
    }

    @Test func anotherImageIsStaleByItsUUID() throws {
        let folder = try TemporaryFolder()
        let path = try Self.makeDisk(in: folder)
        _ = try Self.tag(path)
        // Same content, new container: a new footer UUID.
        try ContentDigestTests.convert(folder.file("disk.raw"), to: .dynamic, at: path)
        let freshness = try Self.freshness(path)
        #expect(freshness.isStale)
        if case let .stale(reason) = freshness { #expect(reason.contains("UUID")) }
    }

    @Test func contradictionsWithTheProbe() throws {
        let folder = try TemporaryFolder()
        let gpt = try Self.makeDisk(in: folder)  // EFI system partition + ext4
        let layout = try Disk.withOpened(at: FilePath(gpt)) { try DiskLayoutProbe.probe($0) }
        #expect(try Self.tag(gpt).contradictions(with: layout) == [])
        let windowsV1 = try Self.tag(gpt, osType: .windows, generation: .v1).contradictions(with: layout)
        #expect(windowsV1.count == 2)
        #expect(windowsV1.contains { $0.contains("tagged windows") && $0.contains("ext4") })
        #expect(windowsV1.contains { $0.contains("tagged V1") })
        var mbr = PartitionTableBuilder(sizeInBytes: 8 << 20)
        mbr.writeBootRecord([.init(active: true, type: 0x07, firstSector: 2048, sectorCount: 8192)])
        mbr.writeSignature(.ntfs, at: 2048 * 512)
        let mbrLayout = try DiskLayoutProbe.probe(MemoryDisk(mbr.bytes))
        let onMBR = try Self.tag(gpt, osType: .windows, generation: .v2).contradictions(with: mbrLayout)
        #expect(onMBR == ["tagged V2, but the disk has an MBR partition table (generation 2 boots only from GPT)"])
    }

    @Test func sidecarsThatAreNotOursAreErrors() throws {
        let folder = try TemporaryFolder()
        let path = try Self.makeDisk(in: folder)
        let sidecar = path + ".vhdtool.json"
        for (text, expected) in [("not json", "not a tag record"), (#"{"formatVersion": 2}"#, "format version 2 is newer"),
                                 (#"{"formatVersion": 1, "osState": "frozen"}"#, "osState")] {
            try text.write(toFile: sidecar, atomically: false, encoding: .utf8)
            #expect {
                _ = try ImageTagFile.read(for: FilePath(path))
            } throws: { error in
                guard let error = error as? VHDError, case let .tagUnreadable(reason) = error.kind else { return false }
                return reason.contains(expected) || error.description.contains(expected)
            }
        }
    }

    @Test func azureTagRules() {
        #expect(ImageTag.problem(withTags: ["a": "b"]) == nil)
        #expect(ImageTag.problem(withTags: ["": "b"]) != nil)
        #expect(ImageTag.problem(withTags: ["a/b": "c"]) != nil)
        #expect(ImageTag.problem(withTags: ["a": String(repeating: "v", count: 257)]) != nil)
        #expect(ImageTag.problem(withTags: Dictionary(uniqueKeysWithValues: (0..<51).map { ("k\($0)", "") })) != nil)
    }
}
