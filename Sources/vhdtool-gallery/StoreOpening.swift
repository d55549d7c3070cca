import GalleryPostgres
import ImageGallery

/// Opens the store a location names, with the engine it needs: a folder's SQLite catalog, or
/// a PostgreSQL database (which only this program links, so that `vhdtool`'s disk commands
/// never load SwiftNIO).
enum StoreOpening {
    /// Opens the store at `location`. A folder's missing store is made only when `creating`;
    /// a PostgreSQL database gets the catalog's tables the first time it is opened.
    ///
    /// - Throws: ``GalleryError``: io when the server cannot be reached, refuses the user, or its
    ///   catalog cannot be migrated; what ``GalleryStore/init(folder:limits:creating:)`` throws.
    static func open(_ location: CatalogLocation, creating: Bool) throws(GalleryError) -> GalleryStore {
        switch location {
        case .folder(let folder):
            return try GalleryStore(folder: folder, creating: creating)
        case .postgres(let url):
            let catalog: PostgresCatalog
            do {
                catalog = try PostgresCatalog(url: url)
            } catch {
                throw GalleryError(.io, error.message)
            }
            return try GalleryStore(database: catalog)
        }
    }
}
