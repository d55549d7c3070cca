import ArgumentParser
import SystemPackage
import VHD

extension VHDTool {
    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show every field of a VHD's footer, header, BAT and parent locators, with checksums and warnings.",
            discussion: """
                Bad checksums are reported, not fatal. Exits non-zero with one sentence on stderr \
                when the file is not a VHD or is broken beyond reading.
                """)

        @Argument(help: "The image to inspect.", completion: .file(extensions: ["vhd"]))
        var image: String

        @Flag(help: "Also list the block allocation table.")
        var bat = false

        @OptionGroup var output: OutputOptions

        func run() throws {
            let options = OpenOptions(checksumPolicy: .ignore, nowInUnixSeconds: currentUnixTime())
            let report = try DiskImage.withOpened(at: FilePath(image), options: options) { disk in
                guard let layout = disk.layout else {
                    throw VHDError(path: image, .notAVHD(reason: "no \"conectix\" footer at its end or start (it would be read as a raw disk)"))
                }
                return InspectionReport(layout: layout, path: image, includeTable: bat)
            }
            try output.print(report, text: InspectText.render)
        }
    }
}

/// The text form of an inspection report.
enum InspectText {
    static func render(_ report: InspectionReport) -> String {
        var lines = AlignedLines()
        lines.add("File", report.path)
        lines.add("Format", "VHD \(report.formatVersion), \(report.diskType)")
        lines.add("Virtual size", bytesText(report.virtualSize))
        lines.add("CHS geometry", "\(report.geometry.cylinders)/\(report.geometry.heads)/\(report.geometry.sectorsPerTrack) = \(bytesText(report.chsSize))")
        if report.qemuVirtualSize != report.virtualSize {
            lines.add("qemu-img reads", bytesText(report.qemuVirtualSize))
        }
        lines.add("Original size", bytesText(report.originalSize))
        lines.add("File size", bytesText(report.fileSize))
        lines.add("Creator", "\"\(report.creatorApplication)\" version \(report.creatorVersion) on \"\(report.creatorHostOS)\"")
        lines.add("Unique ID", report.uniqueId)
        lines.add("Created", report.timestamp)
        lines.add("Saved state", report.savedState ? "yes" : "no")
        lines.add("Features", hex(report.features))
        if report.diskType == "fixed" {
            lines.add("Data offset", report.dataOffset == .max ? "none (all ones)" : "\(report.dataOffset)")
        }
        lines.add("Footer", checksummed(report.footer) + " (\(report.footerLocation))")
        if let copy = report.footerCopy { lines.add("Footer copy", checksummed(copy)) }
        if let header = report.header { lines.add("Dynamic header", checksummed(header)) }
        if let blockSize = report.blockSize { lines.add("Block size", bytesText(blockSize)) }
        if let offset = report.tableOffset, let entries = report.maxTableEntries {
            lines.add("BAT", "\(entries) entries at offset \(offset)")
        }
        if let allocated = report.allocatedBlocks { lines.add("Allocated blocks", "\(allocated)") }
        if let bitmap = report.sectorBitmapSize { lines.add("Sector bitmap", "\(bitmap) bytes per block") }
        if let parent = report.parent {
            lines.add("Parent name", parent.name)
            lines.add("Parent UUID", parent.uuid)
            lines.add("Parent time", parent.timestamp)
            for locator in parent.locators {
                lines.add(
                    "Locator \(locator.index)",
                    "\(locator.platformCode) \(locator.path.map { "\"\($0)\"" } ?? "(binary)") "
                        + "(\(locator.dataLength) bytes at offset \(locator.dataOffset), space \(locator.dataSpace))")
            }
        }
        lines.add("Azure-ready", report.azureReady ? "yes" : "no")
        var text = lines.text
        if let bat = report.bat {
            text += "\nBlock allocation table (block: bitmap sector, file offset):\n"
            var unallocated = 0
            for (index, entry) in bat.enumerated() {
                guard let sector = entry else {
                    unallocated += 1
                    continue
                }
                text += "  \(index): sector \(sector), offset \(UInt64(sector) * 512)\n"
            }
            text += "  \(unallocated) of \(bat.count) blocks unallocated\n"
        }
        if !report.warnings.isEmpty {
            text += "\nWarnings:\n" + report.warnings.map { "  - \($0)\n" }.joined()
        }
        return text
    }

    static func checksummed(_ structure: InspectionReport.Checksummed) -> String {
        "offset \(structure.offset), checksum \(hex(structure.checksum)) "
            + (structure.checksumValid ? "(valid)" : "(WRONG: bytes sum to \(hex(structure.computedChecksum)))")
    }

    static func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
    }
}
