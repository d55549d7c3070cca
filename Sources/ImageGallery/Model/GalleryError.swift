import VHD

/// Why a gallery command was refused or failed: one sentence naming the rule broken.
///
/// ``category`` groups the errors for exit codes (README.md, "Exit codes").
public struct GalleryError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Category: Sendable, Equatable {
        /// A rule of the gallery model was broken (a name, a range, a limit, an immutable field,
        /// a disk that does not fit the definition).
        case rule
        /// A gallery, definition, version or region that does not exist.
        case notFound
        /// Something already exists, or is still in use.
        case conflict
        /// A replica could not be made or checked; the catalog says which region failed.
        case replication
        /// Reading a disk or the catalog failed.
        case io
    }

    public var category: Category
    public var description: String

    public init(_ category: Category, _ description: String) {
        self.category = category
        self.description = description
    }

    static func rule(_ text: String) -> GalleryError { GalleryError(.rule, text) }
    static func notFound(_ text: String) -> GalleryError { GalleryError(.notFound, text) }
    static func conflict(_ text: String) -> GalleryError { GalleryError(.conflict, text) }

    /// A disk that cannot be opened or read, as the VHD module said it.
    static func disk(_ path: String, _ error: any Error) -> GalleryError {
        GalleryError(.io, "the disk '\(path)' cannot be used: \(error)")
    }

    /// A change to a field the model does not let change after creation.
    static func immutable(_ field: String, of resource: String) -> GalleryError {
        .rule("the \(field) of \(resource) cannot be changed after it is created")
    }
}
