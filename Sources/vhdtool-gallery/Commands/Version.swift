import ArgumentParser
import CommandLineSupport
import ImageGallery
import Synchronization
import VHD

extension VHDTool {
    struct VersionCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "version",
            abstract: "Manage image versions: local VHDs published under a definition and replicated to regions.",
            subcommands: [Create.self, List.self, Show.self, Latest.self, Update.self, Delete.self, Replicate.self, Cost.self])

        struct Definition: ParsableArguments {
            @Option(help: "The gallery.") var gallery: String
            @Option(help: "The image definition.") var definition: String
        }

        struct Where: ParsableArguments {
            @Argument(help: "The version, MAJOR.MINOR.PATCH.") var version: String
            @OptionGroup var definition: Definition
        }

        /// Options create and update share.
        struct Publishing: ParsableArguments {
            @Option(name: .customLong("target-region"), help: ArgumentHelp(
                "A region to replicate to: NAME, NAME=COUNT, NAME=TYPE or NAME=COUNT=TYPE; repeat for more (default: the store's default region).",
                valueName: "region"))
            var targetRegions: [String] = []
            @Option(help: "Replicas in a region that does not give a count (1 to 100; default 1).") var replicaCount: Int?
            @Option(name: .customLong("region-exclude-from-latest"), help: ArgumentHelp(
                "NAME[=true|false|default]: exclude from latest in one region (overrides the version's flag; 'default' clears).",
                valueName: "region[=flag]"))
            var regionFlags: [String] = []
            @Option(help: "End of life: YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ, in the future (informational).") var endOfLifeDate: String?
            @Option(name: .customLong("tag"), help: ArgumentHelp("A tag KEY=VALUE; repeat for more.", valueName: "key=value"))
            var tags: [String] = []
            @Flag(name: .shortAndLong, help: "Print no progress.") var quiet = false

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

        struct Create: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Publish local VHDs as a new image version and replicate it.",
                discussion: """
                    Everything is checked before anything is recorded or copied: the version name, the regions and \
                    replica counts, each disk (a VHD or a raw image of whole 512-byte sectors, at least 1 MiB, opens with \
                    its structural checks, under 2 TiB, not given twice, LUNs 0 to 63 and unique) and the OS disk's OS \
                    state against the definition. The version is recorded with one replication job per replica, under \
                    this process's lease; then the jobs run (regions in parallel), each replica checked against the \
                    recorded content digest. Exit 5 when a region failed (the version is recorded; 'version replicate' \
                    resumes it).
                    """)
            @OptionGroup var place: Where
            @Option(help: "The OS disk (VHD or raw).") var osVhd: String
            @Option(name: .customLong("data-vhd"), help: ArgumentHelp(
                "A data disk, FILE or FILE=LUN (default LUN: its position); repeat for more.", valueName: "file[=lun]"))
            var dataVhds: [String] = []
            @Option(help: "Storage account type of a region that does not give one: Standard_LRS (default), Standard_ZRS, Premium_LRS.")
            var storageAccountType: String?
            @Flag(help: "Never resolve 'latest' to this version (unless a region says otherwise).") var excludeFromLatest = false
            @Option(help: "The OS disk's OS state when it carries no tag: generalized or specialized.")
            var osState: Choice<GalleryOSState>?
            @Flag(help: "Take a source named .vhd that holds no VHD as a raw image.") var raw = false
            @OptionGroup var publishing: Publishing
            @OptionGroup var store: StoreOptions
            @OptionGroup var output: OutputOptions

            func run() throws {
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
                    let display = RegionProgress(quiet: publishing.quiet)
                    let details = try store.run { store in
                        try store.createVersion(
                            request, gallery: place.definition.gallery, definition: place.definition.definition,
                            warn: { Terminal.standardError("Warning: \(GalleryWording.sentence(for: $0))\n") }, progress: display.update,
                            isCancelled: { Interruption.isRequested })
                    }
                    display.finish()
                    try output.print(AzureShape.VersionJSON(details)) { versionText($0) }
                    try failIfReplicationFailed(details)
                }
            }

            func parseDataDisk(_ argument: String) -> DataDiskArgument {
                if let equals = argument.lastIndex(of: "="), let lun = Int(argument[argument.index(after: equals)...]) {
                    return DataDiskArgument(path: String(argument[..<equals]), lun: lun)
                }
                return DataDiskArgument(path: argument)
            }
        }

        struct List: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "List a definition's versions, highest first.")
            @OptionGroup var definition: Definition
            @OptionGroup var store: StoreOptions
            @OptionGroup var output: OutputOptions

            func run() throws {
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

        struct Show: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Show a version: disks, target regions, replication state and progress per region.",
                discussion: "--verify checks every replica of the Completed regions against the recorded content digest; a region with a missing or changed replica is marked Failed (exit 5).")
            @OptionGroup var place: Where
            @Flag(help: "Check that every replica is there with the recorded content.") var verify = false
            @OptionGroup var store: StoreOptions
            @OptionGroup var output: OutputOptions

            func run() throws {
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

        struct Latest: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Show the version 'latest' resolves to.",
                discussion: """
                    In a region: the highest version (numerically, MAJOR then MINOR then PATCH) not excluded from latest \
                    there (a region's own flag overrides the version's) whose replication there is Completed. Without \
                    --region: the highest version not excluded that is Completed in at least one region. End of life \
                    does not exclude a version.
                    """)
            @OptionGroup var definition: Definition
            @Option(help: "The region a deployment would run in.") var region: String?
            @OptionGroup var store: StoreOptions
            @OptionGroup var output: OutputOptions

            func run() throws {
                try galleryCommand {
                    let details = try store.run {
                        try $0.latestVersion(gallery: definition.gallery, definition: definition.definition, region: region)
                    }
                    try output.print(AzureShape.VersionJSON(details)) { versionText($0) }
                }
            }
        }

        struct Update: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Change what may change: replica counts, target regions, exclude-from-latest, end of life, tags.",
                discussion: """
                    --add-region and --remove-region change the list of target regions; --target-region replaces the \
                    whole list. The first target region (the version's source, its location) cannot be removed; a region \
                    that holds replicas is removed only with --allow-replica-deletion, and its replicas are deleted. A \
                    region added or given more replicas is replicated now; a region's storage account type cannot \
                    change. --replica-count alone sets every region's count. The disks, LUNs and content never change. \
                    A version another process creates, updates, replicates or deletes is refused (exit 3) unless --wait.
                    """)
            @OptionGroup var place: Where
            @Option(name: .customLong("add-region"), help: ArgumentHelp(
                "A region to add: NAME, NAME=COUNT, NAME=TYPE or NAME=COUNT=TYPE; repeat for more.", valueName: "region"))
            var addRegions: [String] = []
            @Option(name: .customLong("remove-region"), help: ArgumentHelp(
                "A region to remove (never the first, the version's source region); repeat for more.", valueName: "name"))
            var removeRegions: [String] = []
            @Flag(help: "Let a removed region's replicas be deleted (without it, removing a region that holds replicas is refused).")
            var allowReplicaDeletion = false
            @Flag(help: "When another process holds the version, wait for it instead of refusing.") var wait = false
            @Flag(inversion: .prefixedNo, help: "Exclude the version from latest, or include it again.") var excludeFromLatest: Bool?
            @Flag(help: "Remove every tag (before adding those given).") var clearTags = false
            @OptionGroup var publishing: Publishing
            @Option(help: .hidden) var osVhd: String?
            @Option(name: .customLong("data-vhd"), help: .hidden) var dataVhds: [String] = []
            @Option(help: .hidden) var storageAccountType: String?
            @OptionGroup var store: StoreOptions
            @OptionGroup var output: OutputOptions

            func run() throws {
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
                    let display = RegionProgress(quiet: publishing.quiet)
                    let details = try store.run { store in
                        if clearTags || !newTags.isEmpty {
                            let current = try store.version(place.version, gallery: place.definition.gallery, definition: place.definition.definition)
                            update.tags = (clearTags ? [:] : current.version.tags).merging(newTags) { $1 }
                        }
                        return try store.updateVersion(
                            place.version, gallery: place.definition.gallery, definition: place.definition.definition, update,
                            progress: display.update, isCancelled: { Interruption.isRequested }, wait: wait)
                    }
                    display.finish()
                    try output.print(AzureShape.VersionJSON(details)) { versionText($0) }
                    try failIfReplicationFailed(details)
                }
            }
        }

        struct Delete: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Delete a version and its replicas.",
                discussion: "A version another process creates, updates or replicates is refused (exit 3) unless --wait; one whose process is gone is taken over.")
            @OptionGroup var place: Where
            @Flag(help: "When another process holds the version, wait for it instead of refusing.") var wait = false
            @OptionGroup var store: StoreOptions

            func run() throws {
                try galleryCommand {
                    try store.run {
                        try $0.deleteVersion(place.version, gallery: place.definition.gallery, definition: place.definition.definition, wait: wait)
                    }
                }
            }
        }

        struct Replicate: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Make the replicas a version is missing: every region not Completed (Failed, interrupted, new).",
                discussion: """
                    Failed jobs are tried again; a done replica whose file is missing or has another size than recorded \
                    is made again (--verify on 'version show' checks content digests). Several 'replicate' runs share \
                    the jobs. A version a create, update or delete of another live process holds is refused (exit 3) \
                    unless --wait; one whose process is gone is taken over.
                    """)
            @OptionGroup var place: Where
            @Flag(name: .shortAndLong, help: "Print no progress.") var quiet = false
            @Flag(help: "When another process holds the version, wait for it instead of refusing.") var wait = false
            @OptionGroup var store: StoreOptions
            @OptionGroup var output: OutputOptions

            func run() throws {
                Interruption.install()
                try galleryCommand {
                    let display = RegionProgress(quiet: quiet)
                    let details = try store.run { store in
                        try store.replicate(
                            gallery: place.definition.gallery, definition: place.definition.definition, version: place.version,
                            progress: display.update, isCancelled: { Interruption.isRequested }, wait: wait)
                    }
                    display.finish()
                    try output.print(AzureShape.VersionJSON(details)) { versionText($0) }
                    try failIfReplicationFailed(details)
                }
            }
        }

        struct Cost: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "What a version's snapshots cost as it stands: occupied sizes, snapshots, bytes stored and egress.",
                discussion: "Each replica is billed as a snapshot of the disks' occupied size; each region but the first (the source) receives one copy across regions.")
            @OptionGroup var place: Where
            @OptionGroup var store: StoreOptions
            @OptionGroup var output: OutputOptions

            func run() throws {
                try galleryCommand {
                    let (details, cost) = try store.run { store in
                        let details = try store.version(place.version, gallery: place.definition.gallery, definition: place.definition.definition)
                        return (details, try store.cost(of: details))
                    }
                    try output.print(CostReport(details: details, cost: cost)) { $0.text }
                }
            }
        }
    }
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
