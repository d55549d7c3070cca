import ArgumentParser
import CommandLineSupport

/// `vhdtool region add|list|remove|set-default`.
package struct RegionCommand: ParsableCommand {
    package static let configuration = CommandConfiguration(
        commandName: "region", abstract: "Manage the store's regions: folders where replicas are stored.",
        subcommands: [Add.self, List.self, Remove.self, SetDefault.self])

    package init() {}

    /// `vhdtool region add NAME PATH`.
    package struct Add: ParsableCommand {
        package static let configuration = CommandConfiguration(
            commandName: "add",
            abstract: "Add a region: a name and the folder its replicas go to (the first region added is the default).")
        @Argument(help: "The region's name (letters, digits, '_', '-', '.').") package var name: String
        @Argument(help: "The folder (created if missing).", completion: .directory) package var path: String
        @Flag(help: "Make it the default region.") package var `default` = false
        @OptionGroup package var store: StoreOptions
        @OptionGroup package var output: OutputOptions

        package init() {}
        package func run() throws { try GalleryCommandLine.run(self) }
    }

    /// `vhdtool region list`.
    package struct List: ParsableCommand {
        package static let configuration = CommandConfiguration(commandName: "list", abstract: "List the regions.")
        @OptionGroup package var store: StoreOptions
        @OptionGroup package var output: OutputOptions

        package init() {}
        package func run() throws { try GalleryCommandLine.run(self) }
    }

    /// `vhdtool region remove NAME`.
    package struct Remove: ParsableCommand {
        package static let configuration = CommandConfiguration(
            commandName: "remove",
            abstract: "Remove a region (refused while image versions keep replicas there; its folder is left).")
        @Argument package var name: String
        @OptionGroup package var store: StoreOptions

        package init() {}
        package func run() throws { try GalleryCommandLine.run(self) }
    }

    /// `vhdtool region set-default NAME`.
    package struct SetDefault: ParsableCommand {
        package static let configuration = CommandConfiguration(
            commandName: "set-default", abstract: "Make a region the one versions go to without --target-region.")
        @Argument package var name: String
        @OptionGroup package var store: StoreOptions

        package init() {}
        package func run() throws { try GalleryCommandLine.run(self) }
    }
}
