import ArgumentParser
import CommandLineSupport

/// `vhdtool region|gallery|definition|version|store ...`: the image gallery's commands, a program of
/// their own (vhdtool runs it) because the catalog's GRDB loads Foundation.
@main
struct VHDTool: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vhdtool",
        abstract: "The image gallery: regions, galleries, image definitions and image versions.",
        version: PackageVersion.current,
        subcommands: [RegionCommand.self, GalleryCommand.self, DefinitionCommand.self, VersionCommand.self, StoreCommand.self])
}
