import ArgumentParser
import CommandLineSupport
import ImageGallery

extension VHDTool {
    struct RegionCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "region", abstract: "Manage the store's regions: folders where replicas are stored.",
            subcommands: [Add.self, List.self, Remove.self, SetDefault.self])

        struct Add: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Add a region: a name and the folder its replicas go to (the first region added is the default).")
            @Argument(help: "The region's name (letters, digits, '_', '-', '.').") var name: String
            @Argument(help: "The folder (created if missing).", completion: .directory) var path: String
            @Flag(help: "Make it the default region.") var `default` = false
            @OptionGroup var store: StoreOptions
            @OptionGroup var output: OutputOptions

            func run() throws {
                try galleryCommand {
                    let region = try store.run(creating: true) { try $0.addRegion(name, path: path, makeDefault: `default`) }
                    try output.print(RegionJSON(region)) { "Added region \($0.name) at \($0.path)\($0.isDefault ? " (default)" : "")\n" }
                }
            }
        }

        struct List: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "List the regions.")
            @OptionGroup var store: StoreOptions
            @OptionGroup var output: OutputOptions

            func run() throws {
                try galleryCommand {
                    let regions = try store.run { try $0.regions() }
                    try output.print(regions.map(RegionJSON.init)) { list in
                        list.map { "\($0.name)\t\($0.path)\($0.isDefault ? "\t(default)" : "")\n" }.joined()
                    }
                }
            }
        }

        struct Remove: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Remove a region (refused while image versions keep replicas there; its folder is left).")
            @Argument var name: String
            @OptionGroup var store: StoreOptions

            func run() throws {
                try galleryCommand { try store.run { try $0.removeRegion(name) } }
            }
        }

        struct SetDefault: ParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "set-default", abstract: "Make a region the one versions go to without --target-region.")
            @Argument var name: String
            @OptionGroup var store: StoreOptions

            func run() throws {
                try galleryCommand { try store.run { try $0.setDefaultRegion(name) } }
            }
        }
    }
}

struct RegionJSON: Encodable {
    var name: String
    var path: String
    var isDefault: Bool

    init(_ region: Region) {
        name = region.name
        path = region.path
        isDefault = region.isDefault
    }
}
