import VHDFormat

/// What a file holds, decided from its content, never from its name.
public enum ImageFormat: String, Sendable, Equatable, CustomStringConvertible {
    /// A VHD: a "conectix" footer at the end of the file or its copy at offset 0.
    case vhd
    /// A VHDX: "vhdxfile" at offset 0.
    case vhdx
    /// Anything that is not recognized as another format: the file is the disk.
    case raw

    /// The format's name: "vhd", "vhdx" or "raw".
    public var description: String { rawValue }

    /// Formats recognized only to refuse them by name, with the magic bytes at offset 0.
    static let unsupportedSignatures: [(name: String, magic: [UInt8])] = [
        ("qcow2", [0x51, 0x46, 0x49, 0xFB]),  // "QFI\xfb"
        ("VMDK", Array("KDMV".utf8)),
        ("VMDK", Array("COWD".utf8)),
        ("VMDK descriptor", Array("# Disk DescriptorFile".utf8)),
        ("VDI", [0x7F, 0x10, 0xDA, 0xBE]),  // signature at offset 64, checked separately
    ]

    /// What a reader of the file in place says of gzip-compressed bytes: ``Disk`` and
    /// ``DiskImage/withOpened(at:options:locking:_:)`` decompress them first, in-place readers
    /// (repair, check) cannot.
    static let gzipReason = "it is gzip-compressed; decompress it first (gunzip -k)"

    /// Detects the format of `source`.
    ///
    /// - Throws: ``VHDError/Kind/unsupportedFormat(_:)`` for qcow2, VMDK and VDI files;
    ///   ``VHDError/Kind/notAVHD(reason:)`` for gzip-compressed data (decompress it first);
    ///   an I/O error if the file cannot be read.
    public static func detect(_ source: some ByteSource) throws(VHDError) -> ImageFormat {
        let size = source.sizeInBytes
        let head = try source.bytes(at: 0, count: Int(min(size, 512)))
        for (name, magic) in unsupportedSignatures where name != "VDI" && head.starts(with: magic) {
            throw VHDError(path: source.name, .unsupportedFormat(name))
        }
        if head.count >= 68, head[64..<68].elementsEqual([0x7F, 0x10, 0xDA, 0xBE]) {
            throw VHDError(path: source.name, .unsupportedFormat("VDI"))
        }
        if head.starts(with: "vhdxfile".utf8) { return .vhdx }
        if hasCookie(head, at: 0) { return .vhd }
        if size >= Int64(Footer.legacySize) {
            let tail = try source.bytes(at: size - Int64(Footer.legacySize), count: Footer.legacySize)
            if hasCookie(tail, at: 0) { return .vhd }  // 511-byte legacy footer
        }
        if size >= Int64(Footer.size) {
            let tail = try source.bytes(at: size - Int64(Footer.size), count: Footer.size)
            if hasCookie(tail, at: 0) { return .vhd }
        }
        // Last: a fixed VHD's data may start with anything, the gzip magic too.
        if head.starts(with: GzipDecompression.magic) {
            throw VHDError(path: source.name, .notAVHD(reason: gzipReason))
        }
        return .raw
    }

    /// Whether `source` is gzip-compressed data: the gzip magic at 0 and no VHD footer at its
    /// end (a fixed VHD's data may start with the magic bytes).
    ///
    /// - Throws: an I/O error if the file cannot be read.
    public static func isGzipCompressed(_ source: some ByteSource) throws(VHDError) -> Bool {
        guard try GzipDecompression.isCompressed(source) else { return false }
        do {
            _ = try detect(source)
            return false
        } catch {
            if case .notAVHD = error.kind { return true }
            if case .unsupportedFormat = error.kind { return false }
            throw error
        }
    }

    static func hasCookie(_ bytes: [UInt8], at offset: Int) -> Bool {
        guard bytes.count >= offset + 8 else { return false }
        return bytes[offset..<(offset + 8)].elementsEqual(withUnsafeBytes(of: Footer.cookie.bigEndian) { Array($0) })
    }
}
