import SystemPackage
import VHDFormat

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Creating empty fixed, dynamic and differencing disks.
public enum DiskCreation {
    /// Creates an empty fixed disk of `size` bytes in `output`: a sparse host file (or, with
    /// `preallocate`, one whose data blocks are reserved) and the footer.
    ///
    /// The file is `size` + 512 bytes: the data area reads as zeros, the footer follows at
    /// offset `size`.
    ///
    /// - Parameters:
    ///   - size: the virtual size in bytes: a whole number of sectors, more than zero, at most
    ///     ``NewDiskMetadata/maximumVirtualSize``.
    ///   - output: the new, empty file to write into; the caller commits it.
    ///   - preallocate: reserve the data area's blocks on the host file system with
    ///     `posix_fallocate`, so that later writes cannot fail for want of space.
    /// - Throws: ``VHDError`` if the size is not one we create, or the resize, the allocation or
    ///   the footer's write fails.
    public static func createFixed(size: UInt64, output: OutputFile, preallocate: Bool = false) throws(VHDError) {
        try NewDiskMetadata.validate(size: size)
        try output.resize(to: Int64(size) + Int64(Footer.size))
        if preallocate {
            try output.descriptor.allocate(Int64(size), at: 0, output.destination.string)
        }
        try output.write(NewDiskMetadata.footer(type: .fixed, size: size).serialized(), at: Int64(size))
    }

    /// Creates an empty dynamic disk of `size` bytes in `output`.
    ///
    /// Every BAT entry is unallocated, so the file holds only metadata: footer copy, header,
    /// table and footer (about 4 KiB for a 1 GiB disk with 2 MiB blocks).
    ///
    /// - Parameters:
    ///   - size: the virtual size in bytes: a whole number of sectors, more than zero, at most
    ///     ``NewDiskMetadata/maximumVirtualSize``.
    ///   - blockSize: bytes of disk data per block: a power of two from 512 KiB to 256 MiB;
    ///     2 MiB by default.
    ///   - output: the new, empty file to write into; the caller commits it.
    /// - Throws: ``VHDError`` if the size or block size is not one we create, or a write fails.
    public static func createDynamic(size: UInt64, blockSize: UInt32 = DynamicHeader.defaultBlockSize, output: OutputFile) throws(VHDError) {
        try DynamicImageWriter(output: output, size: size, blockSize: blockSize).finish()
    }

    /// Creates an empty differencing disk whose parent is `parentPath`, in `output`.
    ///
    /// The child records the parent's UUID (a VHDX parent's data write GUID), its modification
    /// time, its file name, and two locators: W2ku with the parent's absolute path and W2ru with
    /// its path relative to the child's folder (Windows separators). Its virtual size is the
    /// parent's, and so is its block size when the parent is a dynamic VHD (else 2 MiB).
    ///
    /// The destination may be no file of the parent's chain, under any name: replacing one
    /// would destroy the disk the child is made on.
    ///
    /// - Parameters:
    ///   - parentPath: the parent VHD or VHDX; a relative path is taken from the current folder.
    ///   - output: the new, empty file to write into; its destination decides the relative
    ///     path stored in the W2ru locator. The caller commits it.
    ///   - options: how the parent is opened (checksum policy, time checks).
    /// - Throws: ``VHDError`` if the parent cannot be opened or is neither a VHD nor a VHDX (or
    ///   a VHDX larger than a VHD can be), or a write fails;
    ///   ``VHDError/Kind/sameFile(source:)`` when the destination is a file of its chain.
    public static func createDifferencing(parentPath: FilePath, output: OutputFile, options: OpenOptions = OpenOptions()) throws(VHDError) {
        let parentFile = try HostFile.open(parentPath)
        defer { parentFile.close() }
        try refuseChain(of: parentPath, parentFile: parentFile, writingOver: output.destination, options: options)
        let parent = try DiskImage(reading: parentFile, options: options)
        let absolute = absolutePath(parentPath)
        let childFolder = absolutePath(output.destination).removingLastComponent()
        // A VHDX parent is recorded by its data write GUID (what a reader checks, as for a
        // VHDX child); its blocks need not match ours.
        let parentIdentity: VHDUUID
        let virtualSize: UInt64
        var blockSize = DynamicHeader.defaultBlockSize
        if let layout = parent.layout {
            parentIdentity = layout.footer.uniqueId
            virtualSize = layout.virtualSize
            blockSize = layout.dynamic?.header.blockSize ?? blockSize
        } else if let layout = parent.vhdxLayout {
            let stored = layout.header.dataWriteGUID.storedBytes
            func word(_ bytes: ArraySlice<UInt8>) -> UInt64 { bytes.reduce(0) { $0 << 8 | UInt64($1) } }
            parentIdentity = VHDUUID(high: word(stored[0..<8]), low: word(stored[8..<16]))
            virtualSize = layout.virtualSize
            // A VHDX may be larger than any VHD.
            try NewDiskMetadata.validate(size: virtualSize)
        } else {
            throw VHDError(path: parentPath.string, .notAVHD(reason: "a differencing disk's parent must be a VHD or a VHDX"))
        }
        let record = DynamicImageWriter.Parent(
            uniqueId: parentIdentity,
            timestamp: VHDTimestamp(unixSeconds: try FileIdentity.modificationTime(parentFile)),
            absolutePath: absolute.string,
            relativePath: relativeWindowsPath(from: childFolder, to: absolute))
        var writer = try DynamicImageWriter(output: output, size: virtualSize, blockSize: blockSize, parent: record)
        writer.setParentName(absolute.lastComponent?.string ?? absolute.string)
        try writer.finish()
    }

    /// Throws ``VHDError/Kind/sameFile(source:)`` if `destination` is the parent or one of its
    /// ancestors. A parent whose own chain does not open (an ancestor missing, say) may still
    /// be the base of a new child, as before: then only the files that did open are compared.
    static func refuseChain(
        of parentPath: FilePath, parentFile: HostFile, writingOver destination: FilePath, options: OpenOptions
    ) throws(VHDError) {
        if let target = FileIdentity(path: destination), try FileIdentity(parentFile) == target {
            throw VHDError(path: destination.string, .sameFile(source: parentFile.name))
        }
        do {
            try Disk.withChain(at: parentPath, options: DiskOptions(open: options)) { (chain) throws(VHDError) in
                try chain.refuseWritingOver(destination)
            }
        } catch {
            // Another failure: the chain did not open; the parent itself was compared above.
            if case .sameFile = error.kind { throw error }
        }
    }

    /// `path` made absolute against the current folder and normalized.
    static func absolutePath(_ path: FilePath) -> FilePath {
        if path.isAbsolute { return path.lexicallyNormalized() }
        guard let cwd = getcwd(nil, 0) else { return path }
        defer { free(cwd) }
        return FilePath(platformString: cwd).pushing(path).lexicallyNormalized()
    }

    /// The path from `folder` to `target` with Windows separators, starting with `.\` or `..\`,
    /// as Hyper-V writes W2ru locators.
    static func relativeWindowsPath(from folder: FilePath, to target: FilePath) -> String {
        let from = Array(folder.components)
        let to = Array(target.components)
        var common = 0
        while common < from.count && common < to.count && from[common] == to[common] { common += 1 }
        let ups = from.count - common
        let parts = (ups == 0 ? ["."] : [String](repeating: "..", count: ups)) + to[common...].map(\.string)
        return parts.joined(separator: "\\")
    }
}
