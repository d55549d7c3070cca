import ArgumentParser

/// The gallery's commands as the command line sees them: their arguments, help and validation,
/// without their implementations.
///
/// Both programs link these declarations. `vhdtool` lists them in its command tree, so help,
/// completion scripts and argument errors cover every command; a gallery command it parses is
/// handed to ``runner``, which there execs `vhdtool-gallery`. `vhdtool-gallery` (whose catalog
/// needs Foundation) sets ``runner`` to its implementations before parsing.
package enum GalleryCommandLine {
    /// The gallery's top-level commands, in the order help lists them.
    package static let commands: [any ParsableCommand.Type] = [
        RegionCommand.self, GalleryCommand.self, DefinitionCommand.self, VersionCommand.self, StoreCommand.self,
    ]

    /// Runs a parsed gallery command. Each program sets it once in `main`, before parsing, and
    /// never again: a mutable global read only after that.
    nonisolated(unsafe) package static var runner: (any ParsableCommand) throws -> Void = { command in
        throw ValidationError("\(type(of: command)) cannot run in this program")
    }

    /// Runs `command` through ``runner``: what every gallery command's `run()` does.
    static func run(_ command: any ParsableCommand) throws {
        try runner(command)
    }
}
