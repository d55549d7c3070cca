import SystemPackage
import VHD

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The store: the part of a subscription the gallery lives in. Its catalog (regions,
/// galleries, definitions, versions, their leases and replication jobs) is `catalog.sqlite`
/// in a store folder, or a PostgreSQL database many hosts share; regions are storage root
/// folders where replicas are written.
///
/// Every rule is written once, as SQL both engines run, in the Catalog folder, behind
/// functions that say what they do (leases and jobs in Jobs.swift); the engine
/// (SQLite or PostgreSQL) only runs it and gives its transactions their guarantees.
public struct GalleryStore: Sendable {
    /// The store's folder, holding `catalog.sqlite`; nil when the catalog is on a server.
    public let folder: FilePath?
    /// The limits the store enforces on galleries, definitions, versions and disk sizes.
    public let limits: StoreLimits
    let database: any CatalogDatabase

    /// Where the catalog is, for messages: the SQLite file, or the server's URL without its password.
    public var location: String { database.location }

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
        let status: stat?
        do throws(VHDError) {
            status = try SystemCalls.status(of: catalog)
        } catch where error.errno == .noSuchFileOrDirectory {
            status = nil
        } catch {
            throw .io("the catalog '\(catalog)' cannot be opened", error)
        }
        if let status {
            guard (status.st_mode & S_IFMT) == S_IFREG else {
                throw GalleryError(.io, "the catalog '\(catalog)' is not a regular file")
            }
            guard status.st_size > 0 else {
                throw GalleryError(.io, "the catalog '\(catalog)' is empty (0 bytes): it is damaged, not a new store; restore it from a backup or move it away")
            }
        } else {
            guard creating else {
                throw GalleryError.notFound("there is no store at '\(folder)' (no \(Self.catalogName) there)", remedy: .createStore)
            }
            try Self.makeFolders(folder)
        }
        do {
            let database = try SQLiteCatalog(path: catalog.string)
            try database.migrate()
            self.database = database
        } catch let error as GalleryError {
            throw error
        } catch let error as CatalogEngineError {
            throw GalleryError(.io, "the catalog in '\(folder)' cannot be opened: \(error.message)")
        } catch {
            throw GalleryError(.io, "the catalog in '\(folder)' cannot be opened: \(error)")
        }
    }

    /// Opens the store whose catalog is `database` (another engine than a store folder's
    /// SQLite file, such as a PostgreSQL server) and migrates it to the current schema.
    ///
    /// - Throws: ``GalleryError`` (io) when the catalog cannot be reached or migrated.
    package init(database: any CatalogDatabase, limits: StoreLimits = StoreLimits()) throws(GalleryError) {
        self.folder = nil
        self.limits = limits
        self.database = database
        do {
            try database.migrate()
        } catch {
            throw Self.catalogError(error, doing: "opened")
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

    /// Runs `body` in one write transaction: it waits for other writers, and either all of its
    /// changes are committed or none.
    func write<T>(_ body: (any CatalogConnection) throws -> T) throws(GalleryError) -> T {
        do {
            return try database.write(body)
        } catch {
            throw Self.catalogError(error, doing: "updated")
        }
    }

    /// Runs `body` in a transaction serialized only by the rows it locks (see
    /// ``CatalogDatabase/writeRows(_:)``): for the short steps of replication workers.
    func writeRows<T>(_ body: (any CatalogConnection) throws -> T) throws(GalleryError) -> T {
        do {
            return try database.writeRows(body)
        } catch {
            throw Self.catalogError(error, doing: "updated")
        }
    }

    /// Runs `body` reading a consistent snapshot of the catalog.
    func read<T>(_ body: (any CatalogConnection) throws -> T) throws(GalleryError) -> T {
        do {
            return try database.read(body)
        } catch {
            throw Self.catalogError(error, doing: "read")
        }
    }

    /// A failure of the catalog as a ``GalleryError``: the rules' own errors as they are, the
    /// engine's in its words.
    static func catalogError(_ error: any Error, doing what: String) -> GalleryError {
        switch error {
        case let error as GalleryError: error
        case let error as CatalogEngineError: GalleryError(.io, "the catalog could not be \(what): \(error.message)")
        default: GalleryError(.io, "the catalog could not be \(what): \(error)")
        }
    }

    /// Creates `folder` and its missing ancestors.
    static func makeFolders(_ folder: FilePath) throws(GalleryError) {
        var path = FilePath(folder.root?.string ?? "")
        for component in folder.components {
            path.append(component)
            do throws(VHDError) {
                try SystemCalls.makeFolder(path)
            } catch {
                throw .io("the folder '\(path)' cannot be created", error)
            }
        }
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
