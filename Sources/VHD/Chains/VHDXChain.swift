import SystemPackage
import VHDFormat
import VHDXFormat

/// Parents of differencing VHDX disks, and chains mixing VHDX and VHD.
///
/// A VHDX child names its parent in its parent locator: `relative_path` (from the child's
/// folder), `absolute_win32_path`, `volume_path` (not usable outside Windows) and
/// `parent_linkage`, the parent's data write GUID when the child was made. A VHD parent of a
/// VHDX child is matched by its footer UUID; a VHDX parent of a VHD child by its data write
/// GUID (or its virtual disk id), stored byte for byte in the child's parent UUID.
enum VHDXChain {
    /// The candidate paths for the parent of the VHDX `child`, in the order they are tried:
    /// the caller's, `relative_path` from the child's folder, `absolute_win32_path`, then the
    /// file name of either in the child's folder.
    static func candidates(for child: FilePath, layout: VHDXLayout, explicit: FilePath?) -> [FilePath] {
        var result: [FilePath] = []
        if let explicit { result.append(explicit) }
        let folder = child.removingLastComponent()
        let locator = layout.parentLocator
        if let relative = locator?["relative_path"], !relative.isEmpty {
            result.append(folder.pushing(FilePath(ChainOpener.hostPath(relative))).lexicallyNormalized())
        }
        if let absolute = locator?["absolute_win32_path"], !absolute.isEmpty {
            result.append(FilePath(ChainOpener.hostPath(absolute)))
        }
        for key in ["relative_path", "absolute_win32_path"] {
            if let path = locator?[key], let name = FilePath(ChainOpener.hostPath(path)).lastComponent {
                result.append(folder.appending(name))
            }
        }
        var unique: [FilePath] = []
        for candidate in result where !unique.contains(candidate) { unique.append(candidate) }
        return unique
    }

    /// The 16 bytes a VHD stores for a UUID, as a VHDX GUID's stored bytes.
    static func guid(_ uuid: VHDUUID) -> VHDXGUID {
        VHDXGUID(storedBytes: withUnsafeBytes(of: uuid.high.bigEndian) { Array($0) } + withUnsafeBytes(of: uuid.low.bigEndian) { Array($0) })
    }

    /// Checks that `parent` is the disk `child` was made from, when one of them is a VHDX.
    ///
    /// - Throws: ``VHDError/Kind/parentMismatch(parent:recorded:found:)`` unless `ignoreIdentity`.
    static func check(parent: DiskLayer, child: DiskLayer, ignoreIdentity: Bool, warnings: inout [String]) throws(VHDError) {
        let recorded: VHDXGUID?
        let accepted: [VHDXGUID]
        switch (child.contents, parent.contents) {
        case let (.vhdx(childLayout), .vhdx(parentLayout)):
            recorded = childLayout.parentLocator?.parentLinkage
            accepted = [parentLayout.header.dataWriteGUID]
        case let (.vhdx(childLayout), .vhd(parentLayout)):
            recorded = childLayout.parentLocator?.parentLinkage
            accepted = [guid(parentLayout.footer.uniqueId)]
        case let (.vhd(childLayout), .vhdx(parentLayout)):
            recorded = childLayout.dynamic.map { guid($0.header.parentUniqueId) }
            accepted = [parentLayout.header.dataWriteGUID, parentLayout.virtualDiskId]
        default:
            throw VHDError(path: parent.file.name, .notAVHD(reason: "it is the parent of \(child.file.name) but holds no VHD or VHDX"))
        }
        guard let recorded else {
            warnings.append("\(child.file.name) records no parent_linkage; \(parent.file.name) is used unchecked")
            return
        }
        guard accepted.contains(recorded) else {
            if ignoreIdentity {
                warnings.append("\(parent.file.name) is not the disk \(child.file.name) recorded (\(recorded)); accepted as asked")
                return
            }
            throw VHDError(path: child.file.name, .parentMismatch(parent: parent.file.name, recorded: recorded.description, found: accepted[0].description))
        }
    }
}
