import GRDB
import SystemPackage

extension GalleryStore {
    /// Adds a region whose replicas live under `path` (created if missing; kept absolute).
    /// The first region added is the default region.
    ///
    /// - Throws: ``GalleryError``: a bad name, a name taken, or a folder that cannot be made.
    @discardableResult
    public func addRegion(_ name: String, path: String, makeDefault: Bool = false) throws(GalleryError) -> Region {
        try NameRules.checkResourceName(name, kind: "region")
        let folder = Self.absolute(FilePath(path))
        try Self.makeFolders(folder)
        return try write { db in
            if try Region.filter(Column("name").collating(.nocase) == name).fetchOne(db) != nil {
                throw GalleryError.conflict("a region named '\(name)' already exists in the store")
            }
            let isFirst = try Region.fetchCount(db) == 0
            if makeDefault { try db.execute(sql: "UPDATE region SET isDefault = 0") }
            var region = Region(id: nil, name: name, path: folder.string, isDefault: isFirst || makeDefault)
            try region.insert(db)
            return region
        }
    }

    /// Every region, in the order added.
    public func regions() throws(GalleryError) -> [Region] {
        try read { db in try Region.order(Column("id")).fetchAll(db) }
    }

    /// Makes `name` the region versions go to without `--target-region`.
    public func setDefaultRegion(_ name: String) throws(GalleryError) {
        try write { db in
            let region = try Self.region(name, in: db)
            try db.execute(sql: "UPDATE region SET isDefault = (id = ?)", arguments: [region.id])
        }
    }

    /// Removes a region from the store (its folder is left as it is).
    ///
    /// - Throws: ``GalleryError``: no such region, or versions still have replicas there.
    public func removeRegion(_ name: String) throws(GalleryError) {
        try write { db in
            let region = try Self.region(name, in: db)
            let versions = try VersionRegion.filter(Column("regionId") == region.id).fetchCount(db)
            guard versions == 0 else {
                throw GalleryError.conflict("the region '\(region.name)' cannot be removed while \(versions) image version\(versions == 1 ? "" : "s") keep replicas there")
            }
            _ = try region.delete(db)
            if region.isDefault {
                try db.execute(sql: "UPDATE region SET isDefault = 1 WHERE id = (SELECT MIN(id) FROM region)")
            }
        }
    }

    static func region(_ name: String, in db: Database) throws -> Region {
        guard let region = try Region.filter(Column("name").collating(.nocase) == name).fetchOne(db) else {
            throw GalleryError.notFound("there is no region named '\(name)' in the store (add it with 'vhdtool region add')")
        }
        return region
    }

    static func absolute(_ path: FilePath) -> FilePath {
        if path.isAbsolute { return path.lexicallyNormalized() }
        var buffer = [CChar](repeating: 0, count: 4096)
        guard getcwd(&buffer, buffer.count) != nil else { return path }
        let cwd = buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        return FilePath(cwd).pushing(path).lexicallyNormalized()
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
