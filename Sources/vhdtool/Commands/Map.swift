import ArgumentParser
import CommandLineSupport
import SystemPackage
import VHD

extension VHDTool {
    struct Map: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "map",
            abstract: "Show where each range of the virtual disk comes from, like qemu-img map.",
            discussion: """
                Each extent is data (stored in the file at depth 0, or in a parent at depth 1, 2, ...) \
                or zero (reads as zeros: an unallocated block, a clear sector-bitmap bit, a host-file hole).
                """)

        @Argument(help: "The disk (raw or VHD; a differencing disk is read through its parents).")
        var image: String

        @OptionGroup var opening: DiskOpeningOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            // Streamed: a disk can have billions of extents (alternating sector-bitmap bits),
            // so each is printed as the walk finds it and none is kept.
            var out = BufferedOutput()
            defer { out.flush() }
            try Disk.withOpened(at: FilePath(image), options: opening.diskOptions) { disk in
                let files = disk.layers.map(\.file.name)
                var first = true
                if output.json {
                    out.write("[\n")
                } else {
                    out.write("Offset          Length          Mapped to       File\n")
                }
                try disk.forEachExtent { extent in
                    out.write(output.json ? jsonEntry(extent, first: first) : textLine(extent, files: files))
                    first = false
                }
                if output.json { out.write("\n]\n") }
            }
        }

        /// One element of `map --json`, with qemu-img map's keys, as JSONEncoder would print
        /// it in a pretty-printed array with sorted keys (the offset only for data).
        func jsonEntry(_ extent: Extent, first: Bool) -> String {
            var text = first ? "  {\n" : ",\n  {\n"
            switch extent.source {
            case let .zero(layer):
                text += "    \"data\" : false,\n    \"depth\" : \(layer),\n    \"length\" : \(extent.length),\n"
            case let .data(layer, hostOffset):
                text += "    \"data\" : true,\n    \"depth\" : \(layer),\n    \"length\" : \(extent.length),\n"
                text += "    \"offset\" : \(hostOffset),\n"
            }
            text += "    \"start\" : \(extent.start),\n    \"zero\" : \(!extent.isData)\n  }"
            return text
        }

        /// One line of the text table.
        func textLine(_ extent: Extent, files: [String]) -> String {
            func column(_ value: String) -> String { value + String(repeating: " ", count: max(1, 16 - value.count)) }
            switch extent.source {
            case .zero:
                return column(hexOffset(extent.start)) + column(hexOffset(extent.length)) + column("zero") + "\n"
            case let .data(layer, hostOffset):
                let file = layer < files.count ? files[layer] : "-"
                return column(hexOffset(extent.start)) + column(hexOffset(extent.length))
                    + column(hexOffset(UInt64(hostOffset))) + file + "\n"
            }
        }

        func hexOffset(_ value: UInt64) -> String { "0x" + String(value, radix: 16) }
    }
}
