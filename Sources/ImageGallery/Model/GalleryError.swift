
import VHD

/// Why a gallery operation was refused or failed: one sentence naming the rule broken, in the
/// library's words.
///
/// ``category`` groups the errors for exit codes (README.md, "Exit codes"); ``remedy`` says, as a
/// typed value, what the caller could do about it, so that a command line can name its own flag
/// or command for it. The ``description`` never names a flag or a program.
public struct GalleryError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kind of failure, which decides a command line's exit code.
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

    /// The kind of failure.
    public var category: Category
    /// What was found, in one sentence without a trailing period.
    public var description: String
    /// What would get past the error, when something would; nil when nothing the caller can
    /// do helps.
    public var remedy: GalleryRemedy?

    /// An error of `category` saying `description`.
    ///
    /// - Parameters:
    ///   - category: The kind of failure.
    ///   - description: What was found, in one sentence; it names no flag or program.
    ///   - remedy: What would get past it, or nil.
    public init(_ category: Category, _ description: String, remedy: GalleryRemedy? = nil) {
        self.category = category
        self.description = description
        self.remedy = remedy
    }

    static func rule(_ text: String, remedy: GalleryRemedy? = nil) -> GalleryError { GalleryError(.rule, text, remedy: remedy) }
    static func notFound(_ text: String, remedy: GalleryRemedy? = nil) -> GalleryError { GalleryError(.notFound, text, remedy: remedy) }
    static func conflict(_ text: String, remedy: GalleryRemedy? = nil) -> GalleryError { GalleryError(.conflict, text, remedy: remedy) }

    /// A disk that cannot be opened or read, as the VHD module said it.
    static func disk(_ path: String, _ error: any Error) -> GalleryError {
        GalleryError(.io, "the disk '\(path)' cannot be used: \(error)")
    }

    /// A failed system call (from VHD's file layer, `SystemCalls`), in the gallery's words:
    /// `what` says which file and what was being done, the errno says why. The one place a
    /// gallery I/O error is built from one.
    static func io(_ what: String, _ error: VHDError) -> GalleryError {
        GalleryError(.io, "\(what): \(error.errno.map { "\($0)" } ?? error.description)")
    }

    /// A change to a field the model does not let change after creation.
    static func immutable(_ field: String, of resource: String) -> GalleryError {
        .rule("the \(field) of \(resource) cannot be changed after it is created")
    }
}

/// What a caller could do to get past a ``GalleryError`` or act on a ``GalleryWarning``, as a
/// value: the library names the action, a command line words it with its own flags and commands.
public enum GalleryRemedy: Sendable, Equatable {
    /// Tag the OS disk with its OS state, or give the OS state with the request
    /// (``VersionRequest/osState``).
    case giveOSState
    /// The OS state given with the request contradicts the one the OS disk is tagged with:
    /// drop one of them.
    ///
    /// - Parameters:
    ///   - path: The OS disk.
    ///   - tagged: The OS state of the disk's tag.
    ///   - given: The OS state of the request.
    case contradictedOSState(path: String, tagged: GalleryOSState, given: GalleryOSState)
    /// Add a region to the store (``GalleryStore/addRegion(_:path:makeDefault:)``).
    case addRegion
    /// Check the store and repair it (``GalleryStore/check(repair:deep:minimumAge:)``).
    case checkStore
    /// Name a store folder: no folder was given and none could be derived from the environment.
    case chooseStore
    /// The store folder given holds no catalog: check the folder, or create a store by adding
    /// a region or a gallery.
    case createStore
    /// Allow the update to delete replica files (``VersionUpdate/allowReplicaDeletion``).
    case allowReplicaDeletion
    /// Wait for the operation holding the image version to end (the `wait` parameter).
    case waitForHolder
    /// Replicate the version again: replication resumes where it stopped.
    case resumeReplication
    /// The file is a raw image: say so with ``VersionRequest/allowRaw``.
    case declareRaw
    /// Convert the disk to a fixed VHD of a whole number of MiB before uploading it to Azure.
    case convertForAzure
}

/// Something doubtful but not refused, reported while an operation goes on.
public struct GalleryWarning: Sendable, Equatable, CustomStringConvertible {
    /// What was found, in one sentence; it names no flag or program.
    public var description: String
    /// What the caller could do about it, or nil.
    public var remedy: GalleryRemedy?

    /// A warning saying `description`.
    ///
    /// - Parameters:
    ///   - description: What was found, in one sentence.
    ///   - remedy: What the caller could do about it, or nil.
    public init(_ description: String, remedy: GalleryRemedy? = nil) {
        self.description = description
        self.remedy = remedy
    }
}
