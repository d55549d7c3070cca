import SystemPackage
import VHDFormat
import VHDXFormat

/// One image file, opened and validated: a VHD with its layout, or a raw disk.
///
/// The file stays open only inside ``withOpened(at:options:locking:_:)``.
public struct DiskImage {
    /// What the file holds.
    public enum Contents: Sendable, Equatable {
        /// The file itself is the disk.
        case raw
        /// A VHD and its validated metadata.
        case vhd(VHDLayout)
        /// A VHDX and its validated metadata.
        case vhdx(VHDXLayout)
    }

    /// The open file, read with positional reads.
    public let file: HostFile
    /// What the file holds, with the validated layout of a VHD or VHDX.
    public let contents: Contents

    /// Opens `path`, detects its format from its content and validates a VHD's whole layout.
    ///
    /// - Parameters:
    ///   - path: the image file.
    ///   - options: whether bad checksums are refused (the default) or reported.
    ///   - locking: lock the file ``ImageLock/Mode/shared``, as QEMU's readers do; `false`
    ///     takes no lock and ignores other programs' (qemu-img's `-U`).
    ///   - body: runs with the opened image; the file is closed when it returns.
    ///
    /// A gzip-compressed image is decompressed first (with zlib) into an anonymous temporary
    /// file, which `body` then reads; its name stays `path`.
    ///
    /// - Throws: ``VHDError`` if the file is not a regular file (or a block device), is locked
    ///   by a writer, cannot be read, is of an unsupported format (qcow2, VMDK, ...), is a
    ///   broken VHD or VHDX, or is gzip-compressed data that is corrupt; whatever `body` throws.
    public static func withOpened<R>(
        at path: FilePath, options: OpenOptions = OpenOptions(), locking: Bool = true, _ body: (DiskImage) throws -> R
    ) throws -> R {
        let file = try HostFile.open(path, lock: locking, acceptsBlockDevice: true)
        defer { file.close() }
        if try ImageFormat.isGzipCompressed(file) {
            return try withDecompressed(file, path: path) { try body(DiskImage(reading: $0, options: options)) }
        }
        return try body(DiskImage(reading: file, options: options))
    }

    /// Runs `body` with the decompressed copy of the gzip-compressed `file`, closed after.
    private static func withDecompressed<R>(_ file: HostFile, path: FilePath, _ body: (HostFile) throws -> R) throws -> R {
        let copy = try GzipDecompression.decompressedCopy(of: file, path: path, maximumSize: nil)
        defer { copy.close() }
        return try body(copy)
    }

    /// Detects the format of an open file and validates a VHD's layout.
    ///
    /// - Throws: ``VHDError`` for an unsupported format or a broken VHD.
    public init(reading file: HostFile, options: OpenOptions = OpenOptions()) throws(VHDError) {
        self.file = file
        switch try ImageFormat.detect(file) {
        case .raw: contents = .raw
        case .vhd: contents = .vhd(try VHDLayout(reading: file, options: options))
        case .vhdx: contents = .vhdx(try VHDXLayout(reading: file))
        }
    }

    /// The format found: the case of ``contents`` without its layout.
    public var format: ImageFormat {
        switch contents {
        case .raw: .raw
        case .vhd: .vhd
        case .vhdx: .vhdx
        }
    }

    /// The size of the virtual disk in bytes.
    public var virtualSize: UInt64 {
        switch contents {
        case .raw: UInt64(file.sizeInBytes)
        case let .vhd(layout): layout.virtualSize
        case let .vhdx(layout): layout.virtualSize
        }
    }

    /// The VHDX layout, or nil for another format.
    public var vhdxLayout: VHDXLayout? {
        if case let .vhdx(layout) = contents { return layout }
        return nil
    }

    /// The VHD layout, or nil for a raw image or a VHDX.
    public var layout: VHDLayout? {
        if case let .vhd(layout) = contents { return layout }
        return nil
    }
}
