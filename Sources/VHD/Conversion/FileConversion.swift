import SystemPackage
import VHDFormat

/// What a conversion makes: the image's type, its container, its size and geometry.
public struct ConversionTarget: Sendable, Equatable {
    /// The container of a fixed or dynamic image.
    public enum Container: String, Sendable, CaseIterable {
        /// VHD 1.0: what Azure takes.
        case vhd
        /// VHDX (MS-VHDX 1.0): Hyper-V's format.
        case vhdx
    }

    /// Raw bytes, a fixed or a dynamic image.
    public var kind: ImageKind
    /// VHD or VHDX; not used for ``ImageKind/raw``.
    public var container: Container
    /// The new virtual size in bytes; nil keeps the source's. Growing adds zeros; shrinking is
    /// refused when a non-zero byte lies past the new end.
    public var size: UInt64?
    /// Round the virtual size up to a whole MiB, as Azure asks.
    public var roundsUpToWholeMebibyte: Bool
    /// The block size of a dynamic image (or of a fixed VHDX), in bytes; nil for the container's
    /// default (2 MiB for VHD, 32 MiB for VHDX).
    public var blockSize: UInt32?
    /// The logical sector size of a VHDX, 512 or 4096 bytes.
    public var logicalSectorSize: UInt32
    /// Write the image gzip-compressed (the image is made in an anonymous temporary file, then
    /// compressed into the destination). VHD and raw only.
    public var gzipCompressed: Bool

    /// Describes an image to make.
    ///
    /// - Parameters:
    ///   - kind: raw bytes, a fixed or a dynamic image.
    ///   - container: VHD or VHDX; not used for raw.
    ///   - size: the new virtual size in bytes; nil keeps the source's.
    ///   - roundsUpToWholeMebibyte: round the size up to a whole MiB.
    ///   - blockSize: the block size in bytes; nil for the container's default.
    ///   - logicalSectorSize: a VHDX's logical sector size, 512 or 4096.
    ///   - gzipCompressed: compress the image with gzip (VHD and raw only).
    public init(
        _ kind: ImageKind, container: Container = .vhd, size: UInt64? = nil, roundsUpToWholeMebibyte: Bool = false,
        blockSize: UInt32? = nil, logicalSectorSize: UInt32 = 512, gzipCompressed: Bool = false
    ) {
        self.kind = kind
        self.container = container
        self.size = size
        self.roundsUpToWholeMebibyte = roundsUpToWholeMebibyte
        self.blockSize = blockSize
        self.logicalSectorSize = logicalSectorSize
        self.gzipCompressed = gzipCompressed
    }

    /// What Azure accepts: a fixed VHD whose virtual size is the source's rounded up to a
    /// whole MiB.
    public static let azure = ConversionTarget(.fixed, container: .vhd, roundsUpToWholeMebibyte: true)

    /// The virtual size of the image made from a source of `sourceSize` bytes.
    public func virtualSize(forSourceOf sourceSize: UInt64) -> UInt64 {
        let size = size ?? sourceSize
        return roundsUpToWholeMebibyte ? NewDiskMetadata.azureSize(atLeast: size) : size
    }
}

/// How a one-call conversion runs: what it may replace, how it opens the source, progress and
/// cancellation.
public struct ConversionOptions {
    /// Replace an existing regular file or symbolic link at the destination.
    public var overwrite: Bool
    /// Flush the new file and its folder to stable storage before returning.
    public var sync: Bool
    /// How the source is opened (checksums, locking, parents' search paths).
    public var opening: DiskOptions
    /// Progress, cancellation and the read chunk size.
    public var copy: CopyOptions
    /// Where a gzip-compressed image is made before it is compressed (an anonymous file).
    public var temporaryFolder: FilePath

