import SystemPackage
import VHDFormat

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// What a merge did.
public struct MergeSummary: Sendable, Equatable {
    /// The disk merged into.
    public var target: String
    /// The files whose data was written into the target (the child first).
    public var merged: [String]
    /// The merged files removed afterwards.
    public var removed: [String]
    /// Virtual bytes written into the target (zeros included).
    public var bytesWritten: UInt64
    /// The target's size before, when it had to grow to the child's size.
    public var targetGrownFrom: UInt64?
}

/// Merging a differencing disk into an ancestor, in place, like Merge-VHD and vhd-util coalesce.
///
/// Every range that the layers above the target decide (sectors whose bitmap bit is set in
/// one of them, and ranges past a smaller intermediate parent's end, which read as zeros) is
/// written into the target through the write API, zeros included where they override the
/// target's data; nothing else is read or written. A target smaller than the child first grows
/// to the child's size (and a dynamic target of the child's size whose resize was stopped
/// part-way, its footer copy differing or its BAT too long, is finished as `resize` does). Then the target is flushed and, as Merge-VHD does, the merged files (the
/// child, then the layers between) are removed (vhd-util coalesce keeps them: `removeMerged`).
///
/// Crash safety: the target changes only in ranges that the child's own layers decide, so
/// while the merge runs, and after a crash at any point, the child still reads exactly as
/// before; the target alone reads partly merged. Run the merge again to finish it.
///
/// Other children: a disk whose parent is the target sees the target change, and a child of a
/// removed file loses its parent. Nobody can know every such disk (they may live anywhere);
/// the folders of the chain's files are searched for VHDs whose recorded parent UUID is the
/// target's or a removed file's, and the merge is refused when one is found, unless `force`.
public enum DiskMerge {
    /// Which ancestor receives the data.
    public enum Destination: Sendable, Equatable {
        /// The child's parent.
        case parent
        /// This ancestor of the child (its parent, grandparent, ...).
        case ancestor(FilePath)
        /// The base of the chain (collapse the whole chain into it).
        case base
    }

