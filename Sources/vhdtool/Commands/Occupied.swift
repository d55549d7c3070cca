import ArgumentParser
import CommandLineSupport
import SystemPackage
import VHD

extension VHDTool {
    struct Occupied: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "occupied",
            abstract: "Show how much of each disk is occupied, and what snapshots of an image made of them cost.",
            discussion: """
                Non-zero is the occupied size snapshots are billed on: the bytes of the granules (512 bytes \
                by default, the page of an Azure page blob; 4M models AzCopy) that hold a non-zero byte, read \
                through a differencing disk's parents. Allocated is what the container backs (a fixed disk's \
                stored host ranges; a dynamic disk's blocks x block size); written, the sectors set in a dynamic \
                or differencing disk's own sector bitmaps. With --target-region, the cost of replicating the \
                disks as one image version: snapshots, bytes stored and egress (the first region is the source).
                """)

        @Argument(help: "The disks of the image (raw or VHD), e.g. the OS disk and its data disks.")
        var images: [String]

        @Option(help: ArgumentHelp(
            "Granule size for non-zero bytes: a power of two from 512 to 64M, or 'block' (the disk's block size).",
            valueName: "size|block"))
        var granularity: String = "512"

        @Option(name: .customLong("target-region"), help: ArgumentHelp(
            "A region to replicate to: NAME, NAME=COUNT, NAME=TYPE or NAME=COUNT=TYPE (TYPE: Standard_LRS, "
                + "Standard_ZRS, Premium_LRS). Repeat for each region.",
            valueName: "region"))
        var targetRegions: [String] = []

        @Option(help: "Replicas in a region whose count is not given (1 to 100).")
        var replicaCount: Int = 1

        @Flag(name: .shortAndLong, help: "Print no progress.")
        var quiet = false

        @OptionGroup var opening: DiskOpeningOptions
        @OptionGroup var output: OutputOptions

        func validate() throws {
            if images.isEmpty { throw ValidationError("give at least one disk") }
            if opening.parentPath != nil && images.count > 1 {
                throw ValidationError("--parent names the parent of one disk; give one disk with it")
            }
            _ = try parsedGranularity()
            _ = try regions()
        }

        func parsedGranularity() throws -> OccupiedSize.Granularity {
            if granularity.lowercased() == "block" { return .block }
            guard let size = ByteSize(argument: granularity) else {
                throw ValidationError("'\(granularity)' is not a size (bytes, or a number with K, M, G or T) or 'block'")
            }
            do {
                return try OccupiedSize.Granularity(bytes: size.bytes)
            } catch {
                throw ValidationError(error.description)
            }
        }

        func regions() throws -> [TargetRegion] {
            do {
                return try TargetRegion.parseList(targetRegions, defaultReplicaCount: replicaCount)
            } catch {
                throw ValidationError(error.description)
            }
        }

        func run() throws {
            Interruption.install()
            let granularity = try parsedGranularity()
            let regions = try regions()
            var rows: [Report.Disk] = []
            for image in images {
                let progress = ProgressLine(quiet: quiet)
                defer { progress.finish() }
                let options = CopyOptions(
                    progress: { progress.update(done: $0, total: $1) }, isCancelled: { Interruption.isRequested })
                let size = try Disk.withOpened(at: FilePath(image), options: opening.diskOptions) { disk in
                    try OccupiedSize.measure(disk, granularity: granularity, options: options)
                }
                rows.append(Report.Disk(path: image, size: size))
            }
            let sizes = rows.map(\.size)
            let total = try OccupiedTotal(sizes)
            let cost = regions.isEmpty ? nil : try SnapshotCost(occupiedBytes: sizes.map(\.nonZeroBytes), regions: regions)
            try output.print(Report(disks: rows, total: total, cost: cost)) { $0.text }
        }
    }
}

/// What `occupied` prints: JSON {disks, total, cost}, with explicit nulls.
private struct Report: Encodable {
    struct Disk: Encodable {
        var path: String
        var size: OccupiedSize

        enum CodingKeys: String, CodingKey {
            case path, virtualSize, fileSize, hostAllocatedBytes, allocatedBytes, writtenBytes, nonZeroBytes, granularity
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(path, forKey: .path)
            try container.encode(size.virtualSize, forKey: .virtualSize)
            try container.encode(size.fileSize, forKey: .fileSize)
            try container.encode(size.hostAllocatedBytes, forKey: .hostAllocatedBytes)
            try container.encode(size.allocatedBytes, forKey: .allocatedBytes)
            try container.encode(size.writtenBytes, forKey: .writtenBytes)  // null for fixed and raw
            try container.encode(size.nonZeroBytes, forKey: .nonZeroBytes)
            try container.encode(size.granularity, forKey: .granularity)
        }
    }

