import SystemPackage
import VHDFormat

/// One file of a disk's chain: the disk opened (layer 0), then its parent, grandparent, ...
public struct DiskLayer {
    /// The file and what it holds.
    public let image: DiskImage
    let bitmaps: SectorBitmapCache?

    init(_ image: DiskImage) {
        self.image = image
        if let dynamic = image.layout?.dynamic {
            bitmaps = SectorBitmapCache(bitmapSize: dynamic.sectorBitmapSize)
        } else {
            bitmaps = nil
        }
    }

    public var file: HostFile { image.file }
    public var contents: DiskImage.Contents { image.contents }
    public var layout: VHDLayout? { image.layout }
    /// The size of this layer's virtual disk in bytes.
    public var virtualSize: UInt64 { image.virtualSize }
}

/// A virtual disk ready to read: a raw file, a fixed or dynamic VHD, or a differencing VHD with
/// every ancestor resolved and checked. Every read goes through its extent map.
///
/// Not `Sendable`: it holds file descriptors and a bitmap cache.
public struct Disk {
    /// Layer 0 is the file opened; each next one is the previous one's parent.
    public let layers: [DiskLayer]
    /// What was odd about the chain (e.g. a parent's timestamp differs from the child's record).
    public let chainWarnings: [String]

    /// The size of the virtual disk in bytes (layer 0's).
    public var virtualSize: UInt64 { layers[0].virtualSize }

    /// Opens `path` and, for a differencing disk, its ancestors, for the duration of `body`.
    ///
    /// - Throws: ``VHDError``: the file or a parent cannot be opened or is broken, a parent is
    ///   missing (the error lists every path tried), its UUID differs from the child's record,
    ///   or the chain loops or is too deep; whatever `body` throws.
    public static func withOpened<R>(
        at path: FilePath, options: DiskOptions = DiskOptions(), _ body: (Disk) throws -> R
    ) throws -> R {
        var files: [HostFile] = []
        defer { files.forEach { $0.close() } }
        let disk = try ChainOpener(options: options).open(path) { files.append($0) }
        return try body(disk)
    }

    init(layers: [DiskLayer], chainWarnings: [String]) {
        self.layers = layers
        self.chainWarnings = chainWarnings
    }
}

/// How a disk and its chain are opened.
public struct DiskOptions: Sendable, Equatable {
    /// Checksum policy and the like, applied to every file of the chain.
    public var open: OpenOptions
    /// The parent's path when the caller knows it better than the locators (`--parent`).
    public var parentPath: FilePath?
    /// Accept a parent whose UUID differs from the one the child recorded.
    public var ignoreParentUUID: Bool
    /// Longest chain accepted, counting the disk itself.
    public var maximumChainDepth: Int

    public init(
        open: OpenOptions = OpenOptions(), parentPath: FilePath? = nil, ignoreParentUUID: Bool = false,
        maximumChainDepth: Int = 256
    ) {
        self.open = open
        self.parentPath = parentPath
        self.ignoreParentUUID = ignoreParentUUID
        self.maximumChainDepth = maximumChainDepth
    }
}
