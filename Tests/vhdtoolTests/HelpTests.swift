import Foundation
import TestSupport
import Testing

/// One tool on the command line: help, completion scripts and the version cover every command,
/// the gallery's too (declared in both programs, run by `vhdtool-gallery`).
struct HelpTests {
    /// Every command, as typed after `vhdtool`.
    static let commands: [[String]] = [
        ["inspect"], ["check"], ["map"], ["convert"], ["create"], ["write"], ["occupied"], ["digest"], ["tag"],
        ["repair"], ["resize"], ["compact"], ["merge"], ["reparent"],
        ["region"], ["region", "add"], ["region", "list"], ["region", "remove"], ["region", "set-default"],
        ["gallery"], ["gallery", "create"], ["gallery", "show"], ["gallery", "list"], ["gallery", "update"], ["gallery", "delete"],
        ["definition"], ["definition", "create"], ["definition", "show"], ["definition", "list"], ["definition", "update"],
        ["definition", "delete"],
        ["version"], ["version", "create"], ["version", "list"], ["version", "show"], ["version", "latest"], ["version", "update"],
        ["version", "delete"], ["version", "replicate"], ["version", "cost"],
        ["store"], ["store", "check"],
    ]

    @Test func versionIsPrintedByBothPrograms() throws {
        let version = try ConvertTests.vhdtool(["--version"])
        #expect(version.status == 0)
        let printed = version.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(printed.split(separator: ".").count == 3 && printed.allSatisfy { $0.isNumber || $0 == "." }, "\(printed)")
        let gallery = try ConvertTests.vhdtool(["version", "--version"])
        #expect(gallery.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == printed)
    }

    /// `vhdtool help X Y` and `vhdtool X Y --help` print X Y's own usage, for every command.
    @Test(arguments: commands)
    func helpOfEveryCommandShowsItsOwnUsage(command: [String]) throws {
        for arguments in [["help"] + command, command + ["--help"]] {
            let output = try ConvertTests.vhdtool(arguments)
            #expect(output.status == 0, "\(arguments): \(output.stderr)")
            #expect(output.stdout.contains("USAGE: vhdtool \(command.joined(separator: " "))"), "\(arguments): \(output.stdout.prefix(300))")
        }
    }

    /// The top-level help lists the gallery's commands beside the disk commands.
    @Test func topLevelHelpListsEveryCommand() throws {
        let output = try ConvertTests.vhdtool(["--help"])
        #expect(output.status == 0)
        for command in Self.commands where command.count == 1 {
            #expect(output.stdout.contains("  \(command[0]) "), "\(command[0]) missing from: \(output.stdout)")
        }
    }

    /// One completion script registers every command and subcommand, in each shell.
    @Test(arguments: ["bash", "zsh", "fish"])
    func oneCompletionScriptCoversEveryCommand(shell: String) throws {
        let output = try ConvertTests.vhdtool(["--generate-completion-script", shell])
        #expect(output.status == 0, "\(output.stderr)")
        for command in Set(Self.commands.flatMap { $0 }) {
            #expect(output.stdout.contains(command), "\(shell): '\(command)' is not in the completion script")
        }
        // Options of the gallery's commands complete too.
        for option in ["target-region", "os-type", "store", "allow-replica-deletion"] {
            #expect(output.stdout.contains(option), "\(shell): '\(option)' is not in the completion script")
        }
    }

    /// `vhdtool-gallery --generate-completion-script` prints vhdtool's script (it execs the
    /// vhdtool beside it): the disk commands too, not only the gallery's half.
    @Test(arguments: ["bash", "zsh", "fish"])
    func galleryProgramPrintsTheSameCompletionScript(shell: String) throws {
        let vhdtool = try #require(ExternalTool.vhdtool, "vhdtool is not built")
        let gallery = URL(fileURLWithPath: vhdtool).deletingLastPathComponent().appendingPathComponent("vhdtool-gallery").path
        try #require(FileManager.default.isExecutableFile(atPath: gallery), "vhdtool-gallery is not built")
        let expected = try ConvertTests.vhdtool(["--generate-completion-script", shell])
        let output = try ExternalTool.run(gallery, ["--generate-completion-script", shell])
        #expect(output.status == 0, "\(output.stderr)")
        for command in Set(Self.commands.flatMap { $0 }) {
            #expect(output.stdout.contains(command), "\(shell): '\(command)' is not in vhdtool-gallery's completion script")
        }
        #expect(output.stdout == expected.stdout, "\(shell): the two programs print different scripts")
    }

    /// Bad arguments to a gallery command are found by vhdtool itself (exit 64, usage of the
    /// command), before anything runs.
    @Test(arguments: [
        (["gallery", "update", "g"], "only --description may change"),
        (["definition", "create", "d", "--gallery", "g", "--publisher", "p", "--offer", "o", "--sku", "s",
          "--os-type", "beos", "--os-state", "generalized"], "--os-type"),
        (["version", "create", "1.0.0", "--gallery", "g"], "--definition"),
        (["region", "add"], "<name>"),
    ])
    func galleryArgumentErrorsAreReported(arguments: [String], mention: String) throws {
        let output = try ConvertTests.vhdtool(arguments + ["--store", "/nonexistent/vhdtool-help-test"])
        #expect(output.status == 64, "\(arguments): \(output.stdout) \(output.stderr)")
        #expect(output.stderr.contains(mention), "\(arguments): \(output.stderr)")
        #expect(output.stderr.contains("Usage: vhdtool \(arguments[0]) \(arguments[1])"), "\(arguments): \(output.stderr)")
    }

    /// vhdtool alone (no vhdtool-gallery beside it) still knows the gallery's commands: their
    /// help and argument errors come from its own command tree; running one needs the other program.
    @Test func vhdtoolAloneKnowsTheGalleryCommands() throws {
        let vhdtool = URL(fileURLWithPath: try #require(ExternalTool.vhdtool, "vhdtool is not built"))
        // A hard link beside the build folder, not a copy: a copy's descriptor open for writing,
        // inherited by a child another test spawns meanwhile, would make exec fail (ETXTBSY).
        let folder = vhdtool.deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("vhdtool-alone-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let alone = folder.appendingPathComponent("vhdtool").path
        try FileManager.default.linkItem(atPath: vhdtool.path, toPath: alone)
        let help = try ExternalTool.run(alone, ["help", "version", "create"])
        #expect(help.status == 0 && help.stdout.contains("USAGE: vhdtool version create"), "\(help.stdout) \(help.stderr)")
        let bad = try ExternalTool.run(alone, ["gallery", "update", "g"])
        #expect(bad.status == 64 && bad.stderr.contains("only --description may change"), "\(bad.stderr)")
        let run = try ExternalTool.run(alone, ["gallery", "list", "--store", folder.appendingPathComponent("store").path])
        #expect(run.status == 1 && run.stderr.contains("vhdtool-gallery"), "\(run.stderr)")
    }
}
