import ArgumentParser

@main
struct VHDTool: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vhdtool",
        abstract: "Inspect, read, convert, write, repair, digest, tag and publish Microsoft VHD disk images.",
        subcommands: [
            Inspect.self, Check.self, Map.self, Convert.self, Create.self, Write.self, Occupied.self, Digest.self, Tag.self,
            Repair.self, RegionCommand.self, GalleryCommand.self, DefinitionCommand.self, VersionCommand.self,
        ])
}
