import Crypto
import Foundation
import SystemPackage
import TestSupport
import Testing
import VHD

/// One image of the VHD or VHDX corpus and what is known about it.
struct AgreementImage: CustomTestStringConvertible, Sendable {
    /// Under TestImages/ (copied) or under the shared corpus (`corpus:` prefix).
    var file: String
    /// qemu-img reads the same content: false where it reads another size (FreeBSD's CHS
    /// product) or cannot read the file (a bad checksum) or ignores the parent.
    var qemuAgrees = true
    /// libvhdi opens it (it refuses the 511-byte legacy footer).
    var libvhdiReads = true
    /// Why `check` must exit non-zero; nil for a clean image, on which it must exit 0.
    var damage: String?
    /// Files copied beside it under another name: a parent its child names.
    var companions: [(from: String, as: String)] = []
    var testDescription: String { file }

    /// The image's path, or nil when it is in the shared corpus and that is absent.
    var path: String? {
        if file.hasPrefix("corpus:") { return TestPaths.corpusImage(String(file.dropFirst(7))) }
        return TestPaths.testImage(file)
    }
}

let agreementImages: [AgreementImage] = [
    // The VHD corpus.
    AgreementImage(file: "corpus:dissect-dynamic.vhd"),
    AgreementImage(file: "corpus:dissect-fixed.vhd"),
    AgreementImage(file: "corpus:freebsd-img-1x1-512-gpt.vhdf", qemuAgrees: false),
    AgreementImage(file: "corpus:qemu/qemu-fixed-4M.vhd"),
    AgreementImage(file: "corpus:qemu/qemu-dynamic-64M.vhd"),
    AgreementImage(file: "corpus:qemu/qemu-fixed-2M-force_size.vhd"),
    AgreementImage(file: "corpus:dfvfs-image.vhd", qemuAgrees: false, damage: "its footer checksum is wrong"),
    AgreementImage(
        file: "corpus:dfvfs-image-differential.vhd", qemuAgrees: false, damage: "both its checksums are wrong",
        companions: [("corpus:dfvfs-image.vhd", "image.vhd")]),
    // The project's own small images.
    AgreementImage(file: "dynamic-1sector.vhd"),
    AgreementImage(file: "dynamic-5M-force.vhd"),
    AgreementImage(file: "dynamic-8M.vhd"),
    AgreementImage(file: "dynamic-empty-16M.vhd"),
    AgreementImage(file: "fixed-1M.vhd"),
    AgreementImage(file: "fixed-3M-chs.vhd"),
    AgreementImage(file: "fixed-legacy-511.vhd", libvhdiReads: false, damage: "it ends with a 511-byte footer"),
    // The VHDX corpus.
    AgreementImage(file: "vhdx/coreos-config2-base.vhdx.gz"),
    AgreementImage(file: "vhdx/qemu-dynamic-64M.vhdx.gz"),
    AgreementImage(file: "vhdx/qemu-fixed-8M.vhdx.gz"),
    AgreementImage(file: "vhdx/qemu-dynamic-16M-bs1M.vhdx.gz"),
    AgreementImage(file: "vhdx/qemu-dynamic-4M-log1M.vhdx.gz"),
    AgreementImage(file: "corpus:vhdx/dissect-dynamic.vhdx.gz"),
]

/// Issue #18's "done when", image by image: vhdtool reads what libvhdi's vhdimount reads (and
/// qemu-img, where it reads the same disk), the content digest is the digest of that raw
/// content, and `check` exits 0 on every clean image. With `VHDTOOL_CORPUS_TABLE=FILE` each
/// image appends its row of the results table to FILE.
struct CorpusAgreementTests {
    static func sha256(_ bytes: [UInt8]) -> String { SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined() }

