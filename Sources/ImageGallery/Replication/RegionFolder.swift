import SystemPackage
import VHD

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A region's storage folder, opened: replica files are made, read and removed relative to its
/// descriptor, through sub-folders opened without following symbolic links (`openat` with
/// `O_NOFOLLOW`), so that nothing read from the catalog or planted in the folder can send a
/// write or a removal outside it.
///
/// A class: it owns the descriptor and closes it when it goes.
final class RegionFolder {
    let region: Region
    let descriptor: FileDescriptor

    /// Opens the folder of `region`, after checking that it neither is nor holds nor lies in
    /// the folder of any of `others`.
    ///
    /// - Throws: ``GalleryError``: io when it cannot be opened, conflict when it overlaps.
    init(_ region: Region, others: [Region]) throws(GalleryError) {
        try NameRules.checkStoredName(region.name, kind: "region")
        guard region.path.hasPrefix("/") else {
            throw GalleryError(.io, "the catalog is damaged: the folder of region '\(region.name)' is not an absolute path ('\(region.path)')")
        }
        for other in others where other.id != region.id && Self.overlap(region.path, other.path) {
            throw GalleryError.conflict(
                "the regions '\(region.name)' (\(region.path)) and '\(other.name)' (\(other.path)) share a folder or one lies inside the other; give each region a folder of its own")
        }
        do {
            descriptor = try SystemCalls.open(FilePath(region.path), .readOnly, options: [.directory, .closeOnExec])
        } catch {
            throw .io("the folder of region '\(region.name)' ('\(region.path)') cannot be opened", error)
        }
        self.region = region
    }

    deinit { descriptor.closeQuietly() }

    /// The folder `components` (each a plain name) below the region's folder, made when missing
    /// with `create`; nil when it is missing and not made.
    ///
    /// - Throws: ``GalleryError`` when a component is a symbolic link or not a folder, or a
    ///   folder cannot be made or opened.
    func folder(_ components: [String], create: Bool) throws(GalleryError) -> Folder? {
        var current: FileDescriptor
        do {
            current = try descriptor.duplicate(region.path)
        } catch {
            throw .io("'\(region.path)': dup failed", error)
        }
        var path = FilePath(region.path)
        for component in components {
            do throws(GalleryError) {
                try Self.checkComponent(component, in: path)
                path.append(component)
                guard let next = try Self.openFolder(component, in: current, path: path, create: create) else {
                    current.closeQuietly()
                    return nil
                }
                current.closeQuietly()
                current = next
            } catch {
                current.closeQuietly()
                throw error
            }
        }
        return Folder(descriptor: current, path: path)
    }

    /// Opens the folder `name` in `folder` without following a symbolic link, made first when
    /// missing with `create`; nil when it is missing and not made.
    static func openFolder(_ name: String, in folder: FileDescriptor, path: FilePath, create: Bool) throws(GalleryError) -> FileDescriptor? {
        let flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW
        var failure: VHDError
        do throws(VHDError) {
            return try folder.openEntry(name, flags: flags, path: path)
        } catch {
            failure = error
        }
        if failure.errno == .noSuchFileOrDirectory && create {
            do throws(VHDError) {
                try folder.makeFolder(name, path: path)  // false when another process made it first
            } catch {
                throw .io("the folder '\(path)' cannot be created", error)
            }
            do throws(VHDError) {
                return try folder.openEntry(name, flags: flags, path: path)
            } catch {
                failure = error
            }
        }
        if failure.errno == .noSuchFileOrDirectory { return nil }
        if kind(of: name, in: folder) == S_IFLNK {
            throw GalleryError(.io, "'\(path)' is a symbolic link; replicas are never written, read or removed through one")
        }
        throw .io("'\(path)' cannot be opened as a folder", failure)
    }

    /// A plain name: not empty, no '/', not "." or "..", no NUL.
    static func checkComponent(_ name: String, in folder: FilePath) throws(GalleryError) {
        guard !name.isEmpty, name != ".", name != "..", !name.contains("/"), !name.utf8.contains(0) else {
            throw GalleryError(.io, "the catalog is damaged: '\(name)' is not a file name that can be used under '\(folder)'")
        }
    }

    /// The file type (S_IFMT bits) of `name` in the folder `descriptor`, without following it.
    static func kind(of name: String, in descriptor: FileDescriptor) -> mode_t? {
        do {
            return try descriptor.status(ofEntry: name, path: FilePath(name)).st_mode & S_IFMT
        } catch {
            return nil
        }
    }

    /// One folder below a region's folder, open.
    final class Folder {
        let descriptor: FileDescriptor
        /// For messages only: the folder is always reached through `descriptor`.
        let path: FilePath

        init(descriptor: FileDescriptor, path: FilePath) {
            self.descriptor = descriptor
            self.path = path
        }

        deinit { descriptor.closeQuietly() }

        /// A path naming `name` in this very folder (through /proc/self/fd), valid while the
        /// folder is open; used to hand the folder to APIs that take paths.
        func pathThroughDescriptor(_ name: String) -> FilePath { FilePath("/proc/self/fd/\(descriptor.rawValue)/\(name)") }

