import ArgumentParser
import CommandLineSupport
import GalleryCommandLine
import ImageGallery
import Synchronization
import VHD

extension VersionCommand.Publishing {
    /// The per-region flags; nil clears a region's own flag.
    func parsedRegionFlags() throws -> [String: Bool?] {
        var flags: [String: Bool?] = [:]
        for argument in regionFlags {
            let parts = argument.split(separator: "=", maxSplits: 1).map(String.init)
            switch parts.count == 2 ? parts[1].lowercased() : "true" {
            case "true": flags[parts[0]] = .some(true)
            case "false": flags[parts[0]] = .some(false)
            case "default": flags[parts[0]] = .some(nil)
            default: throw ValidationError("--region-exclude-from-latest '\(argument)': the flag must be true, false or default")
            }
        }
        return flags
    }
}

extension VersionCommand.Create: GalleryCommandImplementation {
    func perform() throws {
        Interruption.install()
        try galleryCommand {
            var request = VersionRequest(name: place.version, osDisk: osVhd)
            request.dataDisks = dataVhds.map(parseDataDisk)
            request.targetRegions = publishing.targetRegions
            request.replicaCount = publishing.replicaCount
            if let text = storageAccountType {
                guard let type = StorageAccountType(caseInsensitive: text) else {
                    throw ValidationError("'\(text)' is not a storage account type (\(choices(StorageAccountType.self)))")
                }
                request.storageAccountType = type
            }
            request.excludeFromLatest = excludeFromLatest
            for (region, flag) in try publishing.parsedRegionFlags() { if let flag { request.regionExcludeFromLatest[region] = flag } }
            request.endOfLifeDate = publishing.endOfLifeDate
            request.tags = try NameRules.parseTags(publishing.tags)
            request.osState = osState?.value
            request.allowRaw = raw
            request.leaveReplicationToWorkers = noWait
            try replicating(store, output, quiet: publishing.quiet) { store, display in
                try store.createVersion(
                    request, gallery: place.definition.gallery, definition: place.definition.definition,
                    warn: { Terminal.standardError("Warning: \(GalleryWording.sentence(for: $0))\n") }, progress: display.update,
                    isCancelled: { Interruption.isRequested })
            }
        }
    }

    func parseDataDisk(_ argument: String) -> DataDiskArgument {
        if let equals = argument.lastIndex(of: "="), let lun = Int(argument[argument.index(after: equals)...]) {
            return DataDiskArgument(path: String(argument[..<equals]), lun: lun)
        }
        return DataDiskArgument(path: argument)
    }
}

extension VersionCommand.List: GalleryCommandImplementation {
    func perform() throws {
        try galleryCommand {
            let versions = try store.run { try $0.versions(gallery: definition.gallery, definition: definition.definition) }
            let states = Dictionary(versions.map { ($0.version.name, $0.provisioningText) }) { first, _ in first }
            try output.print(versions.map(AzureShape.VersionJSON.init)) { list in
                list.map { version in
                    let regions = version.replicationStatus.summary.map { "\($0.region):\($0.state)" }.joined(separator: " ")
                    return "\(version.name)\t\(states[version.name] ?? version.provisioningState)\t\(regions)\(version.publishingProfile.excludeFromLatest ? "\texcluded from latest" : "")\n"
                }.joined()
            }
        }
    }
}

extension VersionCommand.Show: GalleryCommandImplementation {
    func perform() throws {
        try galleryCommand {
            let (details, problems) = try store.run { store in
                if verify {
                    return try store.verify(gallery: place.definition.gallery, definition: place.definition.definition, version: place.version)
                }
                return (try store.version(place.version, gallery: place.definition.gallery, definition: place.definition.definition), [])
            }
            try output.print(AzureShape.VersionJSON(details)) { versionText($0, provisioning: details.provisioningText) }
            for problem in problems { Terminal.standardError("Replica problem: \(problem)\n") }
            if !problems.isEmpty {
                throw GalleryExit(GalleryError(.replication, "\(problems.count) replica\(problems.count == 1 ? " is" : "s are") missing or changed; 'vhdtool version replicate' remakes them"))
            }
        }
    }
}

extension VersionCommand.Latest: GalleryCommandImplementation {
    func perform() throws {
        try galleryCommand {
            let details = try store.run {
                try $0.latestVersion(gallery: definition.gallery, definition: definition.definition, region: region)
            }
            try output.print(AzureShape.VersionJSON(details)) { versionText($0) }
        }
    }
}

