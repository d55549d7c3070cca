import SystemPackage
import VHD

/// What version creation needs to know about one local disk: sizes, content identity, and
/// what its metadata says about the OS it holds. Produced by ``gather(path:options:)``, the
/// one place that asks the VHD module.
package struct DiskFacts: Sendable, Equatable {
    package var virtualSize: UInt64
    /// Non-zero bytes at 512-byte granules (``OccupiedSize/nonZeroBytes``).
    package var occupiedBytes: UInt64
    /// The content digest of the virtual bytes.
    package var digest: String
    /// From the disk's OS-state tag; nil when the disk is untagged.
    package var osState: OSState?
    /// What the partition/filesystem probe suggests; nil when it finds nothing it knows.
    package var osType: OSType?
    package var hyperVGeneration: HyperVGeneration?
    /// Why the disk's tag no longer describes it, when it has a stale tag.
    package var staleTag: String?
    /// What Azure would refuse in the disk as it is (empty: it would take it).
    package var azureProblems: [String] = []

    package init(
        virtualSize: UInt64, occupiedBytes: UInt64, digest: String, osState: OSState? = nil,
        osType: OSType? = nil, hyperVGeneration: HyperVGeneration? = nil, staleTag: String? = nil,
        azureProblems: [String] = []
    ) {
        self.staleTag = staleTag
        self.azureProblems = azureProblems
        self.virtualSize = virtualSize
        self.occupiedBytes = occupiedBytes
        self.digest = digest
        self.osState = osState
        self.osType = osType
        self.hyperVGeneration = hyperVGeneration
    }

    /// The smallest source the gallery takes: 1 MiB.
    package static let minimumSize: UInt64 = 1 << 20

    /// Opens the disk at `path` (and its chain) with the structural checks of
    /// ``Disk/withOpened(at:options:_:)`` and measures it: occupied size, content digest, its
    /// OS-state tag (only when the tag is bound to this very content; a stale tag is reported
    /// with what changed) and the partition and filesystem probe (the tag's OS type and
    /// generation, when recorded, win over the probe's suggestions).
    ///
    /// The source must be a VHD or VHDX (a chain of either), or a raw image whose size is a
    /// whole number of 512-byte sectors; any of them at least 1 MiB. A file whose name ends in
    /// `.vhd` but holds no VHD is taken as raw only with `allowRaw`. qcow2, VMDK, VDI and
    /// compressed files are refused by their content.
    ///
    /// - Throws: ``GalleryError``: rule for a source of the wrong kind or size, io when the disk
    ///   cannot be opened or read, or is a damaged VHD.
    package static func gather(path: FilePath, allowRaw: Bool = false, options: CopyOptions = CopyOptions()) throws(GalleryError) -> DiskFacts {
        do {
            return try Disk.withOpened(at: path) { disk in
                let top = disk.layers[0]
                if case .raw = top.contents {
                    let size = disk.virtualSize
                    let name = path.lastComponent?.string.lowercased() ?? ""
                    if name.hasSuffix(".vhd") && !allowRaw {
                        throw GalleryError.rule("the disk '\(path)' is named .vhd but holds no VHD (no 'conectix' footer at its end nor at offset 0)", remedy: .declareRaw)
                    }
                    guard size % 512 == 0 else {
                        throw GalleryError.rule("the disk '\(path)' is neither a VHD nor a raw image: its size, \(size) bytes, is not a whole number of 512-byte sectors")
                    }
                }
                guard disk.virtualSize >= minimumSize else {
                    throw GalleryError.rule("the disk '\(path)' is too small: \(disk.virtualSize) bytes; an image disk holds at least 1 MiB (\(minimumSize) bytes)")
                }
                let occupied = try OccupiedSize.measure(disk, options: options)
                let digest = try disk.contentDigest(options: options)
                // A stale tag describes other content: the disk then counts as untagged.
                let stored = try ImageTagFile.read(for: path)
                var staleTag: String?
                if let stored, stored.image.digest != digest {
                    let uniqueId = top.layout?.footer.uniqueId.description
                    if uniqueId != stored.image.uniqueId {
                        staleTag = "the tag was made for the image with UUID \(stored.image.uniqueId ?? "none (raw)") and this one has \(uniqueId ?? "none (raw)")"
                    } else if disk.virtualSize != stored.image.virtualSize {
                        staleTag = "the virtual size is \(disk.virtualSize) bytes and was \(stored.image.virtualSize) when tagged"
                    } else {
                        staleTag = "the content changed since it was tagged (digest \(digest), tagged \(stored.image.digest))"
                    }
                }
                let tag = staleTag == nil ? stored : nil
                let layout = try DiskLayoutProbe.probe(disk)
                var azure: [String] = []
                switch top.contents {
                case .raw: azure.append("it is a raw image, not a VHD")
                case let .vhd(vhd): azure = disk.layers.count > 1 ? ["it is a differencing disk (a chain of \(disk.layers.count) files)"] : AzureReadiness.problems(with: vhd)
                case .vhdx: azure.append("it is a VHDX image; Azure accepts only fixed VHDs")
                }
                return DiskFacts(
                    virtualSize: disk.virtualSize, occupiedBytes: occupied.nonZeroBytes, digest: digest.description,
                    osState: tag?.osState,
                    osType: tag?.osType ?? layout.suggestedOSType,
                    hyperVGeneration: tag?.hyperVGeneration ?? layout.suggestedHyperVGeneration,
                    staleTag: staleTag, azureProblems: azure)
            }
        } catch let error as GalleryError {
            throw error
        } catch let error as VHDError {
            if case let .unsupportedFormat(format) = error.kind {
                throw GalleryError.rule("the disk '\(path)' is a \(format) image; the gallery publishes VHD, VHDX or raw disks (convert it to a VHD first)")
            }
            throw GalleryError.disk(path.string, error)
        } catch {
            throw GalleryError.disk(path.string, error)
        }
    }

    /// The content digest of `disk`'s virtual bytes ("sha256:<hex>", see ``ContentDigest``),
    /// the same whatever container holds them.
    package static func contentDigest(of disk: Disk, options: CopyOptions = CopyOptions()) throws(VHDError) -> String {
        try disk.contentDigest(options: options).description
    }
}
