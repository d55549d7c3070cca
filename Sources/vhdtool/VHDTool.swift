import ArgumentParser
import CommandLineSupport
import GalleryCommandLine
import VHD

@main
struct VHDTool: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vhdtool",
        abstract: "Inspect, read, convert, write, resize, compact, merge, repair, digest, tag and publish Microsoft VHD disk images.",
        discussion: """
            The image gallery's commands run in vhdtool-gallery, installed beside vhdtool.
            """,
        version: PackageVersion.current,
        subcommands: diskCommands,
        // Declared here too (help, completion scripts, argument errors), run by vhdtool-gallery.
        groupedSubcommands: [CommandGroup(name: "Image gallery", subcommands: GalleryCommandLine.commands)])

    /// The disk commands, which this program runs.
    static let diskCommands: [any ParsableCommand.Type] = [
        Inspect.self, Check.self, Map.self, Convert.self, Create.self, Write.self, Occupied.self, Digest.self, Tag.self,
        Repair.self, Resize.self, Compact.self, Merge.self, Reparent.self,
    ]

    /// The same program with the disk commands alone, to parse a disk command with: parsing
    /// asks the Swift runtime about the conformances of every command in the tree, and the
    /// gallery's 32 commands would add about 1.5 ms (a quarter) to the start-up of `inspect`.
    struct DiskCommands: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "vhdtool", abstract: VHDTool.configuration.abstract, version: PackageVersion.current,
            subcommands: VHDTool.diskCommands)
    }

    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        // A gallery command parsed here runs in vhdtool-gallery, whose catalog needs Foundation:
        // this program execs it with the same arguments.
        GalleryCommandLine.runner = { _ in runGallery(arguments) }
        // INT, TERM and HUP remove the partial files of every command (see Interruption).
        PartialFiles.prepare()
        Interruption.installCleanup { PartialFiles.removeAll() }
        // Help, completion scripts, the gallery's commands and anything unknown: the whole tree.
        let isDiskCommand = arguments.first.map { name in diskCommands.contains { $0._commandName == name } } ?? false
        let root: any ParsableCommand.Type = isDiskCommand ? DiskCommands.self : VHDTool.self
        do {
            var command = try root.parseAsRoot(arguments)
            try command.run()
        } catch let error as VHDError {
            // The library's words, and the flag that helps.
            Terminal.standardError("Error: \(ErrorWording.sentence(for: error))\n")
            root.exit(withError: ExitCode(1))
        } catch {
            root.exit(withError: error)
        }
    }

    /// Replaces this process with `vhdtool-gallery` from the same folder, with the same
    /// arguments; returns only if that fails (after saying why).
    static func runGallery(_ arguments: [String]) -> Never {
        let failure = SiblingProgram.exec("vhdtool-gallery", arguments: arguments)
        Terminal.standardError("Error: the gallery commands need \(failure.program) (\(failure.reason))\n")
        Self.exit(withError: ExitCode(1))
    }
}
