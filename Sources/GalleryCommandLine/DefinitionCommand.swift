import ArgumentParser
import CommandLineSupport
import GalleryVocabulary

/// `vhdtool definition create|show|list|update|delete`.
package struct DefinitionCommand: ParsableCommand {
    package static let configuration = CommandConfiguration(
        commandName: "definition", abstract: "Manage image definitions: what a family of image versions is.",
        subcommands: [Create.self, Show.self, List.self, Update.self, Delete.self])

    package init() {}

    /// Which definition: its name and gallery.
    package struct Where: ParsableArguments {
        @Argument(help: "The image definition's name.") package var name: String
        @Option(help: "The gallery.") package var gallery: String

        package init() {}
    }

    /// The optional fields of create that update may also change.
    package struct Changeable: ParsableArguments {
        @Option(help: "A description.") package var description: String?
        @Option(help: "End of life: YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ, in the future (informational).")
        package var endOfLifeDate: String?
        @Option(help: "The release notes' URI.") package var releaseNoteUri: String?
        @Option(name: .customLong("tag"), help: ArgumentHelp("A tag KEY=VALUE; repeat for more.", valueName: "key=value"))
        package var tags: [String] = []
        @Option(name: .customLong("min-vcpu"), help: "Recommended minimum vCPUs.") package var minVCPUs: Int?
        @Option(name: .customLong("max-vcpu"), help: "Recommended maximum vCPUs.") package var maxVCPUs: Int?
        @Option(help: "Recommended minimum memory: MB, or a size (2G).") package var minMemory: String?
        @Option(help: "Recommended maximum memory: MB, or a size (8G).") package var maxMemory: String?

        package init() {}

        /// A bad `--tag` is a usage error, found before the command runs (as in `vhdtool tag`).
        package func validate() throws {
            _ = try TagArguments.parse(tags)
        }
    }

    /// `vhdtool definition create NAME --gallery G --publisher P --offer O --sku S --os-type T --os-state S`.
    package struct Create: ParsableCommand {
        package static let configuration = CommandConfiguration(commandName: "create", abstract: "Create an image definition in a gallery.")
        @OptionGroup package var place: Where
        @Option(help: "Publisher (at most 128 letters, digits, '-', '_', '.').") package var publisher: String
        @Option(help: "Offer (at most 64).") package var offer: String
        @Option(help: "SKU (at most 64).") package var sku: String
        @Option(help: "linux or windows.") package var osType: Choice<OSType>
        @Option(help: "generalized or specialized.") package var osState: Choice<OSState>
        @Option(help: "V1 (BIOS) or V2 (UEFI); default V1.") package var hyperVGeneration: Choice<HyperVGeneration>?
        @Option(help: "x64 or arm64; default x64.") package var architecture: Choice<Architecture>?
        @Option(help: "The EULA.") package var eula: String?
        @Option(help: "The privacy statement's URI.") package var privacyStatementUri: String?
        @OptionGroup package var changeable: Changeable
        @Option(name: .customLong("disallowed-disk-type"), help: "A disk type VMs from these images may not use; repeat for more.")
        package var disallowedDiskTypes: [String] = []
        @Option(help: "Purchase plan name.") package var planName: String?
        @Option(help: "Purchase plan publisher.") package var planPublisher: String?
        @Option(help: "Purchase plan product.") package var planProduct: String?
        @OptionGroup package var store: StoreOptions
        @OptionGroup package var output: OutputOptions

        package init() {}
        package func run() throws { try GalleryCommandLine.run(self) }
    }

    /// `vhdtool definition show NAME --gallery G`.
    package struct Show: ParsableCommand {
        package static let configuration = CommandConfiguration(commandName: "show", abstract: "Show an image definition.")
        @OptionGroup package var place: Where
        @OptionGroup package var store: StoreOptions
        @OptionGroup package var output: OutputOptions

        package init() {}
        package func run() throws { try GalleryCommandLine.run(self) }
    }

    /// `vhdtool definition list --gallery G`.
    package struct List: ParsableCommand {
        package static let configuration = CommandConfiguration(commandName: "list", abstract: "List a gallery's image definitions.")
        @Option(help: "The gallery.") package var gallery: String
        @OptionGroup package var store: StoreOptions
        @OptionGroup package var output: OutputOptions

        package init() {}
        package func run() throws { try GalleryCommandLine.run(self) }
    }

    /// `vhdtool definition update NAME --gallery G ...`: the immutable fields are hidden options,
    /// so that giving one says it cannot change rather than that it is unknown.
    package struct Update: ParsableCommand {
        package static let configuration = CommandConfiguration(
            commandName: "update",
            abstract: "Change what may change: recommended vCPUs and memory, description, end of life, release notes, tags.",
            discussion: "Publisher, offer, SKU, OS type, OS state, Hyper-V generation, architecture, EULA, privacy statement and purchase plan cannot change.")
        @OptionGroup package var place: Where
        @OptionGroup package var changeable: Changeable
        @Flag(help: "Remove every tag (before adding those given).") package var clearTags = false
        @Option(help: .hidden) package var publisher: String?
        @Option(help: .hidden) package var offer: String?
        @Option(help: .hidden) package var sku: String?
        @Option(help: .hidden) package var osType: String?
        @Option(help: .hidden) package var osState: String?
        @Option(help: .hidden) package var hyperVGeneration: String?
        @Option(help: .hidden) package var architecture: String?
        @Option(help: .hidden) package var eula: String?
        @Option(help: .hidden) package var privacyStatementUri: String?
        @Option(help: .hidden) package var planName: String?
        @Option(help: .hidden) package var planPublisher: String?
        @Option(help: .hidden) package var planProduct: String?
        @OptionGroup package var store: StoreOptions
        @OptionGroup package var output: OutputOptions

        package init() {}
        package func run() throws { try GalleryCommandLine.run(self) }
    }

    /// `vhdtool definition delete NAME --gallery G`.
    package struct Delete: ParsableCommand {
        package static let configuration = CommandConfiguration(commandName: "delete", abstract: "Delete an image definition that has no versions.")
        @OptionGroup package var place: Where
        @OptionGroup package var store: StoreOptions

        package init() {}
        package func run() throws { try GalleryCommandLine.run(self) }
    }
}
