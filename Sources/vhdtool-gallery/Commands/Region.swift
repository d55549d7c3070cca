import ArgumentParser
import CommandLineSupport
import GalleryCommandLine
import ImageGallery

extension RegionCommand.Add: GalleryCommandImplementation {
    func perform() throws {
        try galleryCommand {
            let region = try store.run(creating: true) { try $0.addRegion(name, path: path, makeDefault: `default`) }
            try output.print(RegionJSON(region)) { "Added region \($0.name) at \($0.path)\($0.isDefault ? " (default)" : "")\n" }
        }
    }
}

extension RegionCommand.List: GalleryCommandImplementation {
    func perform() throws {
        try galleryCommand {
            let regions = try store.run { try $0.regions() }
            try output.print(regions.map(RegionJSON.init)) { list in
                list.map { "\($0.name)\t\($0.path)\($0.isDefault ? "\t(default)" : "")\n" }.joined()
            }
        }
    }
}

extension RegionCommand.Remove: GalleryCommandImplementation {
    func perform() throws {
        try galleryCommand { try store.run { try $0.removeRegion(name) } }
    }
}

extension RegionCommand.SetDefault: GalleryCommandImplementation {
    func perform() throws {
        try galleryCommand { try store.run { try $0.setDefaultRegion(name) } }
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