extension VersionCommand.Update: GalleryCommandImplementation {
    func perform() throws {
        Interruption.install()
        try galleryCommand {
            if osVhd != nil || !dataVhds.isEmpty {
                throw GalleryExit(GalleryError(.rule, "the disks of a published image version cannot change: adding data disks, changing a LUN or a source is not allowed"))
            }
            if storageAccountType != nil {
                throw GalleryExit(GalleryError(.rule, "the storage account type of an image version is not updatable"))
            }
            var update = VersionUpdate()
            update.targetRegions = publishing.targetRegions.isEmpty ? nil : publishing.targetRegions
            update.addRegions = addRegions
            update.removeRegions = removeRegions
            update.allowReplicaDeletion = allowReplicaDeletion
            update.replicaCount = publishing.replicaCount
            update.excludeFromLatest = excludeFromLatest
            update.regionExcludeFromLatest = try publishing.parsedRegionFlags()
            if let value = publishing.endOfLifeDate { update.endOfLifeDate = .some(value.isEmpty ? nil : value) }
            let newTags = try NameRules.parseTags(publishing.tags)
            try replicating(store, output, quiet: publishing.quiet) { store, display in
                if clearTags || !newTags.isEmpty {
                    let current = try store.version(place.version, gallery: place.definition.gallery, definition: place.definition.definition)
                    update.tags = (clearTags ? [:] : current.version.tags).merging(newTags) { $1 }
                }
                return try store.updateVersion(
                    place.version, gallery: place.definition.gallery, definition: place.definition.definition, update,
                    progress: display.update, isCancelled: { Interruption.isRequested }, wait: wait)
            }
        }
    }
}

extension VersionCommand.Delete: GalleryCommandImplementation {
    func perform() throws {
        try galleryCommand {
            try store.run {
                try $0.deleteVersion(place.version, gallery: place.definition.gallery, definition: place.definition.definition, wait: wait)
            }
        }
    }
}

extension VersionCommand.Replicate: GalleryCommandImplementation {
    func perform() throws {
        Interruption.install()
        try galleryCommand {
            guard let version, let gallery, let definition else { return try runWorker() }
            try replicating(store, output, quiet: quiet) { store, display in
                try store.replicate(
                    gallery: gallery, definition: definition, version: version,
                    progress: display.update, isCancelled: { Interruption.isRequested }, wait: wait)
            }
        }
    }
}

extension VersionCommand.Cost: GalleryCommandImplementation {
    func perform() throws {
        try galleryCommand {
            let (details, cost) = try store.run { store in
                let details = try store.version(place.version, gallery: place.definition.gallery, definition: place.definition.definition)
                return (details, try store.cost(of: details))
            }
            try output.print(CostReport(details: details, cost: cost)) { $0.text }
        }
    }
}

/// What `version create`, `update` and `replicate` share: `body` runs on the store with the
/// replication progress drawn on stderr, then the version is printed, and the command exits 5
/// when a region failed.
private func replicating(
    _ store: StoreOptions, _ output: OutputOptions, quiet: Bool, _ body: (GalleryStore, RegionProgress) throws -> VersionDetails
) throws {
    let display = RegionProgress(quiet: quiet)
    let details = try store.run { try body($0, display) }
    display.finish()
    try output.print(AzureShape.VersionJSON(details)) { versionText($0) }
    try failIfReplicationFailed(details)
}

/// Exit 5 when a region of the version failed.
private func failIfReplicationFailed(_ details: VersionDetails) throws {
    let failed = details.regions.filter { $0.target.state == .failed }
    guard !failed.isEmpty else { return }
    throw GalleryExit(GalleryError(.replication, "replication failed in \(failed.map { "'\($0.region.name)'" }.joined(separator: ", ")): \(failed[0].target.details ?? "no reason recorded"); 'vhdtool version replicate' resumes it"))
}

private func versionText(_ version: AzureShape.VersionJSON, provisioning: String? = nil) -> String {
    var lines = AlignedLines()
    lines.add("Image version", version.name)
    lines.add("Provisioning", provisioning ?? version.provisioningState)
    lines.add("Published", version.publishingProfile.publishedDate)
    lines.add("Exclude from latest", version.publishingProfile.excludeFromLatest ? "yes" : "no")
    if let value = version.publishingProfile.endOfLifeDate { lines.add("End of life", value) }
    lines.add("Tags", tagsText(version.tags))
    let disks = [version.storageProfile.osDiskImage] + version.storageProfile.dataDiskImages
    for disk in disks {
        lines.add(disk.lun.map { "Data disk LUN \($0)" } ?? "OS disk",
                  "\(disk.source.uri.dropFirst(7)), \(humanSize(disk.virtualSize)), occupied \(humanSize(disk.occupiedBytes)), \(disk.digest)")
    }
    lines.add("Replication", version.replicationStatus.aggregatedState)
    for (target, status) in zip(version.publishingProfile.targetRegions, version.replicationStatus.summary) {
        lines.add("  \(target.name)", "\(status.state) \(status.progress)%, \(target.regionalReplicaCount) x \(target.storageAccountType)"
            + (target.excludeFromLatest ? ", excluded from latest" : "") + (status.details.map { " (\($0))" } ?? ""))
    }
    return lines.text
}

