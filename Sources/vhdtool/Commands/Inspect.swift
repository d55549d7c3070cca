import ArgumentParser
import CommandLineSupport
import SystemPackage
import VHD

extension VHDTool {
    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "inspect",
            abstract: "Show every field of a VHD's footer, header, BAT and parent locators (a VHDX's headers, regions, metadata and log), with checksums and warnings.",
            discussion: """
                Bad checksums are reported, not fatal. Exits non-zero with one sentence on stderr \
                when the file is not a VHD or is broken beyond reading.
                """)

        @Argument(help: "The image to inspect.", completion: .file(extensions: ["vhd"]))
        var image: String

        @Flag(help: "Also list the block allocation table.")
        var bat = false

        @Flag(help: "Take no lock and ignore other programs' (like qemu-img info -U): inspect a disk that QEMU is writing.")
        var noLock = false

        @OptionGroup var output: OutputOptions

        func run() throws {
            let options = OpenOptions(checksumPolicy: .ignore, nowInUnixSeconds: currentUnixTime())
            let path = FilePath(image)
            // One open serves the layout and the contents: the chain's first layer is the file
            // itself. Only when the chain does not open (a parent missing or refused, or the file
            // itself broken) is the file opened again alone: its layout is still reported, with
            // why its contents were not read, and a file broken beyond reading fails here.
            var inspection: Inspection
            do {
                inspection = try Disk.withOpened(at: path, options: DiskOptions(open: options, locking: !noLock)) { disk in
                    var inspection = Inspection(disk.layers[0].image, path: image, includeTable: bat)
                    if inspection.isImage { inspection.add(contents(of: disk)) }
                    return inspection
                }
            } catch {
                inspection = try DiskImage.withOpened(at: path, options: options, locking: !noLock) { opened in
                    Inspection(opened, path: image, includeTable: bat)
                }
                inspection.add((nil, nil, ["the disk's contents were not read: \(error)"]))
            }
            switch inspection {
            case let .vhd(report): try output.print(report, text: InspectText.render)
            case let .vhdx(report): try output.print(report, text: VHDXInspectText.render)
            case .raw:
                throw VHDError(path: image, .notAVHD(reason: "no \"conectix\" footer at its end or start (it would be read as a raw disk)"))
            }
        }

        /// The report of one opened image, before its contents are added.
        enum Inspection {
            case vhd(InspectionReport)
            case vhdx(VHDXInspectionReport)
            /// Neither a VHD nor a VHDX: nothing to inspect.
            case raw

            init(_ image: DiskImage, path: String, includeTable: Bool) {
                switch image.contents {
                case let .vhd(layout): self = .vhd(InspectionReport(layout: layout, path: path, includeTable: includeTable))
                case let .vhdx(layout): self = .vhdx(VHDXInspectionReport(layout: layout, path: path, includeTable: includeTable))
                case .raw: self = .raw
                }
            }

            var isImage: Bool {
                if case .raw = self { return false }
                return true
            }

            /// Adds the partition layout, the tag and their warnings (after the layout's own).
            mutating func add(_ contents: (layout: DiskLayout?, tag: TagReport?, warnings: [String])) {
                switch self {
                case var .vhd(report):
                    (report.layout, report.tag) = (contents.layout, contents.tag)
                    report.warnings += contents.warnings
                    self = .vhd(report)
                case var .vhdx(report):
                    (report.layout, report.tag) = (contents.layout, contents.tag)
                    report.warnings += contents.warnings
                    self = .vhdx(report)
                case .raw:
                    break
                }
            }
        }

        /// The disk's contents and its tag, read through the chain. Neither stops the
        /// inspection: what cannot be read becomes a warning.
        func contents(of disk: Disk) -> (layout: DiskLayout?, tag: TagReport?, warnings: [String]) {
            let path = FilePath(image)
            var result: (layout: DiskLayout?, tag: TagReport?, warnings: [String]) = (nil, nil, [])
            do {
                let layout = try DiskLayoutProbe.probe(disk)
                result.layout = layout
                result.warnings += layout.warnings.map { "partition table: \($0)" }
                do {
                    if let record = try ImageTagFile.read(for: path) {
                        let tag = TagReport(
                            file: ImageTagFile.path(for: path).string, record: record,
                            freshness: try record.freshness(for: disk), layout: layout)
                        result.tag = tag
                        result.warnings += tag.warnings
                    }
                } catch {
                    result.warnings.append("the tag was not read: \(error)")
                }
            } catch {
                result.warnings.append("the disk's contents were not read: \(error)")
            }
            return result
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
        if let layout = report.layout { addLayout(layout, to: &lines) }
        if let tag = report.tag { TagText.add(tag, to: &lines) }
        var text = lines.text
        if let partitions = report.layout?.partitions, !partitions.isEmpty { text += "\n" + partitionTable(partitions) }
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

    static func addLayout(_ layout: DiskLayout, to lines: inout AlignedLines) {
        var scheme = layout.scheme.rawValue.uppercased()
        if let identifier = layout.diskIdentifier { scheme += ", disk identifier \(identifier)" }
        if let valid = layout.backupHeaderValid { scheme += valid ? ", backup header valid" : ", backup header DAMAGED" }
        lines.add("Partition table", layout.scheme == .none ? "none" : scheme)
        if let filesystem = layout.filesystem { lines.add("Filesystem", filesystem.rawValue) }
        lines.add("Suggested OS", (layout.suggestedOSType?.tagName ?? "unknown") + (layout.suggestedOSDetail.map { " (\($0))" } ?? ""))
        lines.add("Suggested Hyper-V", layout.suggestedHyperVGeneration?.tagName ?? "unknown")
    }

    /// One line per partition, in columns.
    static func partitionTable(_ partitions: [Partition]) -> String {
        let rows = [["#", "Start", "Size", "Type", "Name", "Boot", "Filesystem"]] + partitions.map { partition in
            ["\(partition.index)", "\(partition.start)", humanSize(partition.size),
             partition.typeName.map { "\($0) (\(partition.type))" } ?? partition.type,
             partition.name ?? "", partition.bootable ? "*" : "", partition.filesystem.rawValue]
        }
        let widths = (0..<7).map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            let cells = row.enumerated().map { column, cell in cell + String(repeating: " ", count: widths[column] - cell.count) }
            return "  " + String(cells.joined(separator: "  ").reversed().drop { $0 == " " }.reversed()) + "\n"
        }.joined()
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
