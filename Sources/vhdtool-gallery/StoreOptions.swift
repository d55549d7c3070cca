import ArgumentParser
import CommandLineSupport
import GalleryCommandLine
import ImageGallery
import SystemPackage

extension StoreOptions {
    /// Opens the store (a folder, or a `postgres://` URL: ``CatalogLocation``) and runs `body`;
    /// a ``GalleryError`` is printed as one sentence and ends
    /// the command with the exit code of its category (README.md, "Exit codes"); a location
    /// that names no usable store (a malformed URL) ends it with 64, as a bad option does. Only a
    /// command that creates something (`creating`) creates a missing store.
    func run<T>(creating: Bool = false, _ body: (GalleryStore) throws -> T) throws -> T {
        do {
            var environment: [String: String] = [:]
            for name in ["VHDTOOL_STORE", "VHDTOOL_STORE_PASSWORD", "PGPASSWORD", "XDG_DATA_HOME", "HOME"] {
                environment[name] = Terminal.environment(name)
            }
            let location: CatalogLocation
            do {
                location = try CatalogLocation.resolve(explicit: folder, environment: environment)
            } catch {
                // A store that cannot be named (a malformed URL, no folder to default to) is a
                // command line to correct, as a malformed option is: usage (64), not a rule (4).
                Terminal.standardError("Error: \(GalleryWording.sentence(for: error))\n")
                throw ExitCode.validationFailure
            }
            let store = try StoreOpening.open(location, creating: creating)
            return try body(store)
        } catch let error as GalleryError {
            throw GalleryExit(error)
        }
    }
}

/// Ends a gallery command: prints "Error: ..." and exits with the category's code.
struct GalleryExit: Error {
    let error: GalleryError

    init(_ error: GalleryError) {
        self.error = error
        Terminal.standardError("Error: \(GalleryWording.sentence(for: error))\n")
    }

    /// 1 I/O, 2 not found, 3 conflict (exists or in use), 4 a rule broken, 5 replication failed.
    static func code(for category: GalleryError.Category) -> Int32 {
        switch category {
        case .io: 1
        case .notFound: 2
        case .conflict: 3
        case .rule: 4
        case .replication: 5
        }
    }

    var exitCode: ExitCode { ExitCode(Self.code(for: error.category)) }
}

/// Runs a gallery command's body, turning a ``GalleryExit`` into its exit code.
func galleryCommand(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let exit as GalleryExit {
        throw exit.exitCode
    } catch let error as GalleryError {
        throw GalleryExit(error).exitCode
    }
}

/// Memory on the command line: a number of MB, or a size with K, M, G or T that is a whole
/// number of MiB.
func memoryMB(_ text: String?, option: String) throws -> Int? {
    guard let text else { return nil }
    if let megabytes = Int(text), megabytes >= 0 { return megabytes }
    guard let size = ByteSize(argument: text), size.bytes % (1 << 20) == 0 else {
        throw ValidationError("\(option) '\(text)' is not a number of MB or a whole number of MiB (e.g. 2048 or 2G)")
    }
    return Int(size.bytes >> 20)
}

/// Lines for a text report of tags.
func tagsText(_ tags: [String: String]) -> String {
    tags.isEmpty ? "-" : tags.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")
}
