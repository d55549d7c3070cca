import ArgumentParser
import CommandLineSupport
import GalleryCommandLine

/// `vhdtool region|gallery|definition|version|store ...`: the image gallery's commands, a program of
/// their own (vhdtool runs it) because the catalog's GRDB loads Foundation. The commands'
/// declarations are GalleryCommandLine's, shared with vhdtool; their implementations are here.
@main
struct VHDTool: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vhdtool",
        abstract: "The image gallery: regions, galleries, image definitions and image versions.",
        version: PackageVersion.current,
        subcommands: GalleryCommandLine.commands)

    static func main() {
        // The completion script is vhdtool's, which declares every command (this program
        // declares the gallery's alone): both programs print the same one. Only as the first
        // argument, as it is asked for: vhdtool does not hand that back here, so no loop.
        let arguments = Array(CommandLine.arguments.dropFirst())
        if let first = arguments.first, first == "--generate-completion-script" || first.hasPrefix("--generate-completion-script=") {
            let failure = SiblingProgram.exec("vhdtool", arguments: arguments)
            Terminal.standardError("Error: the completion script needs \(failure.program) (\(failure.reason))\n")
            exit(withError: ExitCode(1))
        }
        GalleryCommandLine.runner = { command in
            guard let command = command as? any GalleryCommandImplementation else {
                throw ValidationError("\(type(of: command)) has no implementation in vhdtool-gallery")
            }
            try command.perform()
        }
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            exit(withError: error)
        }
    }
}

/// What a gallery command declared in GalleryCommandLine does when it runs.
protocol GalleryCommandImplementation: ParsableCommand {
    /// Runs the parsed command: its `run()` calls this through `GalleryCommandLine.runner`.
    func perform() throws
}
