import SystemPackage
import VHD

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A data disk of a new version: a local file and its LUN (nil: its position among the data
/// disks, as `az sig` numbers them).
public struct DataDiskArgument: Sendable, Equatable {
    /// The data disk's local file: a VHD, a VHDX or (with ``VersionRequest/allowRaw``) a raw image.
    public var path: String
    /// The data disk's LUN, 0...63, unique in the version; nil numbers it by its position among the data
    /// disks.
    public var lun: Int?

    /// A data disk from `path`, at `lun`.
    ///
    /// - Parameters:
    ///   - path: The disk's local file.
    ///   - lun: The LUN (0...63), or nil to number it by position.
    public init(path: String, lun: Int? = nil) {
        self.path = path
        self.lun = lun
    }
}

/// What `version create` asks for.
public struct VersionRequest: Sendable, Equatable {
    /// The version's name: `MAJOR.MINOR.PATCH`, each part a number
    /// 0...2147483647 without leading zeros; unique in its definition.
    public var name: String
    /// The OS disk's local file: a VHD, a VHDX or (with ``allowRaw``) a raw image; at least 1 MiB, a
    /// whole number of 512-byte sectors, smaller than 2 TiB.
    public var osDisk: String
    /// The data disks, in the order given.
    public var dataDisks: [DataDiskArgument] = []
    /// `NAME[=COUNT[=TYPE]]`; empty: the store's default region.
    public var targetRegions: [String] = []
    /// The replica count of a region that does not give one (1 when nil).
    public var replicaCount: Int?
    /// The default storage account type of the version's regions; nil takes `Standard_LRS`.
    public var storageAccountType: StorageAccountType?
    /// Whether `latest` skips this version (false by default).
    public var excludeFromLatest = false
    /// Per-region exclude-from-latest, overriding the version's flag there.
    public var regionExcludeFromLatest: [String: Bool] = [:]
    /// The end of life (`YYYY-MM-DD` or `YYYY-MM-DDTHH:MM:SSZ`, UTC), or nil for none.
    public var endOfLifeDate: String?
    /// Resource tags (the same limits as a definition's ``DefinitionRequest/tags``).
    public var tags: [String: String] = [:]
    /// The OS state of an untagged OS disk (a tagged disk's tag must agree with it if given).
    public var osState: GalleryOSState?
    /// Take a source whose name ends in `.vhd` but holds no VHD as a raw image.
    public var allowRaw = false
    /// Record the version and its replication jobs and return at once, leaving the copies to
    /// replication workers (``GalleryStore/runWorker(regions:once:pollSeconds:events:isCancelled:)``):
    /// the version stays Creating until its last job is done.
    public var leaveReplicationToWorkers = false

    /// A request for version `name` of the OS disk `osDisk`, every other field at its default.
    ///
    /// - Parameters:
    ///   - name: The version's name (`MAJOR.MINOR.PATCH`).
    ///   - osDisk: The OS disk's local file.
    public init(name: String, osDisk: String) {
        self.name = name
        self.osDisk = osDisk
    }
}

/// What `version update` changes: only replica counts, target regions, exclude-from-latest
/// (globally and per region), end of life and tags. nil leaves a field as it is.
public struct VersionUpdate: Sendable, Equatable {
    /// Replaces the target regions (`NAME[=COUNT[=TYPE]]`); a region's storage type cannot change.
    public var targetRegions: [String]?
    /// The default replica count; without target regions, every region's count.
    public var replicaCount: Int?
    /// A new version-wide exclude-from-latest flag, or nil to leave it.
    public var excludeFromLatest: Bool?
    /// Per-region flags; a nil value clears the region's own flag.
    public var regionExcludeFromLatest: [String: Bool?] = [:]
    /// A new end of life (`YYYY-MM-DD` or `YYYY-MM-DDTHH:MM:SSZ`); `.some(nil)` clears it, nil leaves it.
    public var endOfLifeDate: String??
    /// Tags that replace all the current ones; nil leaves them.
    public var tags: [String: String]?
    /// Regions to add (`NAME[=COUNT[=TYPE]]`), after the current ones.
    public var addRegions: [String] = []
    /// Regions to remove; never the version's first (source) region.
    public var removeRegions: [String] = []
    /// Let a region that holds replicas be removed (Azure's `allowDeletionOfReplicatedLocations`).
    public var allowReplicaDeletion = false

    /// An update that changes nothing; set the fields to change.
    public init() {}
}

extension GalleryStore {
    /// Validates a new version completely, records it with its replication jobs under this
    /// process's lease, then runs the jobs (replicating to every target region) and releases
    /// the lease.
    ///
    /// Nothing is recorded or copied unless every check passes: the version name, the target
    /// regions and replica counts, the end of life, the disks (each a VHD or a raw image of whole
    /// sectors, at least 1 MiB, opens with its structural checks, is under 2 TiB, none repeated,
    /// LUNs 0...63 and unique) and their OS state, OS type and Hyper-V generation against the
    /// definition, and the store's limits.
    ///
    /// - Parameters:
    ///   - request: the version to create: its name, disks, target regions and settings.
    ///   - galleryName: the gallery that holds the definition.
    ///   - definitionName: the image definition the version belongs to.
    ///   - warn: called with what is doubtful but not refused (a probe that found nothing, a
    ///     disk Azure would not take as it is).
    ///   - progress: replication events (see ``replicate(gallery:definition:version:progress:isCancelled:wait:)``).
    ///   - isCancelled: polled while the disks are read and between and during replica copies;
    ///     returning true stops. Before the version is recorded, nothing is recorded; after,
    ///     the unfinished replicas are left pending for ``replicate(gallery:definition:version:progress:isCancelled:wait:)``
    ///     to make, and a replication error is thrown. nil: never cancelled.
    /// - Returns: the version as it stands after replication (regions may have Failed).
    /// - Throws: ``GalleryError`` for the first rule broken.
    public func createVersion(
        _ request: VersionRequest, gallery galleryName: String, definition definitionName: String,
        warn: (GalleryWarning) -> Void = { _ in }, progress: (@Sendable (ReplicationEvent) -> Void)? = nil,
        isCancelled: (@Sendable () -> Bool)? = nil
    ) throws(GalleryError) -> VersionDetails {
        let number = try VersionNumber(parsing: request.name)
        let targets = try Self.parseTargets(
            request.targetRegions, defaultCount: request.replicaCount ?? 1, defaultType: request.storageAccountType ?? .standardLRS)
        let endOfLife = try request.endOfLifeDate.map { (text) throws(GalleryError) in try GalleryDate.endOfLife(text).description }
        try NameRules.checkTags(request.tags)
        let disks = try Self.assignLUNs(request)
        try Self.refuseRepeatedFiles(disks)

        // The catalog side: everything named exists, nothing is taken, limits hold.
        let (definition, regions) = try read { db in
            let definition = try Self.definition(definitionName, gallery: galleryName, in: db)
            try Self.refuseTakenVersion(request.name, definition: definition, in: db)
            let regions = try Self.resolveTargets(targets, in: db)
            try Self.checkRegionFlags(request.regionExcludeFromLatest.keys, regions: regions.map(\.0))
            try checkVersionLimit(regions.map(\.0), in: db)
            return (definition, regions)
        }

        // The disks: open, measure, and match the definition.
        var facts: [(DiskFacts, path: String, lun: Int?)] = []
        for disk in disks {
            let fact = try DiskFacts.gather(path: FilePath(disk.path), allowRaw: request.allowRaw, options: CopyOptions(isCancelled: isCancelled))
            guard fact.virtualSize < limits.diskSizeLimit else {
                throw .rule("the disk '\(disk.path)' is \(fact.virtualSize) bytes; image disks must be smaller than 2 TiB (\(limits.diskSizeLimit) bytes)")
            }
            facts.append((fact, disk.path, disk.lun))
        }
        try Self.checkOSDisk(facts[0].0, path: facts[0].path, request: request, definition: definition, warn: warn)
        for (fact, path, _) in facts where !fact.azureProblems.isEmpty {
            warn(GalleryWarning("the disk '\(path)' is not ready for Azure as it is (\(fact.azureProblems.joined(separator: "; "))); the gallery's replicas are dynamic VHDs, which Azure does not take either", remedy: .convertForAzure))
        }

        let versionId: Int64 = try write { db in
            let definition = try Self.definition(definitionName, gallery: galleryName, in: db)
            try Self.refuseTakenVersion(request.name, definition: definition, in: db)
            let regions = try Self.resolveTargets(targets, in: db)
            try checkVersionLimit(regions.map(\.0), in: db)
            var version = ImageVersion(
                id: nil, definitionId: definition.id!, name: request.name, major: number.major, minor: number.minor,
                patch: number.patch, replicaCount: request.replicaCount ?? 1,
                storageAccountType: request.storageAccountType ?? .standardLRS, excludeFromLatest: request.excludeFromLatest,
                endOfLifeDate: endOfLife, tags: request.tags, publishedDate: GalleryDate.now.description,
                provisioningState: "Creating")
            version.setLease(.mine("creating"))
            try version.insert(db)
            var versionDisks: [VersionDisk] = []
            for (fact, path, lun) in facts {
                var disk = VersionDisk(
                    id: nil, versionId: version.id!, lun: lun, sourcePath: Self.absolute(FilePath(path)).string,
                    virtualSize: fact.virtualSize, occupiedBytes: fact.occupiedBytes, digest: fact.digest)
                try disk.insert(db)
                versionDisks.append(disk)
            }
            for (position, (region, target)) in regions.enumerated() {
                var row = VersionRegion(
                    id: nil, versionId: version.id!, regionId: region.id!, position: position, replicaCount: target.replicaCount,
                    storageAccountType: target.storageType,
                    excludeFromLatest: Self.flag(for: region, in: request.regionExcludeFromLatest),
                    state: .unknown, progress: 0, details: nil)
                try row.insert(db)
                try Self.insertJobs(version: version.id!, region: region.id!, disks: versionDisks, indices: 1...target.replicaCount, in: db)
            }
            return version.id!
        }
        if request.leaveReplicationToWorkers {
            releaseLease(version: versionId)
            guard let details = try details(versionId: versionId) else {
                throw .notFound("the image version '\(request.name)' was deleted as it was being recorded")
            }
            return details
        }
        return try finishWork(on: versionId, progress: progress, isCancelled: isCancelled)
    }

    /// Runs the version's jobs while this process holds its lease, then settles its state and
    /// releases the lease (also when replication fails or is cancelled).
    func finishWork(
        on versionId: Int64, progress: (@Sendable (ReplicationEvent) -> Void)?, isCancelled: (@Sendable () -> Bool)?
    ) throws(GalleryError) -> VersionDetails {
        do {
            try runJobs(version: versionId, progress: progress, isCancelled: isCancelled)
        } catch {
            _ = try? settle(version: versionId)
            releaseLease(version: versionId)
            throw error
        }
        guard let details = try settle(version: versionId) else {
            throw GalleryError.notFound("the image version was deleted while it was being replicated")
        }
        return details
    }

    /// Every version of a definition, highest first.
    public func versions(gallery: String, definition definitionName: String) throws(GalleryError) -> [VersionDetails] {
        try read { db in
            let definition = try Self.definition(definitionName, gallery: gallery, in: db)
            let versions = try ImageVersion.fetchAll(db, where: "definitionId = ?", [CatalogValue(definition.id)])
            return try versions.sorted { $0.number > $1.number }.map { try Self.details(of: $0, in: db) }
        }
    }

    /// The image version `name` of a definition, with everything about it.
    ///
    /// - Parameters:
    ///   - name: The version's name (`MAJOR.MINOR.PATCH`).
    ///   - gallery: The gallery's name.
    ///   - definition: The definition's name.
    /// - Returns: The version, its disks, target regions and replication state.
    /// - Throws: ``GalleryError`` when the gallery, definition or version does not exist, or the catalog
    ///   cannot be read.
    public func version(_ name: String, gallery: String, definition: String) throws(GalleryError) -> VersionDetails {
        try read { db in try Self.details(of: Self.version(name, gallery: gallery, definition: definition, in: db), in: db) }
    }

    /// The version "latest" resolves to (see `LatestRule`).
    ///
    /// - Throws: ``GalleryError`` (not found) when no version qualifies, in the service's words.
    public func latestVersion(gallery: String, definition: String, region: String? = nil) throws(GalleryError) -> VersionDetails {
        if let region { _ = try read { db in try Self.region(region, in: db) } }
        let all = try versions(gallery: gallery, definition: definition)
        let regions = try self.regions()
        let present = { (details: VersionDetails, target: VersionDetails.Target) in self.replicasPresent(details, in: target, regions: regions) }
        if let latest = LatestRule.latest(of: all, region: region, isPresent: present) { return latest }
        if let region {
            throw .notFound("no latest image version of '\(definition)' is available in the '\(region)' region (none there is Completed and not excluded from latest)")
        }
        throw .notFound("There is no latest image version exists for '\(definition)' (none is Completed in a region and not excluded from latest)")
    }

    /// Changes what may change on a published version, then replicates regions added or grown.
    ///
    /// Target regions change by a whole new list (`targetRegions`) or by regions added and
    /// removed. The version's first target region (its source, Azure's `location`) stays and
    /// stays first. A region that holds replicas goes only with `allowReplicaDeletion`; its
    /// files are removed (through the region folder, never following a link) once the catalog
    /// no longer lists them.
    ///
    /// - Parameters:
    ///   - name: the version's name (`MAJOR.MINOR.PATCH`).
    ///   - gallery: the gallery that holds the definition.
    ///   - definition: the image definition the version belongs to.
    ///   - update: what to change; its nil fields and empty lists leave things as they are.
    ///   - progress: replication events for regions added or grown (see
    ///     ``replicate(gallery:definition:version:progress:isCancelled:wait:)``).
    ///   - isCancelled: polled between and during replica copies; returning true stops them,
    ///     leaves the unfinished replicas pending (``replicate(gallery:definition:version:progress:isCancelled:wait:)``
    ///     makes them) and throws a replication error. nil: never cancelled.
    ///   - wait: when another process holds the version, wait for it instead of refusing.
    public func updateVersion(
        _ name: String, gallery: String, definition: String, _ update: VersionUpdate,
        progress: (@Sendable (ReplicationEvent) -> Void)? = nil, isCancelled: (@Sendable () -> Bool)? = nil, wait: Bool = false
    ) throws(GalleryError) -> VersionDetails {
        if let tags = update.tags { try NameRules.checkTags(tags) }
        if let count = update.replicaCount, !TargetRegion.replicaCountRange.contains(count) {
            throw .rule("the default replica count \(count) is out of range; it must be between 1 and 100")
        }
        if update.targetRegions != nil && !(update.addRegions.isEmpty && update.removeRegions.isEmpty) {
            throw .rule("give either the whole list of target regions or regions to add and remove, not both")
        }
        let endOfLife: String?? = try update.endOfLifeDate.map { (text) throws(GalleryError) in
            try text.map { (text) throws(GalleryError) in try GalleryDate.endOfLife(text).description }
        }
        let before = try self.version(name, gallery: gallery, definition: definition)
        let parsed = try update.targetRegions.map { (arguments) throws(GalleryError) in
            try Self.parseTargetsNotingTypes(arguments, defaultCount: update.replicaCount ?? before.version.replicaCount,
                                  defaultType: before.version.storageAccountType)
        }
        let added = try Self.parseTargetsNotingTypes(
            update.addRegions, defaultCount: update.replicaCount ?? before.version.replicaCount, defaultType: before.version.storageAccountType)
        let (previous, removed): (VersionDetails, [ReplicationJob]) = try withVersionLease(
            name, gallery: gallery, definition: definition, operation: "updating", wait: wait
        ) { version, db in
            let current = try Self.details(of: version, in: db)
            if let value = update.replicaCount { version.replicaCount = value }
            if let value = update.excludeFromLatest { version.excludeFromLatest = value }
            if let value = endOfLife { version.endOfLifeDate = value }
            if let value = update.tags { version.tags = value }
            version.provisioningState = "Updating"
            try version.update(db)

            var wanted: [(Region, count: Int, type: StorageAccountType?)]
            if let parsed {
                let resolved = try Self.resolveTargets(parsed.map(\.target), in: db)
                wanted = zip(resolved, parsed).map { ($0.0, $0.1.replicaCount, $1.typeGiven ? $1.target.storageType : nil) }
            } else {
                wanted = current.regions.map { ($0.region, update.replicaCount ?? $0.target.replicaCount, nil) }
                for regionName in update.removeRegions {
                    let region = try Self.region(regionName, in: db)
                    guard wanted.contains(where: { $0.0.id == region.id }) else {
                        throw GalleryError.rule("the region '\(region.name)' is not a target region of the image version '\(name)'")
                    }
                    wanted.removeAll { $0.0.id == region.id }
                }
                for (target, typeGiven) in added {
                    let region = try Self.region(target.name, in: db)
                    guard !wanted.contains(where: { $0.0.id == region.id }) else {
                        throw GalleryError.rule("the region '\(region.name)' is already a target region of the image version '\(name)'")
                    }
                    wanted.append((region, target.replicaCount, typeGiven ? target.storageType : nil))
                }
            }
            guard !wanted.isEmpty else { throw GalleryError.rule("an image version needs at least one target region") }
            // The source region stays, and stays first.
            if let source = current.regions.first {
                guard let index = wanted.firstIndex(where: { $0.0.id == source.region.id }) else {
                    throw GalleryError.rule("the region '\(source.region.name)' is the source region of the image version '\(name)' (its location, the first target region) and cannot be removed")
                }
                wanted.insert(wanted.remove(at: index), at: 0)
            }
            try Self.checkRegionFlags(update.regionExcludeFromLatest.keys, regions: wanted.map(\.0))
            let new = wanted.map(\.0).filter { region in !current.regions.contains { $0.region.id == region.id } }
            try checkVersionLimit(new, in: db)

            var removed: [ReplicationJob] = []
            for (position, (region, count, type)) in wanted.enumerated() {
                if var row = current.regions.first(where: { $0.region.id == region.id })?.target {
                    if let type, type != row.storageAccountType {
                        throw GalleryError.rule("the storage account type of region '\(region.name)' is not updatable (it is \(row.storageAccountType.rawValue))")
                    }
                    if count < row.replicaCount {
                        removed += current.jobs(in: region).filter { $0.replicaIndex > count }
                        try db.execute("DELETE FROM replicationJob WHERE versionId = ? AND regionId = ? AND replicaIndex > ?",
                                       [CatalogValue(version.id), CatalogValue(region.id), CatalogValue(count)])
                    } else if count > row.replicaCount {
                        try Self.insertJobs(version: version.id!, region: region.id!, disks: current.disks, indices: (row.replicaCount + 1)...count, in: db)
                    }
                    row.replicaCount = count
                    row.position = position
                    if let flag = update.regionExcludeFromLatest.first(where: { $0.key.lowercased() == region.name.lowercased() }) {
                        row.excludeFromLatest = flag.value
                    }
                    try row.update(db)
                } else {
                    var row = VersionRegion(
                        id: nil, versionId: version.id!, regionId: region.id!, position: position, replicaCount: count,
                        storageAccountType: type ?? version.storageAccountType,
                        excludeFromLatest: update.regionExcludeFromLatest.first { $0.key.lowercased() == region.name.lowercased() }?.value ?? nil,
                        state: .unknown, progress: 0, details: nil)
                    try row.insert(db)
                    try Self.insertJobs(version: version.id!, region: region.id!, disks: current.disks, indices: 1...count, in: db)
                }
            }
            // Regions no longer wanted: their rows and jobs go now, their files after the commit.
            let leaving = current.regions.filter { target in !wanted.contains { $0.0.id == target.region.id } }
            let held = leaving.flatMap { current.jobs(in: $0.region) }.filter { $0.state == .done || $0.fileSize != nil }
            if !held.isEmpty && !update.allowReplicaDeletion {
                let bytes = held.reduce(Int64(0)) { $0 + ($1.fileSize ?? 0) }
                throw GalleryError.rule("removing \(leaving.map { "'\($0.region.name)'" }.joined(separator: ", ")) deletes \(held.count) replica file\(held.count == 1 ? "" : "s") (\(bytes) bytes)", remedy: .allowReplicaDeletion)
            }
            for target in leaving {
                removed += current.jobs(in: target.region)
                try db.execute("DELETE FROM replicationJob WHERE versionId = ? AND regionId = ?", [CatalogValue(version.id), CatalogValue(target.region.id)])
                try target.target.delete(db)
            }
            return (current, removed)
        }
        let versionId = previous.version.id!
        do {
            try removeReplicas(removed, of: previous, regions: try regions())
        } catch {
            releaseLease(version: versionId)
            throw error
        }
        return try finishWork(on: versionId, progress: progress, isCancelled: isCancelled)
    }

    /// Deletes a version: marks it Deleting under this process's lease, removes its replicas
    /// (through the region folders, never following a link), then removes it from the catalog.
    /// A version that another live process creates, updates or replicates is refused (or,
    /// with `wait`, waited for); one whose holder is gone is taken over.
    public func deleteVersion(_ name: String, gallery: String, definition: String, wait: Bool = false) throws(GalleryError) {
        let details = try withVersionLease(name, gallery: gallery, definition: definition, operation: "deleting", wait: wait) { version, db in
            version.provisioningState = Self.deleting
            try version.update(db)
            return try Self.details(of: version, in: db)
        }
        let regions = try self.regions()
        do {
            try removeReplicas(details.jobs, of: details, regions: regions)
        } catch {
            releaseLease(version: details.version.id!)
            throw error
        }
        removeEmptyFolders(of: details, regions: regions)
        try write { db in try details.version.delete(db) }
    }

    /// The cost of a version as it stands: its disks' occupied sizes replicated to its target
    /// regions (the first is the source region).
    public func cost(of details: VersionDetails) throws(GalleryError) -> SnapshotCost {
        let targets = details.regions.map {
            TargetRegion(name: $0.region.name, replicaCount: $0.target.replicaCount, storageType: $0.target.storageAccountType)
        }
        do {
            return try SnapshotCost(occupiedBytes: details.disks.map(\.occupiedBytes), regions: targets)
        } catch {
            throw .rule(error.description)
        }
    }

    // MARK: Catalog helpers

    static func version(_ name: String, gallery: String, definition definitionName: String, in db: any CatalogConnection) throws -> ImageVersion {
        let definition = try Self.definition(definitionName, gallery: gallery, in: db)
        guard let version = try ImageVersion.fetchOne(db, where: "definitionId = ? AND name = ?", [CatalogValue(definition.id), .text(name)]) else {
            throw GalleryError.notFound("there is no image version '\(name)' of the image definition '\(definition.name)'")
        }
        return version
    }

    /// Everything about a version, with the names it holds checked again (a catalog changed
    /// behind the store's back must not turn into paths) and each region's state and progress
    /// derived from its jobs.
    static func details(of version: ImageVersion, in db: any CatalogConnection) throws -> VersionDetails {
        guard let definition = try ImageDefinition.fetchOne(db, id: version.definitionId),
              let gallery = try Gallery.fetchOne(db, id: definition.galleryId) else {
            throw GalleryError(.io, "the catalog is inconsistent: version \(version.name) has no definition or gallery")
        }
        try NameRules.checkStoredName(gallery.name, kind: "gallery")
        try NameRules.checkStoredName(definition.name, kind: "image definition")
        do {
            _ = try VersionNumber(parsing: version.name)
        } catch {
            throw GalleryError(.io, "the catalog is damaged: it holds the image version name '\(version.name)', which is not a valid name", remedy: .checkStore)
        }
        let id = CatalogValue(version.id)
        let disks = try VersionDisk.fetchAll(db, where: "versionId = ?", [id]).sorted { ($0.lun ?? -1) < ($1.lun ?? -1) }
        let jobs = try ReplicationJob.fetchAll(db, where: "versionId = ?", [id])
        let rows = try VersionRegion.fetchAll(db, where: "versionId = ?", [id], order: "position, id")
        let targets = try rows.map { (row) throws -> VersionDetails.Target in
            guard let region = try Region.fetchOne(db, id: row.regionId) else {
                throw GalleryError(.io, "the catalog is inconsistent: a target region of version \(version.name) is missing")
            }
            try NameRules.checkStoredName(region.name, kind: "region")
            var row = row
            Self.derive(&row, from: jobs.filter { $0.regionId == region.id }, disks: disks)
            return VersionDetails.Target(region: region, target: row)
        }
        return VersionDetails(gallery: gallery, definition: definition, version: version, disks: disks, regions: targets, jobs: jobs)
    }

    /// A region's state from its jobs: Failed when one failed, Completed when all are done,
    /// Replicating while one runs (under a live lease) or some are done, else Unknown.
    /// Progress is the bytes of its done and running jobs over all of its bytes.
    static func derive(_ row: inout VersionRegion, from jobs: [ReplicationJob], disks: [VersionDisk]) {
        let sizes = Dictionary(disks.map { ($0.id!, Int64($0.virtualSize)) }) { first, _ in first }
        let total = jobs.reduce(Int64(0)) { $0 + (sizes[$1.versionDiskId] ?? 0) }
        let done = jobs.reduce(Int64(0)) { sum, job in
            let size = sizes[job.versionDiskId] ?? 0
            switch job.state {
            case .done: return sum + size
            case .running: return sum + min(job.doneBytes, size)
            case .pending, .failed: return sum
            }
        }
        let running = jobs.contains { $0.state == .running && ($0.lease?.isAlive ?? false) }
        if let failed = jobs.first(where: { $0.state == .failed }) {
            row.state = .failed
            row.details = failed.details
        } else if !jobs.isEmpty && jobs.allSatisfy({ $0.state == .done }) {
            row.state = .completed
            row.details = nil
        } else if running || jobs.contains(where: { $0.state == .done }) {
            row.state = .replicating
            row.details = nil
        } else {
            row.state = .unknown
            row.details = nil
        }
        let percent = total == 0 ? 0 : Int(done * 100 / total)
        row.progress = row.state == .completed ? 100 : min(percent, 99)
    }

    static func refuseTakenVersion(_ name: String, definition: ImageDefinition, in db: any CatalogConnection) throws {
        if try ImageVersion.fetchOne(db, where: "definitionId = ? AND name = ?", [CatalogValue(definition.id), .text(name)]) != nil {
            throw GalleryError.conflict("the image version '\(name)' already exists in the image definition '\(definition.name)'")
        }
    }

    /// The regions of `targets`, or the default region when there are none.
    static func resolveTargets(_ targets: [TargetRegion], in db: any CatalogConnection) throws -> [(Region, TargetRegion)] {
        if targets.isEmpty {
            guard let region = try Region.fetchOne(db, where: "isDefault = 1") else {
                throw GalleryError.notFound("the store has no regions", remedy: .addRegion)
            }
            return [(region, TargetRegion(name: region.name, replicaCount: 1, storageType: .standardLRS))]
        }
        return try targets.map { ((try Self.region($0.name, in: db)), $0) }
    }

    func checkVersionLimit(_ regions: [Region], in db: any CatalogConnection) throws {
        for region in regions {
            let count = try VersionRegion.count(db, where: "regionId = ?", [CatalogValue(region.id)])
            guard count < limits.versionsPerRegion else {
                throw GalleryError.rule("the region '\(region.name)' already holds \(count) image versions, the most allowed")
            }
        }
    }

    static func checkRegionFlags(_ names: some Collection<String>, regions: [Region]) throws(GalleryError) {
        for name in names where !regions.contains(where: { $0.name.lowercased() == name.lowercased() }) {
            throw .rule("exclude-from-latest is set for '\(name)', which is not a target region of the version")
        }
    }

    static func flag(for region: Region, in flags: [String: Bool]) -> Bool? {
        flags.first { $0.key.lowercased() == region.name.lowercased() }?.value
    }

    /// Parses target regions; the default count and type apply where one is not given.
    static func parseTargets(
        _ arguments: [String], defaultCount: Int, defaultType: StorageAccountType
    ) throws(GalleryError) -> [TargetRegion] {
        do {
            return try TargetRegion.parseList(arguments, defaultReplicaCount: defaultCount, defaultStorageType: defaultType)
        } catch {
            throw .rule(error.description)
        }
    }

    static func parseTargetsNotingTypes(
        _ arguments: [String], defaultCount: Int, defaultType: StorageAccountType
    ) throws(GalleryError) -> [(target: TargetRegion, typeGiven: Bool)] {
        let targets = try parseTargets(arguments, defaultCount: defaultCount, defaultType: defaultType)
        return zip(targets, arguments).map { target, argument in
            let parts = argument.split(separator: "=", maxSplits: 2, omittingEmptySubsequences: false)
            return (target, parts.count == 3 || (parts.count == 2 && Int(parts[1]) == nil))
        }
    }

    /// The data disks' LUNs: as given, else their position among the data disks.
    static func assignLUNs(_ request: VersionRequest) throws(GalleryError) -> [(path: String, lun: Int?)] {
        var disks: [(path: String, lun: Int?)] = [(request.osDisk, nil)]
        var seen: Set<Int> = []
        for (index, disk) in request.dataDisks.enumerated() {
            let lun = disk.lun ?? index
            guard (0...63).contains(lun) else {
                throw .rule("the LUN \(lun) of '\(disk.path)' is out of range; a data disk's LUN is between 0 and 63")
            }
            guard seen.insert(lun).inserted else {
                throw .rule("Duplicated lun numbers have been detected: LUN \(lun) is given to more than one data disk")
            }
            disks.append((disk.path, lun))
        }
        return disks
    }

    /// Refuses a file given twice (under any name): as OS and data disk, or as two data disks.
    static func refuseRepeatedFiles(_ disks: [(path: String, lun: Int?)]) throws(GalleryError) {
        var seen: [FileKey: (path: String, isOS: Bool)] = [:]
        for disk in disks {
            let status: stat
            do throws(VHDError) {
                status = try SystemCalls.status(of: FilePath(disk.path))
            } catch {
                throw .io("the disk '\(disk.path)' cannot be used", error)
            }
            let key = FileKey(device: UInt64(status.st_dev), inode: UInt64(status.st_ino))
            if let first = seen[key] {
                throw .rule(first.isOS
                    ? "OSDiskImage and DataDiskImage cannot point to the same file: '\(disk.path)' is the OS disk '\(first.path)'"
                    : "Duplicated source files are found in the input disks: '\(disk.path)' is '\(first.path)'")
            }
            seen[key] = (disk.path, disk.lun == nil)
        }
    }

    struct FileKey: Hashable {
        var device: UInt64
        var inode: UInt64
    }

    /// The OS disk's tag and probe against the definition.
    static func checkOSDisk(
        _ facts: DiskFacts, path: String, request: VersionRequest, definition: ImageDefinition, warn: (GalleryWarning) -> Void
    ) throws(GalleryError) {
        let state: GalleryOSState
        switch (facts.osState, request.osState) {
        case let (tagged?, given?) where tagged != given:
            throw .rule("the OS disk '\(path)' is tagged \(tagged.rawValue) but the OS state given is \(given.rawValue)",
                        remedy: .contradictedOSState(path: path, tagged: tagged, given: given))
        case let (tagged?, _):
            state = tagged
        case let (nil, given?):
            state = given
        case (nil, nil):
            if let stale = facts.staleTag {
                throw .rule("the OS disk '\(path)' has a stale OS-state tag: \(stale)", remedy: .giveOSState)
            }
            throw .rule("the OS disk '\(path)' has no OS-state tag", remedy: .giveOSState)
        }
        guard state == definition.osState else {
            throw .rule("Cannot create Gallery Image Version from '\(path)' since the OS State in the parent gallery image (\(definition.osState.rawValue)) is not \(state.rawValue)")
        }
        if let found = facts.osType {
            guard found == definition.osType else {
                throw .rule("Cannot create Gallery Image Version from '\(path)' since the OS type in the parent gallery image (\(definition.osType.rawValue)) is not \(found.rawValue), which the disk holds")
            }
        } else {
            warn(GalleryWarning("the OS disk '\(path)' holds no filesystem the probe knows; its OS type is taken to be \(definition.osType.rawValue) as the definition says"))
        }
        if let found = facts.hyperVGeneration {
            guard found == definition.hyperVGeneration else {
                throw .rule("Cannot create Gallery Image Version from '\(path)' since the Hyper-V generation in the parent gallery image (\(definition.hyperVGeneration.rawValue)) is not \(found.rawValue), which the disk boots as")
            }
        } else {
            warn(GalleryWarning("the OS disk '\(path)' shows no boot layout the probe knows; its Hyper-V generation is taken to be \(definition.hyperVGeneration.rawValue) as the definition says"))
        }
    }
}