    /// Makes options; by default nothing is replaced or flushed, the source is opened as
    /// ``DiskOptions`` says by default, and there is no progress or cancellation.
    ///
    /// - Parameters:
    ///   - overwrite: replace an existing regular file or symbolic link at the destination.
    ///   - sync: flush the new file and its folder to stable storage before returning.
    ///   - opening: how the source is opened.
    ///   - copy: progress, cancellation and the read chunk size.
    ///   - temporaryFolder: where a gzip-compressed image is made before it is compressed.
    public init(
        overwrite: Bool = false, sync: Bool = false, opening: DiskOptions = DiskOptions(), copy: CopyOptions = CopyOptions(),
        temporaryFolder: FilePath = "/tmp"
    ) {
        self.overwrite = overwrite
        self.sync = sync
        self.opening = opening
        self.copy = copy
        self.temporaryFolder = temporaryFolder
    }
}

extension Disk {
    /// Converts the disk at `source` (raw, VHD or VHDX, a chain flattened, or gzip-compressed)
    /// into a new image at `destination`, in one call.
    ///
    /// The destination appears only when complete: a failure, or a cancellation through
    /// `options.copy.isCancelled`, leaves it as it was and no partial file behind.
    ///
    ///     try Disk.convert(from: "disk.vhdx", to: "disk.vhd", as: .azure)
    ///
    /// - Parameters:
    ///   - source: the disk to read.
    ///   - destination: the image to make.
    ///   - target: what to make (``ConversionTarget/azure`` for what Azure accepts).
    ///   - options: replacing, flushing, opening the source, progress and cancellation.
    /// - Returns: the new virtual size and the bytes read and written.
    /// - Throws: ``VHDError``: the source cannot be opened or read, the destination exists (and
    ///   `overwrite` is off) or is one of the source's files, a size or block size is refused,
    ///   a write fails, or the conversion was cancelled.
    @discardableResult
    public static func convert(
        from source: FilePath, to destination: FilePath, as target: ConversionTarget,
        options: ConversionOptions = ConversionOptions()
    ) throws(VHDError) -> CopySummary {
        do {
            return try withOpened(at: source, options: options.opening) { disk in
                try disk.convert(to: destination, as: target, options: options)
            }
        } catch let error as VHDError {
            throw error
        } catch {
            throw SystemCalls.failure("open", source.string, error as? Errno ?? .ioError)
        }
    }

    /// Converts this disk into a new image at `destination`; see
    /// ``convert(from:to:as:options:)``, which opens the source first. `options.opening` is
    /// not used here.
    ///
    /// - Returns: the new virtual size and the bytes read and written.
    /// - Throws: ``VHDError``, as ``convert(from:to:as:options:)``.
    @discardableResult
    public func convert(
        to destination: FilePath, as target: ConversionTarget, options: ConversionOptions = ConversionOptions()
    ) throws(VHDError) -> CopySummary {
        if target.kind != .raw && target.container == .vhdx && target.gzipCompressed {
            throw VHDError(path: destination.string, .refused(operation: "convert", reason: "a VHDX image is written as a file, not gzip-compressed"))
        }
        try refuseWritingOver(destination)
        let newSize = target.virtualSize(forSourceOf: virtualSize)
        return try OutputFile.withCreated(at: destination, overwrite: options.overwrite, sync: options.sync) { output throws(VHDError) in
            if target.kind != .raw && target.container == .vhdx {
                return try VHDXConversion.convert(
                    self, fixed: target.kind == .fixed, output: output, size: newSize,
                    blockSize: target.blockSize ?? VHDXImageWriter.defaultBlockSize,
                    logicalSectorSize: target.logicalSectorSize, options: options.copy)
            }
            let blockSize = target.blockSize ?? DynamicHeader.defaultBlockSize
            if target.gzipCompressed {
                return try DiskConversion.convertCompressed(
                    self, to: target.kind, output: output, temporaryFolder: options.temporaryFolder, size: newSize,
                    blockSize: blockSize, options: options.copy)
            }
            return try DiskConversion.convert(self, to: target.kind, output: output, size: newSize, blockSize: blockSize, options: options.copy)
        }
    }
}
