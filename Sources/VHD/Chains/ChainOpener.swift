import SystemPackage
import VHDFormat

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Opens a disk and resolves its chain of parents.
///
/// A parent is looked for, in order, at: the caller's explicit path (for the first parent only),
/// each W2ru locator relative to the child's folder, each W2ku locator, a MacX file URL, and the
/// header's parent name in the child's folder. The first file that exists is opened; its footer
/// UUID must equal the UUID the child recorded.
struct ChainOpener {
    let options: DiskOptions

    func open(_ path: FilePath, keep: (HostFile) -> Void) throws(VHDError) -> Disk {
        var layers: [DiskLayer] = []
        var warnings: [String] = []
        var seen: Set<FileIdentity> = []
        var current = path
        while true {
            // Block devices only where the caller named one: the disk itself or --parent.
            let named = layers.isEmpty || (layers.count == 1 && options.parentPath == current)
            var file = try HostFile.open(
                current, writable: layers.isEmpty && options.writable, lock: options.locking, acceptsBlockDevice: named)
            keep(file)
            if layers.isEmpty, try ImageFormat.isGzipCompressed(file) {
                guard !options.writable else { throw VHDError(path: current.string, .notWritable(reason: "it is gzip-compressed")) }
                file = try GzipDecompression.decompressedCopy(of: file, path: current, maximumSize: options.maximumDecompressedSize)
                keep(file)
            }
            let identity = try FileIdentity(file)
            guard seen.insert(identity).inserted else {
                throw VHDError(path: path.string, .chainCycle(at: current.string))
            }
            let layer = DiskLayer(try DiskImage(reading: file, options: options.open))
            if layer.image.format == .vhdx && layers.isEmpty && options.writable {
                throw VHDError(path: current.string, .notWritable(reason: "VHDX files are not written in place; convert it to a VHD first"))
            }
            if layer.image.format == .raw && !layers.isEmpty {
                throw VHDError(path: current.string, .notAVHD(reason: "it is the parent of \(layers.last!.file.name) but holds no VHD footer"))
            }
            if let child = layers.last?.layout, let header = child.dynamic?.header, let parent = layer.layout {
                try check(parent: parent, file: file, against: header, childName: layers.last!.file.name, warnings: &warnings)
            } else if let child = layers.last {
                try VHDXChain.check(parent: layer, child: child, ignoreIdentity: options.ignoreParentUUID, warnings: &warnings)
            }
            layers.append(layer)
            if let vhdx = layer.image.vhdxLayout {
                guard vhdx.diskKind == .differencing else { break }
                guard layers.count < options.maximumChainDepth else {
                    throw VHDError(path: path.string, .chainTooDeep(limit: options.maximumChainDepth))
                }
                let candidates = VHDXChain.candidates(for: current, layout: vhdx, explicit: layers.count == 1 ? options.parentPath : nil)
                let explicit = layers.count == 1 ? options.parentPath : nil
                guard let found = candidates.first(where: { Self.isDiskFile($0, acceptsBlockDevice: $0 == explicit) }) else {
                    throw VHDError(path: current.string, .parentNotFound(
                        name: vhdx.parentLocator?["relative_path"] ?? vhdx.parentLocator?["absolute_win32_path"] ?? "", tried: candidates.map(\.string)))
                }
                current = found
                continue
            }
            guard let layout = layer.layout, layout.diskType == .differencing, let dynamic = layout.dynamic else { break }
            guard layers.count < options.maximumChainDepth else {
                throw VHDError(path: path.string, .chainTooDeep(limit: options.maximumChainDepth))
            }
            current = try resolveParent(of: current, dynamic: dynamic, explicit: layers.count == 1 ? options.parentPath : nil)
        }
        return Disk(layers: layers, chainWarnings: warnings, isWritable: options.writable)
    }