    /// Merges the differencing disk at `path` into `destination`.
    ///
    /// - Throws: ``VHDError``: the disk is not differencing, the destination is not in its
    ///   chain, other children were found (without `force`), a read or write fails, or
    ///   `copy.isCancelled` said stop.
    public static func merge(
        at path: FilePath, into destination: Destination = .parent, force: Bool = false, removeMerged: Bool = true,
        options: InPlaceOptions = InPlaceOptions(), copy: CopyOptions = CopyOptions()
    ) throws(VHDError) -> MergeSummary {
        var readOptions = options.disk
        readOptions.writable = false
        return try Disk.withChain(at: path, options: readOptions) { (source) throws(VHDError) in
            guard source.layers.count > 1 else {
                throw VHDError(path: path.string, .refused(operation: "merge it", reason: "it is not a differencing disk"))
            }
            let targetIndex: Int
            switch destination {
            case .parent: targetIndex = 1
            case .base: targetIndex = source.layers.count - 1
            case let .ancestor(ancestor):
                guard let wanted = FileIdentity(path: ancestor) else {
                    throw SystemCalls.failure("stat", ancestor.string, .noSuchFileOrDirectory)
                }
                var found: Int?
                for (index, layer) in source.layers.enumerated().dropFirst() where try FileIdentity(layer.file) == wanted {
                    found = index
                }
                guard let found else {
                    throw VHDError(path: path.string, .refused(operation: "merge it", reason:
                        "\(ancestor.string) is not one of its ancestors (\(source.layers.dropFirst().map(\.file.name).joined(separator: ", ")))"))
                }
                targetIndex = found
            }
            if !force {
                let others = try otherChildren(of: source, upTo: targetIndex)
                if !others.isEmpty {
                    throw VHDError(path: path.string, .refusedUnlessForced(operation: "merge it", reason:
                        "other disks depend on the files it changes or removes: " + others.joined(separator: "; ")))
                }
            }
            // The files it changes or removes are locked exclusive through the descriptors of
            // the chain opened here; the target's second open below then takes no lock of its
            // own (two opens of one file conflict, even in one process).
            if options.disk.locking { try source.lock(layers: 0...targetIndex, mode: .exclusive) }
            let targetPath = source.layers[targetIndex].file.path
            var summary = MergeSummary(
                target: targetPath.string, merged: source.layers[0..<targetIndex].map(\.file.name), removed: [],
                bytesWritten: 0, targetGrownFrom: nil)
            let extents = try source.extents().filter { $0.layer < targetIndex }
            let targetOptions = DiskOptions(open: options.disk.open, ignoreParentUUID: options.disk.ignoreParentUUID, writable: true, locking: false)
            let targetSize = source.layers[targetIndex].virtualSize
            // A larger child grows the target first. A target already of the child's size is
            // finished by resize when it shows a resize stopped part-way: a merge killed while
            // growing it, after the footer at the end got the new size and before its copy at 0
            // did, leaves a target that reads at the new size, which the rerun must not leave so.
            let resizeUnfinished = source.layers[targetIndex].layout.map { layout in
                layout.dynamic.map { DiskResize.unfinished(layout, dynamic: $0) } ?? false
            } ?? false
            if source.virtualSize > targetSize || (source.virtualSize == targetSize && resizeUnfinished) {
                var resizeOptions = options
                resizeOptions.disk = targetOptions
                _ = try DiskResize.resize(at: targetPath, to: source.virtualSize, options: resizeOptions)
                if source.virtualSize > targetSize { summary.targetGrownFrom = targetSize }
            }
            var remaining = options.failBeforeWrite
            summary.bytesWritten = try Disk.withChain(at: targetPath, options: targetOptions) { (target) throws(VHDError) in
                let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 4096)
                defer { chunk.deallocate() }
                let total = extents.reduce(0) { $0 + $1.length }
                var written: UInt64 = 0
                for extent in extents {
                    var position = extent.start
                    while position < extent.end {
                        if copy.isCancelled?() == true { throw VHDError(path: targetPath.string, .cancelled) }
                        if let left = remaining {
                            guard left > 0 else { throw VHDError(path: targetPath.string, .cancelled) }
                            remaining = left - 1
                        }
                        let count = Int(min(UInt64(chunk.count), extent.end - position))
                        let piece = UnsafeMutableRawBufferPointer(rebasing: chunk[0..<count])
                        switch extent.source {
                        case .zero:
                            piece.initializeMemory(as: UInt8.self, repeating: 0)
                        case let .data(layer, hostOffset):
                            try source.layers[layer].file.read(into: piece, at: hostOffset + Int64(position - extent.start))
                        }
                        try target.write(UnsafeRawBufferPointer(piece), at: position)
                        position += UInt64(count)
                        written += UInt64(count)
                        copy.progress?(written, total)
                    }
                }
                try target.flush()
                return written
            }
            if removeMerged {
                for layer in source.layers[0..<targetIndex] {
                    try SystemCalls.remove(layer.file.path)
                    summary.removed.append(layer.file.name)
                }
            }
            return summary
        }
    }

    /// Disks in the chain's folders, outside the chain, whose recorded parent is the target or
    /// a file the merge removes: "NAME (a child of PARENT)".
    static func otherChildren(of source: Disk, upTo targetIndex: Int) throws(VHDError) -> [String] {
        var parents: [VHDUUID: Int] = [:]  // the UUIDs that must have no other child, by layer
        for index in 0...targetIndex {
            if let id = source.layers[index].layout?.footer.uniqueId { parents[id] = index }
        }
        var chain: Set<FileIdentity> = []
        for layer in source.layers { chain.insert(try FileIdentity(layer.file)) }
        var folders: [FilePath] = []
        for layer in source.layers[0...targetIndex] {
            let folder = layer.file.path.removingLastComponent()
            if !folders.contains(folder) { folders.append(folder) }
        }
        var found: [String] = []
        for folder in folders {
            for name in fileNames(in: folder) {
                let lowered = name.lowercased()
                guard lowered.hasSuffix(".vhd") || lowered.hasSuffix(".avhd") else { continue }
                let candidate = folder.isEmpty ? FilePath(name) : folder.appending(name)
                guard let identity = FileIdentity(path: candidate), !chain.contains(identity),
                      let parentId = recordedParent(of: candidate), let index = parents[parentId]
                else { continue }
                found.append("\(candidate.string) (a child of \(source.layers[index].file.name))")
            }
        }
        return found
    }

    /// The parent UUID that the differencing disk at `path` records, or nil when it is not a
    /// differencing disk or does not open (a file we cannot read is no child we know of).
    static func recordedParent(of path: FilePath) -> VHDUUID? {
        let file: HostFile
        do {
            // A regular file, checked without blocking; no lock (a disk in use is still a child).
            file = try HostFile.open(path, lock: false)
        } catch {
            return nil
        }
        defer { file.close() }
        do {
            let image = try DiskImage(reading: file, options: OpenOptions(checksumPolicy: .ignore))
            guard let layout = image.layout, layout.diskType == .differencing else { return nil }
            return layout.dynamic?.header.parentUniqueId
        } catch {
            return nil
        }
    }

    /// The names in `folder` (not . and ..).
    static func fileNames(in folder: FilePath) -> [String] {
        do {
            return try SystemCalls.names(inFolder: folder.isEmpty ? "." : folder)
        } catch {
            return []  // an unreadable folder offers no candidates
        }
    }
}