        /// The sub-folder `name`, opened without following a symbolic link; nil when it cannot be.
        func subfolder(_ name: String) -> Folder? {
            do {
                let sub = try descriptor.openEntry(name, flags: O_RDONLY | O_DIRECTORY | O_NOFOLLOW, path: path.appending(name))
                return Folder(descriptor: sub, path: path.appending(name))
            } catch {
                return nil
            }
        }

        struct Entry {
            var type: mode_t
            var size: Int64
            var modified: Int
        }

        /// What is at `name` (not followed), or nil when nothing is.
        func entry(_ name: String) -> Entry? {
            let status: stat
            do {
                status = try descriptor.status(ofEntry: name, path: path.appending(name))
            } catch {
                return nil
            }
            return Entry(type: status.st_mode & S_IFMT, size: Int64(status.st_size), modified: Int(status.st_mtim.tv_sec))
        }

        /// Runs `body` with a path to the regular file `name` opened without following a link.
        func withFile<T>(_ name: String, _ body: (FilePath) throws -> T) throws -> T {
            let file: FileDescriptor
            do {
                file = try descriptor.openEntry(name, flags: O_RDONLY | O_NOFOLLOW | O_NONBLOCK, path: path.appending(name))
            } catch {
                throw GalleryError.io("'\(path.appending(name))' cannot be opened", error)
            }
            defer { file.closeQuietly() }
            let status: stat
            do {
                status = try file.status(path.appending(name).string)
            } catch {
                throw GalleryError(.io, "'\(path.appending(name))' is not a regular file")
            }
            guard (status.st_mode & S_IFMT) == S_IFREG else {
                throw GalleryError(.io, "'\(path.appending(name))' is not a regular file")
            }
            return try body(FilePath("/proc/self/fd/\(file.rawValue)"))
        }

        /// Gives the finished temporary file `temporary` the name `name`, never over an
        /// existing file (a hard link, which fails when `name` exists), then syncs the folder.
        func publish(_ temporary: String, as name: String) throws(GalleryError) {
            do {
                try descriptor.link(temporary, as: name, path: path.appending(name))
            } catch where error.errno == .fileExists {
                throw GalleryError(.replication, "a file is already at '\(path.appending(name))'; it was not made by this version's replication and is left as it is")
            } catch {
                throw .io("'\(path.appending(name))' cannot be made", error)
            }
            do {
                try descriptor.synchronize(path.string)
            } catch {
                // The name is made; a folder sync that fails leaves it to the filesystem's own flush.
            }
        }

        /// Removes the file `name` (a symbolic link there is removed, never followed).
        func remove(_ name: String) {
            do {
                try descriptor.removeEntry(name, path: path.appending(name))
            } catch {
                // Gone already, or left for the next store check to report.
            }
        }

        /// Removes the sub-folder `name` when it is empty.
        func removeFolderIfEmpty(_ name: String) {
            do {
                try descriptor.removeEntry(name, folder: true, path: path.appending(name))
            } catch {
                // Not empty (ENOTEMPTY): it stays.
            }
        }

        /// The names in this folder.
        func names() -> [String] {
            do {
                return try descriptor.names(path.string)
            } catch {
                return []  // an unreadable folder: nothing in it is found
            }
        }

        /// Whether `name` is a partial file a copy to `final` leaves while it works
        /// (``OutputFile``'s temporary files).
        static func isPartial(_ name: String, of final: String? = nil) -> Bool {
            guard name.hasSuffix(".vhdtool-partial") else { return false }
            guard let final else { return true }
            return name.hasPrefix(".\(final).")
        }

        /// Removes the partial files of copies to `final`.
        func removePartials(of final: String) {
            for name in names() where Self.isPartial(name, of: final) { remove(name) }
        }
    }

    // MARK: Overlap

    /// Whether the folders `a` and `b` are one folder or one lies inside the other, by real
    /// paths and by device and inode of the folders and their ancestors, both ways.
    static func overlap(_ a: String, _ b: String) -> Bool { contains(a, b) || contains(b, a) }

    /// Whether folder `inner` is `outer` or lies inside it.
    static func contains(_ outer: String, _ inner: String) -> Bool {
        let outerPath = resolved(outer)
        var path = resolved(inner)
        let outerKey = key(outerPath)
        while true {
            if path == outerPath { return true }
            if let outerKey, key(path) == outerKey { return true }
            if path.components.isEmpty { return false }
            path = path.removingLastComponent()
        }
    }

    /// The real path of `path` (or of its deepest existing ancestor, with the rest appended).
    static func resolved(_ path: String) -> FilePath {
        let lexical = FilePath(path).lexicallyNormalized()
        var existing = lexical
        var rest: [FilePath.Component] = []
        while !existing.components.isEmpty {
            do {
                var result = try SystemCalls.realPath(existing)
                for component in rest.reversed() { result.append(component) }
                return result
            } catch {
                // Not there (yet): resolve its parent.
            }
            if let last = existing.lastComponent { rest.append(last) }
            existing = existing.removingLastComponent()
        }
        return lexical
    }

    struct FileKey: Equatable {
        var device: UInt64
        var inode: UInt64
    }

    static func key(_ path: FilePath) -> FileKey? {
        guard let status = SystemCalls.statusIfPresent(of: path) else { return nil }
        return FileKey(device: UInt64(status.st_dev), inode: UInt64(status.st_ino))
    }
}
