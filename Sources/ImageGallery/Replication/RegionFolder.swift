import SystemPackage

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
    let descriptor: Int32

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
        let descriptor = open(region.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw GalleryError(.io, "the folder of region '\(region.name)' ('\(region.path)') cannot be opened: \(Errno(rawValue: errno))")
        }
        self.region = region
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }

    /// The folder `components` (each a plain name) below the region's folder, made when missing
    /// with `create`; nil when it is missing and not made.
    ///
    /// - Throws: ``GalleryError`` when a component is a symbolic link or not a folder, or a
    ///   folder cannot be made or opened.
    func folder(_ components: [String], create: Bool) throws(GalleryError) -> Folder? {
        var current = dup(descriptor)
        guard current >= 0 else { throw GalleryError(.io, "'\(region.path)': dup failed: \(Errno(rawValue: errno))") }
        var path = FilePath(region.path)
        for component in components {
            try Self.checkComponent(component, in: path)
            path.append(component)
            var next = openat(current, component, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            if next < 0 && errno == ENOENT && create {
                if mkdirat(current, component, 0o755) != 0 && errno != EEXIST {
                    let failure = Errno(rawValue: errno)
                    close(current)
                    throw GalleryError(.io, "the folder '\(path)' cannot be created: \(failure)")
                }
                next = openat(current, component, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            }
            if next < 0 {
                let failure = errno
                let kind = Self.kind(of: component, in: current)
                close(current)
                if failure == ENOENT { return nil }
                if kind == S_IFLNK {
                    throw GalleryError(.io, "'\(path)' is a symbolic link; replicas are never written, read or removed through one")
                }
                throw GalleryError(.io, "'\(path)' cannot be opened as a folder: \(Errno(rawValue: failure))")
            }
            close(current)
            current = next
        }
        return Folder(descriptor: current, path: path)
    }

    /// A plain name: not empty, no '/', not "." or "..", no NUL.
    static func checkComponent(_ name: String, in folder: FilePath) throws(GalleryError) {
        guard !name.isEmpty, name != ".", name != "..", !name.contains("/"), !name.utf8.contains(0) else {
            throw GalleryError(.io, "the catalog is damaged: '\(name)' is not a file name that can be used under '\(folder)'")
        }
    }

    /// The file type (S_IFMT bits) of `name` in the folder `descriptor`, without following it.
    static func kind(of name: String, in descriptor: Int32) -> mode_t? {
        var status = stat()
        guard fstatat(descriptor, name, &status, AT_SYMLINK_NOFOLLOW) == 0 else { return nil }
        return status.st_mode & S_IFMT
    }

    /// One folder below a region's folder, open.
    final class Folder {
        let descriptor: Int32
        /// For messages only: the folder is always reached through `descriptor`.
        let path: FilePath

        init(descriptor: Int32, path: FilePath) {
            self.descriptor = descriptor
            self.path = path
        }

        deinit { close(descriptor) }

        /// A path naming `name` in this very folder (through /proc/self/fd), valid while the
        /// folder is open; used to hand the folder to APIs that take paths.
        func pathThroughDescriptor(_ name: String) -> FilePath { FilePath("/proc/self/fd/\(descriptor)/\(name)") }

        struct Entry {
            var type: mode_t
            var size: Int64
            var modified: Int
        }

        /// What is at `name` (not followed), or nil when nothing is.
        func entry(_ name: String) -> Entry? {
            var status = stat()
            guard fstatat(descriptor, name, &status, AT_SYMLINK_NOFOLLOW) == 0 else { return nil }
            return Entry(type: status.st_mode & S_IFMT, size: Int64(status.st_size), modified: Int(status.st_mtim.tv_sec))
        }

        /// Runs `body` with a path to the regular file `name` opened without following a link.
        func withFile<T>(_ name: String, _ body: (FilePath) throws -> T) throws -> T {
            let file = openat(descriptor, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
            guard file >= 0 else {
                throw GalleryError(.io, "'\(path.appending(name))' cannot be opened: \(Errno(rawValue: errno))")
            }
            defer { close(file) }
            var status = stat()
            guard fstat(file, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG else {
                throw GalleryError(.io, "'\(path.appending(name))' is not a regular file")
            }
            return try body(FilePath("/proc/self/fd/\(file)"))
        }

        /// Gives the finished temporary file `temporary` the name `name`, never over an
        /// existing file (a hard link, which fails when `name` exists), then syncs the folder.
        func publish(_ temporary: String, as name: String) throws(GalleryError) {
            guard linkat(descriptor, temporary, descriptor, name, 0) == 0 else {
                let failure = Errno(rawValue: errno)
                if failure == .fileExists {
                    throw GalleryError(.replication, "a file is already at '\(path.appending(name))'; it was not made by this version's replication and is left as it is")
                }
                throw GalleryError(.io, "'\(path.appending(name))' cannot be made: \(failure)")
            }
            fsync(descriptor)
        }

        /// Removes the file `name` (a symbolic link there is removed, never followed).
        func remove(_ name: String) {
            unlinkat(descriptor, name, 0)
        }

        /// Removes the sub-folder `name` when it is empty.
        func removeFolderIfEmpty(_ name: String) {
            unlinkat(descriptor, name, AT_REMOVEDIR)
        }

        /// The names in this folder.
        func names() -> [String] {
            let copy = dup(descriptor)
            guard copy >= 0 else { return [] }
            guard let directory = fdopendir(copy) else {
                close(copy)
                return []
            }
            defer { closedir(directory) }
            rewinddir(directory)
            var names: [String] = []
            while let entry = readdir(directory) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                if name != "." && name != ".." { names.append(name) }
            }
            return names
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
            if let real = realpath(existing.string, nil) {
                defer { free(real) }
                var result = FilePath(String(cString: real))
                for component in rest.reversed() { result.append(component) }
                return result
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
        var status = stat()
        guard stat(path.string, &status) == 0 else { return nil }
        return FileKey(device: UInt64(status.st_dev), inode: UInt64(status.st_ino))
    }
}