/// `version cost`: the version's disks and the cost block of `occupied`.
private struct CostReport: Encodable {
    struct DiskJSON: Encodable {
        var lun: Int?
        var virtualSize: UInt64
        var occupiedBytes: UInt64
    }

    struct RegionJSON: Encodable {
        var name: String
        var replicas: Int
        var storageType: String
        var storedBytes: UInt64
        var egressBytes: UInt64
    }

    struct CostJSON: Encodable {
        var snapshots: Int
        var storedBytes: UInt64
        var egressBytes: UInt64
        var regions: [RegionJSON]
    }

    var name: String
    var disks: [DiskJSON]
    var occupiedBytes: UInt64
    var cost: CostJSON

    init(details: VersionDetails, cost: SnapshotCost) {
        name = details.version.name
        disks = details.disks.map { DiskJSON(lun: $0.lun, virtualSize: $0.virtualSize, occupiedBytes: $0.occupiedBytes) }
        occupiedBytes = details.disks.reduce(0) { $0 + $1.occupiedBytes }
        self.cost = CostJSON(
            snapshots: cost.snapshots, storedBytes: cost.storedBytes, egressBytes: cost.egressBytes,
            regions: cost.regions.map {
                RegionJSON(name: $0.name, replicas: $0.replicas, storageType: $0.storageType.rawValue, storedBytes: $0.storedBytes, egressBytes: $0.egressBytes)
            })
    }

    var text: String {
        var lines = AlignedLines()
        for disk in disks {
            lines.add(disk.lun.map { "Data disk LUN \($0)" } ?? "OS disk", "\(humanSize(disk.virtualSize)), occupied \(bytesText(disk.occupiedBytes))")
        }
        lines.add("Occupied size (billed)", bytesText(occupiedBytes))
        for region in cost.regions {
            lines.add("  \(region.name)", "\(region.replicas) x \(region.storageType): stored \(bytesText(region.storedBytes)), egress \(bytesText(region.egressBytes))")
        }
        lines.add("Snapshots", "\(cost.snapshots)")
        lines.add("Stored", bytesText(cost.storedBytes) + " (occupied size x replicas)")
        lines.add("Egress", bytesText(cost.egressBytes) + " (occupied size x \(cost.regions.count - 1) other regions)")
        return lines.text
    }
}

/// Replication progress of every region on one stderr line, when stderr is a terminal, with the
/// rate and the time left over all regions.
final class RegionProgress: Sendable {
    private struct State {
        var regions: [String: (done: UInt64, total: UInt64, failed: Bool)] = [:]
        var drew = false
        var last: ContinuousClock.Instant?
        var started = ContinuousClock.now
        var startBytes: UInt64?
    }

    private let enabled: Bool
    private let state = Mutex(State())

    init(quiet: Bool) { enabled = !quiet && Terminal.standardErrorIsTerminal }

    var update: @Sendable (ReplicationEvent) -> Void {
        { [self] event in
            guard enabled else { return }
            state.withLock { state in
                let previous = state.regions[event.region]
                let done = event.state == .completed ? event.totalBytes : max(event.doneBytes, previous?.done ?? 0)
                state.regions[event.region] = (done, max(event.totalBytes, previous?.total ?? 0), event.state == .failed)
                let now = ContinuousClock.now
                if let last = state.last, now - last < .milliseconds(100), event.state == .replicating { return }
                state.last = now
                let allDone = state.regions.values.reduce(UInt64(0)) { $0 + $1.done }
                let allTotal = state.regions.values.reduce(UInt64(0)) { $0 + $1.total }
                if state.startBytes == nil { state.startBytes = allDone; state.started = now }
                let line = state.regions.sorted { $0.key < $1.key }.map { name, region in
                    "\(name) \(region.failed ? "failed" : "\(region.total == 0 ? 100 : Int(region.done * 100 / region.total))%")"
                }
                var tail = ""
                let seconds = Double((now - state.started).components.seconds) + Double((now - state.started).components.attoseconds) / 1e18
                if seconds > 0.5, allDone > (state.startBytes ?? 0) {
                    let rate = Double(allDone - (state.startBytes ?? 0)) / seconds
                    let left = rate > 0 ? Double(allTotal - min(allDone, allTotal)) / rate : 0
                    tail = "  \(humanSize(UInt64(rate)))/s, \(Int(left.rounded(.up))) s left"
                }
                Terminal.standardError("\r" + line.joined(separator: "  ") + tail + "  ")
                state.drew = true
            }
        }
    }

    func finish() {
        if state.withLock({ $0.drew }) { Terminal.standardError("\n") }
    }
}
