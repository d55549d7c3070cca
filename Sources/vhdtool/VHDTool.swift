import ArgumentParser
import CommandLineSupport
import GalleryCommandLine
import VHD

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

@main
struct VHDTool: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vhdtool",
        abstract: "Inspect, read, convert, write, resize, compact, merge, repair, digest, tag and publish Microsoft VHD disk images.",
        discussion: """
            The image gallery's commands run in vhdtool-gallery, installed beside vhdtool.
            """,
        version: PackageVersion.current,
        subcommands: [
            Inspect.self, Check.self, Map.self, Convert.self, Create.self, Write.self, Occupied.self, Digest.self, Tag.self,
            Repair.self, Resize.self, Compact.self, Merge.self, Reparent.self,
        ],
        // Declared here too (help, completion scripts, argument errors), run by vhdtool-gallery.
        groupedSubcommands: [CommandGroup(name: "Image gallery", subcommands: GalleryCommandLine.commands)])

    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        // A gallery command parsed here runs in vhdtool-gallery, whose catalog needs Foundation:
        // this program execs it with the same arguments.
        GalleryCommandLine.runner = { _ in runGallery(arguments) }
        // INT, TERM and HUP remove the partial files of every command (see Interruption).
        PartialFiles.prepare()
        Interruption.installCleanup { PartialFiles.removeAll() }
        do {
            var command = try parseAsRoot(arguments)
            try command.run()
        } catch let error as VHDError {
            // The library's words, and the flag that helps.
            Terminal.standardError("Error: \(ErrorWording.sentence(for: error))\n")
            Self.exit(withError: ExitCode(1))
        } catch {
            Self.exit(withError: error)
        }
    }

    /// Replaces this process with `vhdtool-gallery` from the same folder, with the same
    /// arguments; returns only if that fails (after saying why).
    static func runGallery(_ arguments: [String]) -> Never {
        var buffer = [CChar](repeating: 0, count: 4096)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        let executable = length > 0 ? String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self) : CommandLine.arguments[0]
        let folder = executable.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        let gallery = (folder.isEmpty ? "." : folder) + "/vhdtool-gallery"
        let argv = ([gallery] + arguments).map { strdup($0) } + [nil]
        execv(gallery, argv)
        Terminal.standardError("Error: the gallery commands need \(gallery) (\(String(cString: strerror(errno))))\n")
        Self.exit(withError: ExitCode(1))
    }
}
