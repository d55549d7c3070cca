import GalleryCommandLine
import ImageGallery

/// The command line's wording of the gallery library's errors and warnings: the library says
/// what was found and names a remedy as a value; this words the remedy with the programs' own
/// flags and commands.
enum GalleryWording {
    /// One sentence for `error`, with the flag or command that helps where there is one.
    static func sentence(for error: GalleryError) -> String {
        if case let .contradictedOSState(path, tagged, given) = error.remedy {
            return "the OS disk '\(path)' is tagged \(tagged.rawValue) but --os-state says \(given.rawValue)"
        }
        return error.description + (error.remedy.flatMap(hint(for:)).map { "; \($0)" } ?? "")
    }

    /// One sentence for `warning`, with the command that helps where there is one.
    static func sentence(for warning: GalleryWarning) -> String {
        warning.description + (warning.remedy.flatMap(hint(for:)).map { "; \($0)" } ?? "")
    }

    /// What to type for `remedy`, or nil when the error's own sentence says it all.
    static func hint(for remedy: GalleryRemedy) -> String? {
        switch remedy {
        case .giveOSState:
            "tag it (vhdtool tag) or give --os-state \(choices(GalleryOSState.self).lowercased())"
        case .contradictedOSState:
            nil
        case .addRegion:
            "add one with 'vhdtool region add NAME PATH'"
        case .checkStore:
            "run 'vhdtool store check'"
        case .chooseStore:
            "use --store DIR or set VHDTOOL_STORE"
        case .createStore:
            "check --store or VHDTOOL_STORE, or create it with 'vhdtool region add' or 'vhdtool gallery create'"
        case .allowReplicaDeletion:
            "allow it with --allow-replica-deletion"
        case .waitForHolder:
            "try again when it is done, or wait for it with --wait"
        case .resumeReplication:
            "'vhdtool version replicate' resumes it"
        case .declareRaw:
            "if it is a raw image, say so with --raw"
        case .convertForAzure:
            "for an upload to Azure, make a fixed VHD of a whole number of MiB with 'vhdtool convert --azure'"
        }
    }
}
