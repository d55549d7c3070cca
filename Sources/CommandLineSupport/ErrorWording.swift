import VHD

/// The command line's wording of the library's errors: the library says what was found, in its
/// own terms; this adds what to type to get past it, naming the programs' own flags.
package enum ErrorWording {
    /// One sentence for `error`, with the flag or command that helps where there is one.
    package static func sentence(for error: any Error) -> String {
        guard let error = error as? VHDError else { return "\(error)" }
        return error.description + (hint(for: error).map { "; \($0)" } ?? "")
    }

    /// What to type to get past `error`, or nil.
    package static func hint(for error: VHDError) -> String? {
        switch error.kind {
        case .checksumRefused:
            "pass --ignore-checksums to use the image anyway"
        case .parentNotFound:
            "pass --parent PATH, or point the child at its parent with 'vhdtool reparent'"
        case .parentMismatch:
            "pass --ignore-parent-uuid to use it anyway"
        case .destinationExists:
            "pass --force to replace it"
        case .untagged:
            "make one with 'vhdtool tag \(error.path) --os-state generalized|specialized'"
        case let .refusedUnlessForced(operation, _):
            "pass --force to \(operation) anyway"
        default:
            nil
        }
    }
}