    var disks: [Disk]
    var total: OccupiedTotal
    var cost: SnapshotCost?

    enum CodingKeys: String, CodingKey { case disks, total, cost }
    enum TotalKeys: String, CodingKey {
        case disks, virtualSize, fileSize, hostAllocatedBytes, allocatedBytes, writtenBytes, nonZeroBytes
    }
    enum CostKeys: String, CodingKey { case snapshots, storedBytes, egressBytes, regions }
    enum RegionKeys: String, CodingKey { case name, replicas, storageType, storedBytes, egressBytes }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(disks, forKey: .disks)
        var totals = container.nestedContainer(keyedBy: TotalKeys.self, forKey: .total)
        try totals.encode(total.diskCount, forKey: .disks)
        try totals.encode(total.virtualSize, forKey: .virtualSize)
        try totals.encode(total.fileSize, forKey: .fileSize)
        try totals.encode(total.hostAllocatedBytes, forKey: .hostAllocatedBytes)
        try totals.encode(total.allocatedBytes, forKey: .allocatedBytes)
        try totals.encode(total.writtenBytes, forKey: .writtenBytes)
        try totals.encode(total.nonZeroBytes, forKey: .nonZeroBytes)
        guard let cost else { return try container.encodeNil(forKey: .cost) }
        var costs = container.nestedContainer(keyedBy: CostKeys.self, forKey: .cost)
        try costs.encode(cost.snapshots, forKey: .snapshots)
        try costs.encode(cost.storedBytes, forKey: .storedBytes)
        try costs.encode(cost.egressBytes, forKey: .egressBytes)
        var list = costs.nestedUnkeyedContainer(forKey: .regions)
        for region in cost.regions {
            var entry = list.nestedContainer(keyedBy: RegionKeys.self)
            try entry.encode(region.name, forKey: .name)
            try entry.encode(region.replicas, forKey: .replicas)
            try entry.encode(region.storageType.rawValue, forKey: .storageType)
            try entry.encode(region.storedBytes, forKey: .storedBytes)
            try entry.encode(region.egressBytes, forKey: .egressBytes)
        }
    }

    /// A table of the disks and their total, then the cost block.
    var text: String {
        let granules = Set(disks.map(\.size.granularity))
        let granuleText = granules.count == 1 ? humanSize(UInt64(granules.first!)) : "mixed"
        var table = [["Disk", "Virtual", "File", "On host", "Allocated", "Written", "Non-zero (\(granuleText))"]]
        func row(_ name: String, _ virtual: UInt64, _ file: UInt64, _ host: UInt64, _ allocated: UInt64, _ written: UInt64?, _ nonZero: UInt64) -> [String] {
            [name, humanSize(virtual), humanSize(file), humanSize(host), humanSize(allocated), written.map(humanSize) ?? "-", humanSize(nonZero)]
        }
        for disk in disks {
            let size = disk.size
            table.append(row(disk.path, size.virtualSize, size.fileSize, size.hostAllocatedBytes, size.allocatedBytes, size.writtenBytes, size.nonZeroBytes))
        }
        if disks.count > 1 {
            table.append(row("Total", total.virtualSize, total.fileSize, total.hostAllocatedBytes, total.allocatedBytes, total.writtenBytes, total.nonZeroBytes))
        }
        var text = columns(table)
        text += "\nOccupied size (billed): \(bytesText(total.nonZeroBytes))\n"
        guard let cost else { return text }
        text += "\n" + columns([["Region", "Replicas", "Storage type", "Stored", "Egress"]] + cost.regions.map {
            [$0.name, "\($0.replicas)", $0.storageType.rawValue, humanSize($0.storedBytes), humanSize($0.egressBytes)]
        })
        var lines = AlignedLines()
        lines.add("Snapshots", "\(cost.snapshots)")
        lines.add("Stored", bytesText(cost.storedBytes) + " (occupied size x replicas)")
        lines.add("Egress", bytesText(cost.egressBytes) + " (occupied size x \(cost.regions.count - 1) other regions)")
        return text + "\n" + lines.text
    }

    /// Rows of cells as columns: the first left-aligned, the others right-aligned.
    func columns(_ rows: [[String]]) -> String {
        let widths = rows[0].indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { cells in
            cells.enumerated().map { column, cell in
                let padding = String(repeating: " ", count: widths[column] - cell.count)
                return column == 0 ? cell + padding : padding + cell
            }.joined(separator: "  ").trimmingTrailingSpaces + "\n"
        }.joined()
    }
}

extension String {
    fileprivate var trimmingTrailingSpaces: String {
        String(reversed().drop { $0 == " " }.reversed())
    }
}
