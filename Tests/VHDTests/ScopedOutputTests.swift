import Foundation
import SystemPackage
import TestSupport
import Testing
import VHD
import VHDFormat

/// `OutputFile.withCreated` and the one-call `Disk.convert`: a new file appears only when
/// complete, and a failure or a cancellation leaves nothing behind.
struct ScopedOutputTests {
    /// The names in `folder` other than `keep`: partial files left behind show up here.
    static func leftovers(in folder: TemporaryFolder, besides keep: Set<String>) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { !keep.contains($0) }.sorted()
    }

    struct Failure: Error {}

    @Test func aSuccessfulBodyCommits() throws {
        let folder = try TemporaryFolder()
        let written = try OutputFile.withCreated(at: FilePath(folder.file("new.bin")), overwrite: false, sync: true) { output throws(VHDError) in
            try output.write([1, 2, 3], at: 0)
            return 3
        }
        #expect(written == 3)
        #expect(try Data(contentsOf: URL(fileURLWithPath: folder.file("new.bin"))) == Data([1, 2, 3]))
        #expect(try Self.leftovers(in: folder, besides: ["new.bin"]).isEmpty)
    }

    @Test func aFailingBodyLeavesTheDestinationAsItWas() throws {
        let folder = try TemporaryFolder()
        try Data([9, 9]).write(to: URL(fileURLWithPath: folder.file("old.bin")))
        #expect(throws: VHDError(path: "x", .cancelled)) {
            try OutputFile.withCreated(at: FilePath(folder.file("old.bin")), overwrite: true, sync: false) { output throws(VHDError) in
                try output.write([1, 2, 3], at: 0)
                throw VHDError(path: "x", .cancelled)
            }
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: folder.file("old.bin"))) == Data([9, 9]))
        #expect(try Self.leftovers(in: folder, besides: ["old.bin"]).isEmpty)
    }

    /// A source with data in its first and last MiB and a size that is not a whole MiB.
    static func makeSource(in folder: TemporaryFolder) throws -> (path: String, content: [UInt8]) {
        let size = (5 << 20) + 512 * 3
        var content = [UInt8](repeating: 0, count: size)
        for index in 0..<(1 << 20) { content[index] = UInt8(truncatingIfNeeded: index &* 31 &+ 7) }
        for index in (size - 4096)..<size { content[index] = 0xA5 }
        let path = folder.file("source.vhd")
        try WriteAPITests.create(.dynamic, size: UInt64(size), at: path)
        try Disk.withOpened(at: FilePath(path), options: DiskOptions(writable: true)) { disk in
            try disk.write(content, at: 0)
            try disk.flush()
        }
        return (path, content)
    }

    @Test func oneCallMakesWhatAzureAccepts() throws {
        let folder = try TemporaryFolder()
        let source = try Self.makeSource(in: folder)
        let destination = FilePath(folder.file("azure.vhd"))
        let summary = try Disk.convert(from: FilePath(source.path), to: destination, as: .azure)
        #expect(summary.virtualSize == 6 << 20)
        let problems = try DiskImage.withOpened(at: destination) { image in
            #expect(image.layout?.diskType == .fixed)
            return image.layout.map(AzureReadiness.problems(with:)) ?? ["not a VHD"]
        }
        #expect(problems.isEmpty)
        let (head, tail) = try Disk.withOpened(at: destination) { disk in
            (try disk.read(at: 0, count: source.content.count),
             try disk.read(at: UInt64(source.content.count), count: (6 << 20) - source.content.count))
        }
        #expect(head == source.content)
        #expect(tail.allSatisfy { $0 == 0 })
        if let qemuImg = ExternalTool.find("qemu-img") {
            let info = try ExternalTool.run(qemuImg, ["info", "-f", "vpc", destination.string])
            #expect(info.stdout.contains("(6291456 bytes)"), "\(info.stdout)")
        }
    }

    @Test func oneCallIntoVHDXReadsBackTheSameContent() throws {
        let folder = try TemporaryFolder()
        let source = try Self.makeSource(in: folder)
        let destination = FilePath(folder.file("copy.vhdx"))
        try Disk.convert(from: FilePath(source.path), to: destination, as: ConversionTarget(.dynamic, container: .vhdx))
        let (size, content) = try Disk.withOpened(at: destination) { disk in
            (disk.virtualSize, try disk.read(at: 0, count: source.content.count))
        }
        #expect(size == UInt64(source.content.count))
        #expect(content == source.content)
    }

    @Test func aCancelledConversionLeavesNothing() throws {
        let folder = try TemporaryFolder()
        let source = try Self.makeSource(in: folder)
        let options = ConversionOptions(copy: CopyOptions(isCancelled: { true }))
        #expect(throws: VHDError.self) {
            try Disk.convert(from: FilePath(source.path), to: FilePath(folder.file("out.vhd")), as: .azure, options: options)
        }
        #expect(try Self.leftovers(in: folder, besides: ["source.vhd"]).isEmpty)
    }

    @Test func refusals() throws {
        let folder = try TemporaryFolder()
        let source = try Self.makeSource(in: folder)
        // Onto itself: refused before anything is created.
        #expect(throws: VHDError(path: source.path, .sameFile(source: source.path))) {
            try Disk.convert(from: FilePath(source.path), to: FilePath(source.path), as: .azure, options: ConversionOptions(overwrite: true))
        }
        // A gzip-compressed VHDX is not something we write.
        #expect(throws: VHDError.self) {
            try Disk.convert(
                from: FilePath(source.path), to: FilePath(folder.file("x.vhdx.gz")),
                as: ConversionTarget(.dynamic, container: .vhdx, gzipCompressed: true))
        }
        // An existing destination without overwrite.
        try Data([1]).write(to: URL(fileURLWithPath: folder.file("taken.vhd")))
        #expect(throws: VHDError(path: folder.file("taken.vhd"), .destinationExists)) {
            try Disk.convert(from: FilePath(source.path), to: FilePath(folder.file("taken.vhd")), as: .azure)
        }
        #expect(try Self.leftovers(in: folder, besides: ["source.vhd", "taken.vhd"]).isEmpty)
    }
}
