import ArgumentParser

@main
struct VHDTool: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vhdtool",
        abstract: "Inspect, read and convert Microsoft VHD disk images.",
        subcommands: [Inspect.self, Map.self, Convert.self, Create.self, Resize.self, Compact.self, Merge.self, Reparent.self])
}
