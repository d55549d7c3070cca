import ArgumentParser
import CommandLineSupport
import ImageGallery

extension VHDTool {
    struct GalleryCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "gallery", abstract: "Manage galleries: named containers of image definitions.",
            subcommands: [Create.self, Show.self, List.self, Update.self, Delete.self])

        struct Create: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Create a gallery.")
            @Argument(help: "At most 80 letters, digits, '_', '-', '.'; not ending in '.' or '-'.") var name: String
            @Option(help: "What the gallery holds.") var description: String?
            @OptionGroup var store: StoreOptions
            @OptionGroup var output: OutputOptions

            func run() throws {
                try galleryCommand {
                    let gallery = try store.run(creating: true) { try $0.createGallery(name, description: description) }
                    try output.print(AzureShape.GalleryJSON(gallery)) { text($0) }
                }
            }
        }

        struct Show: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Show a gallery.")
            @Argument var name: String
            @OptionGroup var store: StoreOptions
            @OptionGroup var output: OutputOptions

            func run() throws {
                try galleryCommand {
                    let gallery = try store.run { try $0.gallery(name) }
                    try output.print(AzureShape.GalleryJSON(gallery)) { text($0) }
                }
            }
        }

        struct List: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "List the galleries.")
            @OptionGroup var store: StoreOptions
            @OptionGroup var output: OutputOptions

            func run() throws {
                try galleryCommand {
                    let galleries = try store.run { try $0.galleries() }
                    try output.print(galleries.map(AzureShape.GalleryJSON.init)) { list in
                        list.map { "\($0.name)\($0.description.map { "\t\($0)" } ?? "")\n" }.joined()
                    }
                }
            }
        }

        struct Update: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Change a gallery's description (the one field that may change).")
            @Argument var name: String
            @Option(help: "The new description (empty clears it).") var description: String?
            @OptionGroup var store: StoreOptions
            @OptionGroup var output: OutputOptions

            func validate() throws {
                if description == nil { throw ValidationError("nothing to update: only --description may change") }
            }

            func run() throws {
                try galleryCommand {
                    let gallery = try store.run { try $0.updateGallery(name, description: description?.isEmpty == true ? nil : description) }
                    try output.print(AzureShape.GalleryJSON(gallery)) { text($0) }
                }
            }
        }

        struct Delete: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Delete an empty gallery.")
            @Argument var name: String
            @OptionGroup var store: StoreOptions

            func run() throws {
                try galleryCommand { try store.run { try $0.deleteGallery(name) } }
            }
        }
    }
}

private func text(_ gallery: AzureShape.GalleryJSON) -> String {
    var lines = AlignedLines()
    lines.add("Gallery", gallery.name)
    lines.add("Description", gallery.description ?? "-")
    return lines.text
}
