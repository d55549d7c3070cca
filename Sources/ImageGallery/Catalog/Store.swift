import GRDB
import SystemPackage
import VHD

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The store: a folder playing the part of a subscription. It holds `catalog.sqlite` (the
/// catalog of regions, galleries, definitions, versions, their leases and replication jobs)
/// and names regions, each a storage root folder where replicas are written.
///
/// Every SQL statement lives in the Catalog folder, behind functions that say what they do
/// (leases and jobs in Jobs.swift), so that a second catalog engine can take the same place.
///
/// The catalog is SQLite through GRDB: migrations, WAL journal, foreign keys, a busy timeout
/// so that concurrent commands wait for each other, and one immediate transaction per change.
public struct GalleryStore: Sendable {
    /// The store's folder.
    public let folder: FilePath
    /// The limits the store enforces on galleries, definitions, versions and disk sizes.
    public let limits: StoreLimits
    let database: DatabaseQueue

    /// The catalog's file name inside the store folder.
    public static let catalogName = "catalog.sqlite"

    /// Opens the store in `folder` and migrates the catalog to the current schema. With
    /// `creating`, a missing folder and catalog are made; without it (what a command that only
    /// reads or changes existing things does) a missing store is an error naming the path.
    /// A catalog file that is empty or not a SQLite database is an error, never a new store.
    ///
    /// - Throws: ``GalleryError``: not found (no store there), io (the folder or catalog cannot
    ///   be made, opened or read, or the catalog is damaged).
    public init(folder: FilePath, limits: StoreLimits = StoreLimits(), creating: Bool = true) throws(GalleryError) {
        self.folder = folder
        self.limits = limits
        let catalog = folder.appending(Self.catalogName)
        var status = stat()
        if stat(catalog.string, &status) == 0 {
            guard (status.st_mode & S_IFMT) == S_IFREG else {
                throw GalleryError(.io, "the catalog '\(catalog)' is not a regular file")
            }
            guard status.st_size > 0 else {
                throw GalleryError(.io, "the catalog '\(catalog)' is empty (0 bytes): it is damaged, not a new store; restore it from a backup or move it away")
            }
        } else if errno == ENOENT {
            guard creating else {
                throw GalleryError.notFound("there is no store at '\(folder)' (no \(Self.catalogName) there)", remedy: .createStore)
            }
            try Self.makeFolders(folder)
        } else {
            throw GalleryError(.io, "the catalog '\(catalog)' cannot be opened: \(Errno(rawValue: errno))")
        }
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        configuration.busyMode = .timeout(60)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA journal_mode = WAL")
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        do {
            database = try DatabaseQueue(path: catalog.string, configuration: configuration)
            try Self.migrator.migrate(database)
        } catch let error as GalleryError {
            throw error
        } catch {
            throw GalleryError(.io, "the catalog in '\(folder)' cannot be opened: \(error)")
        }
    }

    /// The store folder: `explicit` (the folder a caller names), else `VHDTOOL_STORE`, else
    /// `$XDG_DATA_HOME/vhdtool`, else `~/.local/share/vhdtool`.
    public static func location(explicit: String?, environment: [String: String]) throws(GalleryError) -> FilePath {
        if let explicit, !explicit.isEmpty { return FilePath(explicit) }
        if let store = environment["VHDTOOL_STORE"], !store.isEmpty { return FilePath(store) }
        if let data = environment["XDG_DATA_HOME"], data.hasPrefix("/") { return FilePath(data).appending("vhdtool") }
        if let home = environment["HOME"], !home.isEmpty { return FilePath(home).appending(".local/share/vhdtool") }
        throw .rule("no store folder was given, and neither VHDTOOL_STORE nor HOME is set", remedy: .chooseStore)
    }

    /// Runs `body` in one immediate write transaction: it waits for other writers, and either
    /// all of its changes are committed or none.
    func write<T>(_ body: (Database) throws -> T) throws(GalleryError) -> T {
        do {
            return try database.writeWithoutTransaction { db in
                var result: T?
                try db.inTransaction(.immediate) {
                    result = try body(db)
                    return .commit
                }
                return result!
            }
        } catch let error as GalleryError {
            throw error
        } catch {
            throw GalleryError(.io, "the catalog could not be updated: \(error)")
        }
    }

    /// Runs `body` reading a consistent snapshot of the catalog.
    func read<T>(_ body: (Database) throws -> T) throws(GalleryError) -> T {
        do {
            return try database.read(body)
        } catch let error as GalleryError {
            throw error
        } catch {
            throw GalleryError(.io, "the catalog could not be read: \(error)")
        }
    }

    /// Creates `folder` and its missing ancestors.
    static func makeFolders(_ folder: FilePath) throws(GalleryError) {
        var path = FilePath(folder.root?.string ?? "")
        for component in folder.components {
            path.append(component)
            if mkdir(path.string, 0o755) != 0 && errno != EEXIST {
                throw GalleryError(.io, "the folder '\(path)' cannot be created: \(Errno(rawValue: errno))")
            }
        }
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: regions, galleries, definitions, versions, replicas") { db in
            try db.create(table: "region") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("name", .text).notNull().unique().collate(.nocase)
                t.column("path", .text).notNull()
                t.column("isDefault", .boolean).notNull().defaults(to: false)
            }
            try db.create(table: "gallery") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("name", .text).notNull().unique().collate(.nocase)
                t.column("description", .text)
                t.column("createdDate", .text).notNull()
            }
            try db.create(table: "definition") { t in
                t.autoIncrementedPrimaryKey("id")
                t.belongsTo("gallery", onDelete: .restrict).notNull()
                t.column("name", .text).notNull().collate(.nocase)
                t.column("publisher", .text).notNull().collate(.nocase)
                t.column("offer", .text).notNull().collate(.nocase)
                t.column("sku", .text).notNull().collate(.nocase)
                t.column("osType", .text).notNull()
                t.column("osState", .text).notNull()
                t.column("hyperVGeneration", .text).notNull()
                t.column("architecture", .text).notNull()
                t.column("description", .text)
                t.column("eula", .text)
                t.column("privacyStatementUri", .text)
                t.column("releaseNoteUri", .text)
                t.column("endOfLifeDate", .text)
                t.column("tags", .jsonText).notNull()
                t.column("minVCPUs", .integer)
                t.column("maxVCPUs", .integer)
                t.column("minMemoryMB", .integer)
                t.column("maxMemoryMB", .integer)
                t.column("disallowedDiskTypes", .jsonText).notNull()
                t.column("planName", .text)
                t.column("planPublisher", .text)
                t.column("planProduct", .text)
                t.column("createdDate", .text).notNull()
                t.uniqueKey(["galleryId", "name"])
                t.uniqueKey(["galleryId", "publisher", "offer", "sku"])
            }
            try db.create(table: "version") { t in
                t.autoIncrementedPrimaryKey("id")
                t.belongsTo("definition", onDelete: .restrict).notNull()
                t.column("name", .text).notNull()
                t.column("major", .integer).notNull()
                t.column("minor", .integer).notNull()
                t.column("patch", .integer).notNull()
                t.column("replicaCount", .integer).notNull()
                t.column("storageAccountType", .text).notNull()
                t.column("excludeFromLatest", .boolean).notNull()
                t.column("endOfLifeDate", .text)
                t.column("tags", .jsonText).notNull()
                t.column("publishedDate", .text).notNull()
                t.column("provisioningState", .text).notNull()
                t.uniqueKey(["definitionId", "name"])
            }
            try db.create(table: "versionDisk") { t in
                t.autoIncrementedPrimaryKey("id")
                t.belongsTo("version", onDelete: .cascade).notNull()
                t.column("lun", .integer)
                t.column("sourcePath", .text).notNull()
                t.column("virtualSize", .integer).notNull()
                t.column("occupiedBytes", .integer).notNull()
                t.column("digest", .text).notNull()
                t.uniqueKey(["versionId", "lun"])
            }
            try db.create(table: "versionRegion") { t in
                t.autoIncrementedPrimaryKey("id")
                t.belongsTo("version", onDelete: .cascade).notNull()
                // A region with replicas cannot be removed.
                t.belongsTo("region", onDelete: .restrict).notNull()
                t.column("position", .integer).notNull()
                t.column("replicaCount", .integer).notNull()
                t.column("storageAccountType", .text).notNull()
                t.column("excludeFromLatest", .boolean)
                t.column("state", .text).notNull()
                t.column("progress", .integer).notNull()
                t.column("details", .text)
                t.uniqueKey(["versionId", "regionId"])
            }
        }
        migrator.registerMigration("v2: leases, replication jobs") { db in
            try db.alter(table: "version") { t in
                t.add(column: "leaseOperation", .text)
                t.add(column: "leaseHost", .text)
                t.add(column: "leasePid", .integer)
                t.add(column: "leaseStart", .integer)
                t.add(column: "leaseExpiry", .double)
            }
            try db.create(table: "replicationJob") { t in
                t.autoIncrementedPrimaryKey("id")
                t.belongsTo("version", onDelete: .cascade).notNull()
                t.belongsTo("region", onDelete: .restrict).notNull()
                t.belongsTo("versionDisk", onDelete: .cascade).notNull()
                t.column("replicaIndex", .integer).notNull()
                t.column("state", .text).notNull()
                t.column("fileSize", .integer)
                t.column("digest", .text)
                t.column("details", .text)
                t.column("doneBytes", .integer).notNull().defaults(to: 0)
                t.column("leaseHost", .text)
                t.column("leasePid", .integer)
                t.column("leaseStart", .integer)
                t.column("leaseExpiry", .double)
                t.uniqueKey(["versionId", "regionId", "versionDiskId", "replicaIndex"])
            }
            // Versions made before jobs: one job per replica; a Completed region's replicas
            // are done (their file size is recorded when `replicate` or `store check` next
            // looks at them), any other region's are pending.
            try db.execute(sql: """
                WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100)
                INSERT INTO replicationJob (versionId, regionId, versionDiskId, replicaIndex, state, digest, doneBytes)
                SELECT r.versionId, r.regionId, d.id, n.i,
                       CASE r.state WHEN 'Completed' THEN 'done' ELSE 'pending' END,
                       CASE r.state WHEN 'Completed' THEN d.digest END,
                       CASE r.state WHEN 'Completed' THEN d.virtualSize ELSE 0 END
                FROM versionRegion r JOIN versionDisk d ON d.versionId = r.versionId JOIN n ON n.i <= r.replicaCount
                """)
        }
        return migrator
    }
}

/// The store's limits, as today's Azure sets them per subscription and region.
public struct StoreLimits: Sendable, Equatable {
    /// Galleries in the store.
    public var galleries = 100
    /// Image definitions in the store, over all galleries.
    public var definitions = 1_000
    /// Image versions replicated to one region.
    public var versionsPerRegion = 10_000
    /// Disks must be smaller than this (2 TiB).
    public var diskSizeLimit: UInt64 = 2 << 40

    /// Today's Azure limits.
    public init() {}
}
