import CommandLineSupport
import VHD

/// The text form of a VHDX inspection report.
enum VHDXInspectText {
    static func render(_ report: VHDXInspectionReport) -> String {
        var lines = AlignedLines()
        lines.add("File", report.path)
        lines.add("Format", "VHDX, \(report.diskType)")
        lines.add("Virtual size", bytesText(report.virtualSize))
        lines.add("File size", bytesText(report.fileSize))
        lines.add("Creator", "\"\(report.creator)\"")
        lines.add("Virtual disk ID", report.virtualDiskId)
        lines.add("Block size", bytesText(UInt64(report.blockSize)))
        lines.add("Sector size", "\(report.logicalSectorSize) logical, \(report.physicalSectorSize) physical")
        lines.add("BAT", "\(report.batEntries) entries (\(report.payloadBlocks) blocks, chunk ratio \(report.chunkRatio))")
        lines.add("Block states", report.blockStates.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", "))
        for header in report.headers {
            let name = "Header at \(header.offset)"
            guard header.valid else {
                lines.add(name, "DAMAGED: \(header.problem ?? "")")
                continue
            }
            lines.add(name, "sequence \(header.sequenceNumber ?? 0), CRC-32C \(InspectText.hex(header.checksum ?? 0)) (valid)\(header.current ? ", current" : "")")
            if header.current {
                lines.add("File write GUID", header.fileWriteGuid ?? "")
                lines.add("Data write GUID", header.dataWriteGuid ?? "")
                lines.add("Log GUID", header.logGuid ?? "")
                lines.add("Log", "\(bytesText(UInt64(header.logLength ?? 0))) at offset \(header.logOffset ?? 0): \(report.log)")
            }
        }
        for table in report.regionTables {
            let name = "Region table at \(table.offset)"
            guard table.valid else {
                lines.add(name, "DAMAGED: \(table.problem ?? "")")
                continue
            }
            lines.add(name, table.regions.map { "\($0.name ?? $0.guid) \(bytesText(UInt64($0.length))) at \($0.fileOffset)\($0.required ? " (required)" : "")" }.joined(separator: "; "))
        }
        lines.add("Metadata", "at offset \(report.metadataOffset): " + report.metadataItems.map { $0.name ?? $0.itemId }.joined(separator: ", "))
        if let parent = report.parent {
            for (key, value) in zip(parent.keys, parent.values) { lines.add("Parent \(key)", value) }
        }
        lines.add("Azure-ready", report.azureReady ? "yes" : "no")
        if let layout = report.layout { InspectText.addLayout(layout, to: &lines) }
        if let tag = report.tag { TagText.add(tag, to: &lines) }
        var text = lines.text
        if let partitions = report.layout?.partitions, !partitions.isEmpty { text += "\n" + InspectText.partitionTable(partitions) }
        if let bat = report.bat {
            text += "\nBlock allocation table (block: state, file offset):\n"
            for entry in bat where entry.fileOffset != nil || entry.state != "not present" {
                text += "  \(entry.block): \(entry.state)" + (entry.fileOffset.map { ", offset \($0)" } ?? "") + "\n"
            }
            text += "  \(bat.count { $0.state == "not present" }) of \(bat.count) blocks not present\n"
        }
        if !report.warnings.isEmpty {
            text += "\nWarnings:\n" + report.warnings.map { "  - \($0)\n" }.joined()
        }
        return text
    }
}
