import Foundation
import SystemPackage
import TestSupport
import VHD
import VHDFormat

/// Opens an image the way `vhdtool inspect` does and returns its layout.
func layout(of path: String, checksumPolicy: ChecksumPolicy = .ignore) throws -> VHDLayout {
    try DiskImage.withOpened(at: FilePath(path), options: OpenOptions(checksumPolicy: checksumPolicy)) { disk in
        guard let layout = disk.layout else { throw VHDError(path: path, .notAVHD(reason: "raw")) }
        return layout
    }
}

/// The error kind that opening `path` throws, or nil if it opens.
func openingError(_ path: String, checksumPolicy: ChecksumPolicy = .verify) -> VHDError.Kind? {
    do {
        _ = try DiskImage.withOpened(at: FilePath(path), options: OpenOptions(checksumPolicy: checksumPolicy)) { $0.format }
        return nil
    } catch let error as VHDError {
        return error.kind
    } catch {
        return .notAVHD(reason: "unexpected error \(error)")
    }
}

/// The valid images in TestImages/ (made with qemu-img; see TestImages/README.md).
let validTestImages = [
    "fixed-1M.vhd", "fixed-3M-chs.vhd", "fixed-legacy-511.vhd", "dynamic-8M.vhd", "dynamic-5M-force.vhd",
    "dynamic-empty-16M.vhd", "dynamic-1sector.vhd",
]

/// One row of the corpus README's main table.
struct CorpusImage: Sendable, CustomStringConvertible {
    var file: String
    var diskType: DiskType
    var virtualSize: UInt64
    var qemuVirtualSize: UInt64?  // nil where qemu-img refuses the image
    var creator: String
    var creatorVersion: String
    var blockSize: UInt32?

    var description: String { file }
}

/// Type, sizes and creator of each corpus image, as ../shared/vhd-corpus/README.md lists them.
let corpusImages: [CorpusImage] = [
    CorpusImage(file: "dfvfs-image.vhd", diskType: .dynamic, virtualSize: 104_448, qemuVirtualSize: nil,
                creator: "qemu", creatorVersion: "5.3", blockSize: 2 << 20),
    CorpusImage(file: "dfvfs-image-differential.vhd", diskType: .differencing, virtualSize: 104_448,
                qemuVirtualSize: nil, creator: "qemu", creatorVersion: "5.3", blockSize: 2 << 20),
    CorpusImage(file: "dfvfs-fat-differential.vhd", diskType: .differencing, virtualSize: 4_194_304,
                qemuVirtualSize: 4_194_304, creator: "win ", creatorVersion: "10.0", blockSize: 2 << 20),
    CorpusImage(file: "dissect-dynamic.vhd", diskType: .dynamic, virtualSize: 10_485_760,
                qemuVirtualSize: 10_485_760, creator: "win ", creatorVersion: "10.0", blockSize: 2 << 20),
    CorpusImage(file: "dissect-fixed.vhd", diskType: .fixed, virtualSize: 10_485_760,
                qemuVirtualSize: 10_485_760, creator: "win ", creatorVersion: "10.0", blockSize: nil),
    CorpusImage(file: "freebsd-img-1x1-512-gpt.vhdf", diskType: .fixed, virtualSize: 5_242_880,
                qemuVirtualSize: 5_222_400, creator: "*img", creatorVersion: "2.0", blockSize: nil),
    CorpusImage(file: "qemu/qemu-fixed-4M.vhd", diskType: .fixed, virtualSize: 4_212_736,
                qemuVirtualSize: 4_212_736, creator: "qemu", creatorVersion: "5.3", blockSize: nil),
    CorpusImage(file: "qemu/qemu-dynamic-64M.vhd", diskType: .dynamic, virtualSize: 67_125_248,
                qemuVirtualSize: 67_125_248, creator: "qemu", creatorVersion: "5.3", blockSize: 2 << 20),
    CorpusImage(file: "qemu/qemu-fixed-2M-force_size.vhd", diskType: .fixed, virtualSize: 2_097_152,
                qemuVirtualSize: 2_097_152, creator: "qem2", creatorVersion: "5.3", blockSize: nil),
]
