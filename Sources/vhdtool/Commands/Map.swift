import ArgumentParser
import CommandLineSupport
import SystemPackage
import VHD

extension VHDTool {
    struct Map: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show where each range of the virtual disk comes from, like qemu-img map.",
            discussion: """
                Each extent is data (stored in the file at depth 0, or in a parent at depth 1, 2, ...) \
                or zero (reads as zeros: an unallocated block, a clear sector-bitmap bit, a host-file hole).
                """)

        @Argument(help: "The disk (raw or VHD; a differencing disk is read through its parents).")
        var image: String

        @OptionGroup var opening: DiskOpeningOptions
        @OptionGroup var output: OutputOptions

        /// One line of `map --json`, with qemu-img map's keys.
        struct Entry: Encodable {
            var start: UInt64
            var length: UInt64
            var data: Bool
            var zero: Bool
            var depth: Int
            var offset: Int64?
        }

        func run() throws {
            let (entries, files) = try Disk.withOpened(at: FilePath(image), options: opening.diskOptions) { disk in
                let entries = try disk.extents().map { extent in
                    switch extent.source {
                    case let .zero(layer):
                        Entry(start: extent.start, length: extent.length, data: false, zero: true, depth: layer, offset: nil)
                    case let .data(layer, hostOffset):
                        Entry(start: extent.start, length: extent.length, data: true, zero: false, depth: layer, offset: hostOffset)
                    }
                }
                return (entries, disk.layers.map(\.file.name))
            }
            try output.print(entries) { entries in
                var text = "Offset          Length          Mapped to       File\n"
                for entry in entries {
                    func column(_ value: String) -> String { value + String(repeating: " ", count: max(1, 16 - value.count)) }
                    let file = entry.depth < files.count ? files[entry.depth] : "-"
                    text += column(hexOffset(entry.start)) + column(hexOffset(entry.length))
                        + (entry.data ? column(hexOffset(UInt64(entry.offset ?? 0))) + file : column("zero") + "")
                        + "\n"
                }
                return text
            }
        }

        func hexOffset(_ value: UInt64) -> String { "0x" + String(value, radix: 16) }
    }
}
