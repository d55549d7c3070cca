import SystemPackage
import VHDFormat

/// One file of a disk's chain: the disk opened (layer 0), then its parent, grandparent, ...
public struct DiskLayer {
    /// The file and what it holds, as opened (writes made since then are not reflected here).
    public let image: DiskImage
    /// The BAT as it is now, the bitmap cache and where new blocks go (dynamic and
    /// differencing layers only).
    let blocks: BlockState?

    init(_ image: DiskImage) {
        self.image = image
        if let layout = image.layout, let dynamic = layout.dynamic {
            let footerEnd = layout.footerLocation == .copyAtStart ? layout.fileSize : layout.footerOffset
            blocks = BlockState(entries: dynamic.table.entries, bitmapSize: dynamic.sectorBitmapSize, dataEnd: footerEnd)
        } else {
            blocks = nil
        }
    }

    /// The layer's open file.
    public var file: HostFile { image.file }
    /// What the layer's file holds, as opened.
    public var contents: DiskImage.Contents { image.contents }
    /// The layer's VHD layout as opened; nil for a raw or VHDX layer.
    public var layout: VHDLayout? { image.layout }
    /// The size of this layer's virtual disk in bytes.
    public var virtualSize: UInt64 { image.virtualSize }
}

/// The mutable part of a dynamic or differencing layer: its BAT entries (writes allocate
/// blocks), its recently read sector bitmaps, and the file offset where the data area ends.
final class BlockState {
    var entries: [UInt32]
    let bitmaps: SectorBitmapCache
    /// Where the footer is (or goes): new blocks are placed from here.
    var dataEnd: Int64

    init(entries: [UInt32], bitmapSize: Int, dataEnd: Int64) {
        self.entries = entries
        bitmaps = SectorBitmapCache(bitmapSize: bitmapSize)
        self.dataEnd = dataEnd
    }
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
    /// Whether layer 0 was opened for writing (``DiskOptions/writable``).
    public let isWritable: Bool

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

    /// Throws ``VHDError/Kind/sameFile(source:)`` if `destination` is a file of this disk's
    /// chain (under any name): writing there would destroy what is being read.
    public func refuseWritingOver(_ destination: FilePath) throws(VHDError) {
        guard let target = FileIdentity(path: destination) else { return }
        for layer in layers where try FileIdentity(layer.file) == target {
            throw VHDError(path: destination.string, .sameFile(source: layer.file.name))
        }
    }

    init(layers: [DiskLayer], chainWarnings: [String], isWritable: Bool) {
        self.layers = layers
        self.chainWarnings = chainWarnings
        self.isWritable = isWritable
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
    /// Open the disk itself (not its parents) for writing with ``Disk/write(_:at:)-(UnsafeRawBufferPointer,_)``.
    public var writable: Bool
    /// Lock every file of the chain as QEMU does (see ``ImageLock``): the disk itself
    /// ``ImageLock/Mode/exclusive`` when ``writable``, every other file
    /// ``ImageLock/Mode/shared``. `false` takes no lock and checks none, like QEMU's
    /// `locking=off`: the caller then answers for other programs using the files.
    public var locking: Bool
    /// The most bytes a gzip-compressed disk may decompress to (it is decompressed into an
    /// anonymous temporary file before it is read); nil sets no limit.
    public var maximumDecompressedSize: Int64?

    /// Makes chain options; the defaults open read-only, locked, verifying checksums, following
    /// the locators up to 256 files.
    ///
    /// - Parameters:
    ///   - open: Checksum policy and the like, applied to every file of the chain.
    ///   - parentPath: The parent's path, used instead of the locators; nil follows the locators.
    ///   - ignoreParentUUID: Whether to accept a parent whose UUID differs from the one recorded.
    ///   - maximumChainDepth: The longest chain accepted, counting the disk itself.
    ///   - writable: Whether the disk itself (not its parents) is opened for writing.
    ///   - locking: Whether every file of the chain is locked as QEMU does.
    ///   - maximumDecompressedSize: The most bytes a gzip-compressed disk may decompress to; nil
    ///     sets no limit.
    public init(
        open: OpenOptions = OpenOptions(), parentPath: FilePath? = nil, ignoreParentUUID: Bool = false,
        maximumChainDepth: Int = 256, writable: Bool = false, locking: Bool = true, maximumDecompressedSize: Int64? = nil
    ) {
        self.maximumDecompressedSize = maximumDecompressedSize
        self.writable = writable
        self.locking = locking
        self.open = open
        self.parentPath = parentPath
        self.ignoreParentUUID = ignoreParentUUID
        self.maximumChainDepth = maximumChainDepth
    }
}
