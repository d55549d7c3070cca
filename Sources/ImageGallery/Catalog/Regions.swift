import SystemPackage

extension GalleryStore {
    /// Adds a region whose replicas live under `path` (created if missing; kept absolute).
    /// The first region added is the default region.
    ///
    /// Regions never share a folder: the new folder must neither be, nor hold, nor lie in
    /// another region's folder (compared by real paths and by device and inode, both ways),
    /// nor hold the store's folder.
    ///
    /// - Throws: ``GalleryError``: a bad name, a name taken, a folder another region uses, or a
    ///   folder that cannot be made.
    @discardableResult
    public func addRegion(_ name: String, path: String, makeDefault: Bool = false) throws(GalleryError) -> Region {
        try NameRules.checkResourceName(name, kind: "region")
        let folder = Self.absolute(FilePath(path))
        if let storeFolder = self.folder, RegionFolder.contains(folder.string, storeFolder.string) {
            throw GalleryError.conflict("the folder '\(folder)' holds the store's catalog ('\(storeFolder)'); give the region a folder of its own")
        }
        // Checked before the folder is made (nothing is left behind when refused) and again,
        // with the folder there, in the transaction that records the region.
        try Self.refuseOverlap(folder, with: regions())
        try Self.makeFolders(folder)
        return try write { db in
            if try Region.fetchOne(db, where: "lower(name) = lower(?)", [.text(name)]) != nil {
                throw GalleryError.conflict("a region named '\(name)' already exists in the store")
            }
            try Self.refuseOverlap(folder, with: Region.fetchAll(db))
            let isFirst = try Region.count(db) == 0
            if makeDefault { try db.execute("UPDATE region SET isDefault = 0", []) }
            var region = Region(id: nil, name: name, path: folder.string, isDefault: isFirst || makeDefault)
            try region.insert(db)
            return region
        }
    }

    /// Every region, in the order added.
    public func regions() throws(GalleryError) -> [Region] {
        try read { db in try Region.fetchAll(db) }
    }

    /// Makes `name` the region that versions created without target regions go to.
    public func setDefaultRegion(_ name: String) throws(GalleryError) {
        try write { db in
            let region = try Self.region(name, in: db)
            try db.execute("UPDATE region SET isDefault = CASE WHEN id = ? THEN 1 ELSE 0 END", [CatalogValue(region.id)])
        }
    }

    /// Removes a region from the store (its folder is left as it is).
    ///
    /// - Throws: ``GalleryError``: no such region, or versions still have replicas there.
    public func removeRegion(_ name: String) throws(GalleryError) {
        try write { db in
            let region = try Self.region(name, in: db)
            let versions = try VersionRegion.count(db, where: "regionId = ?", [CatalogValue(region.id)])
            guard versions == 0 else {
                throw GalleryError.conflict("the region '\(region.name)' cannot be removed while \(versions) image version\(versions == 1 ? "" : "s") keep replicas there")
            }
            try region.delete(db)
            if region.isDefault {
                try db.execute("UPDATE region SET isDefault = 1 WHERE id = (SELECT MIN(id) FROM region)", [])
            }
        }
    }

    static func refuseOverlap(_ folder: FilePath, with regions: [Region]) throws(GalleryError) {
        for other in regions where RegionFolder.overlap(folder.string, other.path) {
            throw GalleryError.conflict("the folder '\(folder)' overlaps the folder of region '\(other.name)' ('\(other.path)'): regions cannot share a folder or lie one inside the other")
        }
    }

    static func region(_ name: String, in db: any CatalogConnection) throws -> Region {
        guard let region = try Region.fetchOne(db, where: "lower(name) = lower(?)", [.text(name)]) else {
            throw GalleryError.notFound("there is no region named '\(name)' in the store", remedy: .addRegion)
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
