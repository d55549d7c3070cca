import ArgumentParser

@main
struct VHDTool: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vhdtool",
        abstract: "Inspect, read and convert Microsoft VHD disk images.",
        subcommands: [
            Inspect.self, Map.self, Convert.self, Create.self, Occupied.self, Repair.self, RegionCommand.self,
            GalleryCommand.self, DefinitionCommand.self, VersionCommand.self,
        ])
}
