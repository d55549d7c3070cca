import ArgumentParser
import CommandLineSupport
import GalleryCommandLine
import ImageGallery

extension GalleryCommand.Create: GalleryCommandImplementation {
    func perform() throws {
        try galleryCommand {
            let gallery = try store.run(creating: true) { try $0.createGallery(name, description: description) }
            try output.print(AzureShape.GalleryJSON(gallery)) { text($0) }
        }
    }
}

extension GalleryCommand.Show: GalleryCommandImplementation {
    func perform() throws {
        try galleryCommand {
            let gallery = try store.run { try $0.gallery(name) }
            try output.print(AzureShape.GalleryJSON(gallery)) { text($0) }
        }
    }
}

extension GalleryCommand.List: GalleryCommandImplementation {
    func perform() throws {
        try galleryCommand {
            let galleries = try store.run { try $0.galleries() }
            try output.print(galleries.map(AzureShape.GalleryJSON.init)) { list in
                list.map { "\($0.name)\($0.description.map { "\t\($0)" } ?? "")\n" }.joined()
            }
        }
    }
}

extension GalleryCommand.Update: GalleryCommandImplementation {
    func perform() throws {
        try galleryCommand {
            let gallery = try store.run { try $0.updateGallery(name, description: description?.isEmpty == true ? nil : description) }
            try output.print(AzureShape.GalleryJSON(gallery)) { text($0) }
        }
    }
}

extension GalleryCommand.Delete: GalleryCommandImplementation {
    func perform() throws {
        try galleryCommand { try store.run { try $0.deleteGallery(name) } }
    }
}

private func text(_ gallery: AzureShape.GalleryJSON) -> String {
    var lines = AlignedLines()
    lines.add("Gallery", gallery.name)
    lines.add("Description", gallery.description ?? "-")
    return lines.text
}