    /// `source` as a plain file in `folder` (decompressed when it is gzip).
    static func place(_ source: String, as name: String, in folder: TemporaryFolder) throws -> String {
        let destination = folder.file(name)
        if source.hasSuffix(".gz") {
            let result = try ExternalTool.run(try #require(ExternalTool.find("gzip")), ["-dc", source], stdoutTo: destination)
            #expect(result.status == 0)
        } else {
            try FileManager.default.copyItem(atPath: source, toPath: destination)
        }
        return destination
    }

    @Test(arguments: agreementImages)
    func vhdtoolReadsWhatLibvhdiReadsAndCheckPassesCleanImages(_ image: AgreementImage) throws {
        guard let source = image.path, FileManager.default.fileExists(atPath: source) else {
            Issue.record(Comment(rawValue: TestPaths.corpusMissing))
            return
        }
        let folder = try TemporaryFolder()
        let name = URL(fileURLWithPath: source).lastPathComponent
        let path = try Self.place(source, as: name.hasSuffix(".gz") ? String(name.dropLast(3)) : name, in: folder)
        for companion in image.companions {
            let from = try #require(AgreementImage(file: companion.from).path)
            _ = try Self.place(from, as: companion.as, in: folder)
        }
        let isVHDX = path.hasSuffix(".vhdx")
        // libvhdi ignores checksums: so does this reading.
        let options = DiskOptions(open: OpenOptions(checksumPolicy: .ignore))
        let (content, digest, creator) = try Disk.withOpened(at: FilePath(path), options: options) { disk in
            (try disk.read(at: 0, count: Int(disk.virtualSize)), try disk.contentDigest(),
             disk.layers[0].image.vhdxLayout?.creator ?? disk.layers[0].layout.map { "\($0.footer.creatorApplication)" } ?? "raw")
        }
        let ours = Self.sha256(content)
        let digestMatches = digest.description == ContentDigestTests.referenceDigest(content)
        #expect(digestMatches)

        var libvhdi = image.libvhdiReads ? "not installed" : "refuses"
        if image.libvhdiReads, let mounted = try ExternalTool.vhdimountRead(path, layerCount: 1 + image.companions.count) {
            libvhdi = Self.sha256(mounted) == ours ? "same" : "DIFFERS"
            #expect(mounted == content, "vhdimount reads \(path) otherwise")
        }
        var qemu = "not installed"
        if let qemuImg = ExternalTool.find("qemu-img") {
            let raw = folder.file("qemu.raw")
            let converted = try ExternalTool.run(qemuImg, ["convert", "-f", isVHDX ? "vhdx" : "vpc", "-O", "raw", path, raw])
            if converted.status != 0 {
                qemu = "refuses"
            } else {
                let theirs = try [UInt8](Data(contentsOf: URL(fileURLWithPath: raw)))
                qemu = theirs == content ? "same" : "differs (\(theirs.count) bytes)"
            }
            if image.qemuAgrees { #expect(qemu == "same", "qemu-img reads \(path) otherwise") }
        }
        let vhdtool = try #require(ExternalTool.vhdtool, "vhdtool is not built")
        let check = try ExternalTool.run(vhdtool, ["check", path])
        if let damage = image.damage {
            #expect(check.status != 0, "check passes \(path) although \(damage)")
        } else {
            #expect(check.status == 0, "check of \(path): \(check.stdout)\(check.stderr)")
        }
        if let table = ProcessInfo.processInfo.environment["VHDTOOL_CORPUS_TABLE"] {
            let row = "| \(image.file) | \(creator) | \(content.count) | \(qemu) | \(libvhdi) | \(ours.prefix(12))… | \(digestMatches ? "yes" : "NO") | \(check.status)\(image.damage.map { " (\($0))" } ?? "") |\n"
            let handle = FileHandle(forWritingAtPath: table) ?? {
                FileManager.default.createFile(atPath: table, contents: nil)
                return FileHandle(forWritingAtPath: table)!
            }()
            handle.seekToEndOfFile()
            handle.write(Data(row.utf8))
            handle.closeFile()
        }
    }
}
