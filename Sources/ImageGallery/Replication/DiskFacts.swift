import SystemPackage
import VHD

/// What version creation needs to know about one local disk: sizes, content identity, and
/// what its metadata says about the OS it holds. Produced by ``gather(path:options:)``, the
/// one place that asks the VHD module.
public struct DiskFacts: Sendable, Equatable {
    public var virtualSize: UInt64
    /// Non-zero bytes at 512-byte granules (``OccupiedSize/nonZeroBytes``).
    public var occupiedBytes: UInt64
    /// The content digest of the virtual bytes.
    public var digest: String
    /// From the disk's OS-state tag; nil when the disk is untagged.
    public var osState: GalleryOSState?
    /// What the partition/filesystem probe suggests; nil when it finds nothing it knows.
    public var osType: GalleryOSType?
    public var hyperVGeneration: GalleryHyperVGeneration?

    public init(
        virtualSize: UInt64, occupiedBytes: UInt64, digest: String, osState: GalleryOSState? = nil,
        osType: GalleryOSType? = nil, hyperVGeneration: GalleryHyperVGeneration? = nil
    ) {
        self.virtualSize = virtualSize
        self.occupiedBytes = occupiedBytes
        self.digest = digest
        self.osState = osState
        self.osType = osType
        self.hyperVGeneration = hyperVGeneration
    }

    /// Opens the disk at `path` (and its chain) with the structural checks of
    /// ``Disk/withOpened(at:options:_:)`` and measures it: occupied size, content digest, its
    /// OS-state tag (only when the tag is bound to this very content) and the partition and
    /// filesystem probe (the tag's OS type and generation, when recorded, win over the probe's
    /// suggestions).
    ///
    /// - Throws: ``GalleryError`` (category io) when the disk cannot be opened or read.
    public static func gather(path: FilePath, options: CopyOptions = CopyOptions()) throws(GalleryError) -> DiskFacts {
        do {
            return try Disk.withOpened(at: path) { disk in
                let occupied = try OccupiedSize.measure(disk, options: options)
                let digest = try disk.contentDigest(options: options)
                // A stale tag describes other content: the disk then counts as untagged.
                let tag = try ImageTagFile.read(for: path).flatMap { $0.image.digest == digest ? $0 : nil }
                let layout = try DiskLayoutProbe.probe(disk)
                return DiskFacts(
                    virtualSize: disk.virtualSize, occupiedBytes: occupied.nonZeroBytes, digest: digest.description,
                    osState: tag.map { $0.osState == .generalized ? .generalized : .specialized },
                    osType: (tag?.osType ?? layout.suggestedOSType).map { $0 == .windows ? .windows : .linux },
                    hyperVGeneration: (tag?.hyperVGeneration ?? layout.suggestedHyperVGeneration).map { $0 == .v1 ? .v1 : .v2 })
            }
        } catch let error as GalleryError {
            throw error
        } catch {
            throw GalleryError.disk(path.string, error)
        }
    }

    /// The content digest of `disk`'s virtual bytes ("sha256:<hex>", see ``ContentDigest``),
    /// the same whatever container holds them.
    public static func contentDigest(of disk: Disk, options: CopyOptions = CopyOptions()) throws(VHDError) -> String {
        try disk.contentDigest(options: options).description
    }
}
