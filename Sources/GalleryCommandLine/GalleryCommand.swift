import ArgumentParser
import CommandLineSupport

/// `vhdtool gallery create|show|list|update|delete`.
package struct GalleryCommand: ParsableCommand {
    package static let configuration = CommandConfiguration(
        commandName: "gallery", abstract: "Manage galleries: named containers of image definitions.",
        subcommands: [Create.self, Show.self, List.self, Update.self, Delete.self])

    package init() {}

    /// `vhdtool gallery create NAME`.
    package struct Create: ParsableCommand {
        package static let configuration = CommandConfiguration(commandName: "create", abstract: "Create a gallery.")
        @Argument(help: "At most 80 letters, digits, '_', '-', '.'; not ending in '.' or '-'.") package var name: String
        @Option(help: "What the gallery holds.") package var description: String?
        @OptionGroup package var store: StoreOptions
        @OptionGroup package var output: OutputOptions

        package init() {}
        package func run() throws { try GalleryCommandLine.run(self) }
    }

    /// `vhdtool gallery show NAME`.
    package struct Show: ParsableCommand {
        package static let configuration = CommandConfiguration(commandName: "show", abstract: "Show a gallery.")
        @Argument package var name: String
        @OptionGroup package var store: StoreOptions
        @OptionGroup package var output: OutputOptions

        package init() {}
        package func run() throws { try GalleryCommandLine.run(self) }
    }

    /// `vhdtool gallery list`.
    package struct List: ParsableCommand {
        package static let configuration = CommandConfiguration(commandName: "list", abstract: "List the galleries.")
        @OptionGroup package var store: StoreOptions
        @OptionGroup package var output: OutputOptions

        package init() {}
        package func run() throws { try GalleryCommandLine.run(self) }
    }

    /// `vhdtool gallery update NAME --description TEXT`.
    package struct Update: ParsableCommand {
        package static let configuration = CommandConfiguration(commandName: "update", abstract: "Change a gallery's description (the one field that may change).")
        @Argument package var name: String
        @Option(help: "The new description (empty clears it).") package var description: String?
        @OptionGroup package var store: StoreOptions
        @OptionGroup package var output: OutputOptions

        package init() {}

        package func validate() throws {
            if description == nil { throw ValidationError("nothing to update: only --description may change") }
        }

        package func run() throws { try GalleryCommandLine.run(self) }
    }

    /// `vhdtool gallery delete NAME`.
    package struct Delete: ParsableCommand {
        package static let configuration = CommandConfiguration(commandName: "delete", abstract: "Delete an empty gallery.")
        @Argument package var name: String
        @OptionGroup package var store: StoreOptions

        package init() {}
        package func run() throws { try GalleryCommandLine.run(self) }
    }
}