    /// The candidate paths for the parent of `child`, in the order they are tried.
    static func candidates(for child: FilePath, dynamic: DynamicLayout, explicit: FilePath?) -> [FilePath] {
        var result: [FilePath] = []
        if let explicit { result.append(explicit) }
        let folder = child.removingLastComponent()
        let located = dynamic.locators.filter { $0.path?.isEmpty == false }
        for entry in located where entry.locator.platformCode == .w2ru || entry.locator.platformCode == .wi2r {
            result.append(folder.pushing(FilePath(hostPath(entry.path!))).lexicallyNormalized())
        }
        for entry in located where entry.locator.platformCode == .w2ku || entry.locator.platformCode == .wi2k {
            result.append(FilePath(hostPath(entry.path!)))
        }
        for entry in located where entry.locator.platformCode == .macX {
            var path = entry.path!
            if path.hasPrefix("file://") { path.removeFirst(7) }
            result.append(FilePath(path))
        }
        let name = dynamic.header.parentName
        if !name.isEmpty, let base = FilePath(hostPath(name)).lastComponent {
            result.append(folder.appending(base))
        }
        var unique: [FilePath] = []
        for candidate in result where !unique.contains(candidate) { unique.append(candidate) }
        return unique
    }

    /// A Windows path with the host's separators: `.\base.vhd` becomes `./base.vhd`.
    static func hostPath(_ windowsPath: String) -> String {
        String(windowsPath.map { $0 == "\\" ? "/" : $0 })
    }

    func resolveParent(of child: FilePath, dynamic: DynamicLayout, explicit: FilePath?) throws(VHDError) -> FilePath {
        let candidates = Self.candidates(for: child, dynamic: dynamic, explicit: explicit)
        for candidate in candidates where Self.isDiskFile(candidate, acceptsBlockDevice: candidate == explicit) {
            return candidate
        }
        throw VHDError(path: child.string, .parentNotFound(
            name: dynamic.header.parentName, tried: candidates.map(\.string)))
    }

    /// Whether `path` is a regular file (or a block device, when the caller named it). A
    /// locator may name anything: a FIFO or a character device would block open(2) or read
    /// forever, and a block device named by a file's bytes could be the host's own disk, so
    /// they are passed over.
    static func isDiskFile(_ path: FilePath, acceptsBlockDevice: Bool) -> Bool {
        guard let status = SystemCalls.statusIfPresent(of: path) else { return false }
        let type = status.st_mode & S_IFMT
        return type == S_IFREG || (acceptsBlockDevice && type == S_IFBLK)
    }

    func check(
        parent: VHDLayout, file: HostFile, against header: DynamicHeader, childName: String, warnings: inout [String]
    ) throws(VHDError) {
        if parent.footer.uniqueId != header.parentUniqueId && !options.ignoreParentUUID {
            throw VHDError(path: childName, .parentMismatch(
                parent: file.name, recorded: header.parentUniqueId.description, found: parent.footer.uniqueId.description))
        }
        if parent.footer.uniqueId != header.parentUniqueId {
            warnings.append("\(file.name) has UUID \(parent.footer.uniqueId) but \(childName) recorded \(header.parentUniqueId); accepted as asked")
        }
        // Writers record the parent file's modification time; a copied parent usually differs.
        let modified = try FileIdentity.modificationTime(file)
        if header.parentTimestamp.rawValue != 0, VHDTimestamp(unixSeconds: modified) != header.parentTimestamp {
            warnings.append("\(childName) recorded its parent's time as \(header.parentTimestamp) but \(file.name) was modified at \(VHDTimestamp(unixSeconds: modified))")
        }
    }
}

/// Device and inode of a file: how cycles and same-file writes are recognized whatever the
/// paths say.
struct FileIdentity: Hashable {
    var device: UInt64
    var inode: UInt64

    /// The identity of the file at `path`, or nil if there is none.
    init?(path: FilePath) {
        guard let status = SystemCalls.statusIfPresent(of: path) else { return nil }
        device = UInt64(status.st_dev)
        inode = UInt64(status.st_ino)
    }

    init(_ file: HostFile) throws(VHDError) {
        let status = try file.descriptor.status(file.name)
        device = UInt64(status.st_dev)
        inode = UInt64(status.st_ino)
    }

    static func modificationTime(_ file: HostFile) throws(VHDError) -> Int64 {
        let status = try file.descriptor.status(file.name)
        return Int64(status.st_mtim.tv_sec)
    }
}
