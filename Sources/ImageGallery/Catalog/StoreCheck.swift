import SystemPackage
import VHD

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One thing a store check found wrong, and whether the repair put it right.
public struct StoreProblem: Sendable, Equatable, Codable, CustomStringConvertible {
    /// What kind of thing is wrong.
    public enum Kind: String, Sendable, Codable {
        /// SQLite's integrity check or foreign key check failed, or the catalog holds a bad name.
        case catalog
        /// A region's folder is missing, cannot be opened, overlaps another region's, or holds
        /// a symbolic link where a version's folder should be.
        case region
        /// A done replica's file is not there.
        case missingReplica
        /// A done replica's file has another size than recorded.
        case wrongSize
        /// A done replica's content digest is not the recorded one (found by a deep check only).
        case wrongDigest
        /// A file in a region folder that no job owns.
        case orphanFile
        /// A partial file that no live job is writing.
        case partialFile
        /// A lease whose holder is gone.
        case abandonedLease
    }

    /// What kind of thing is wrong.
    public var kind: Kind
    /// The region, when the problem is in one.
    public var region: String?
    /// The file or folder concerned, when there is one.
    public var path: String?
    /// What was found, in one sentence of the library's words.
    public var details: String
    /// Whether the check, asked to repair, put it right.
    public var repaired: Bool

    /// The region, the path, the details and "(repaired)", as far as they are known, on one line.
    public var description: String {
        [region.map { "\($0):" }, path.map { "\($0):" }, details, repaired ? "(repaired)" : nil].compactMap { $0 }.joined(separator: " ")
    }
}

/// What `store check` found.
public struct StoreCheckReport: Sendable, Equatable, Codable {
    /// Everything found wrong, repaired or not, in the order found.
    public var problems: [StoreProblem]
    /// Replica files checked (size, and digest with `deep`).
    public var replicasChecked: Int
    /// Regions whose folders were checked.
    public var regionsChecked: Int

    /// Nothing found, or everything found was repaired.
    public var isClean: Bool { problems.allSatisfy(\.repaired) }
}

extension GalleryStore {
    /// Checks that the catalog is true of the files: SQLite's integrity and foreign keys, the
    /// names it holds, the regions' folders (present, not overlapping), every done replica (its
    /// file there with the recorded size; with `deep`, the recorded content digest), files in
    /// region folders that no job owns (orphans) and partial files no live job writes, and
    /// leases whose holders are gone.
    ///
    /// With `repair`: missing or changed replicas go back to pending (`version replicate`
    /// makes them), abandoned leases are released (their running jobs back to pending),
    /// orphans and partial files older than `minimumAge` seconds are removed.
    ///
    /// - Throws: ``GalleryError`` when the catalog cannot be read at all.
    public func check(repair: Bool, deep: Bool, minimumAge: Int = 3600) throws(GalleryError) -> StoreCheckReport {
        var problems: [StoreProblem] = []
        // The catalog itself.
        let integrity: [String]
        do {
            integrity = try database.integrityProblems()
        } catch {
            throw Self.catalogError(error, doing: "read")
        }
        problems += integrity.map { StoreProblem(kind: .catalog, details: $0, repaired: false) }
        let regions = try self.regions()
        var badRegions: Set<Int64> = []
        for region in regions {
            do {
                try NameRules.checkStoredName(region.name, kind: "region")
            } catch {
                problems.append(StoreProblem(kind: .catalog, region: region.name, details: error.description, repaired: false))
                badRegions.insert(region.id!)
            }
        }
        for (index, region) in regions.enumerated() {
            for other in regions[(index + 1)...] where RegionFolder.overlap(region.path, other.path) {
                problems.append(StoreProblem(kind: .region, region: region.name, path: region.path,
                                             details: "shares its folder with region '\(other.name)' ('\(other.path)') or one lies inside the other", repaired: false))
                badRegions.insert(region.id!)
                badRegions.insert(other.id!)
            }
        }

        // Every version: leases, jobs, replica files.
        let versionIds: [Int64] = try read { db in
            try db.query("SELECT id FROM version ORDER BY id", []).map { (row) throws(GalleryError) in try row.int64("id", of: "version") }
        }
        var owned: [Int64: Set<String>] = [:]      // region id -> relative paths of job files
        var writing: [Int64: Set<String>] = [:]    // region id -> relative paths of live running jobs
        var checked = 0
        var requeue: [Int64] = []
        var sizes: [Int64: Int64] = [:]
        for versionId in versionIds {
            let details: VersionDetails
            do {
                guard let found = try self.details(versionId: versionId) else { continue }
                details = found
            } catch {
                problems.append(StoreProblem(kind: .catalog, details: error.description, repaired: false))
                continue
            }
            let label = "\(details.gallery.name)/\(details.definition.name)/\(details.version.name)"
            if let lease = details.lease, case let .abandoned(reason) = lease.status {
                if repair { releaseAbandonedLease(version: versionId) }
                problems.append(StoreProblem(kind: .abandonedLease, path: label,
                                             details: "the \(lease.operation ?? "operation") of the version was abandoned (\(reason))", repaired: repair))
            }
            for target in details.regions {
                let region = target.region
                let jobs = details.jobs(in: region)
                for job in jobs {
                    guard let name = details.replicaName(of: job) else { continue }
                    let relative = (details.folderComponents + [name]).joined(separator: "/")
                    owned[region.id!, default: []].insert(relative)
                    if job.state == .running, let lease = job.lease {
                        if lease.isAlive {
                            writing[region.id!, default: []].insert(relative)
                        } else {
                            problems.append(StoreProblem(kind: .abandonedLease, region: region.name, path: label + "/" + name,
                                                         details: "the replication job was abandoned (\(lease.holder) is gone)", repaired: repair))
                            if repair { requeue.append(job.id!) }
                        }
                    }
                }
                guard !badRegions.contains(region.id!) else { continue }
                let folder: RegionFolder.Folder?
                do {
                    folder = try RegionFolder(region, others: []).folder(details.folderComponents, create: false)
                } catch {
                    problems.append(StoreProblem(kind: .region, region: region.name, path: label, details: error.description, repaired: false))
                    continue
                }
                for job in jobs where job.state == .done {
                    guard let name = details.replicaName(of: job), let disk = details.disks.first(where: { $0.id == job.versionDiskId }) else { continue }
                    let path = ([region.path] + details.folderComponents + [name]).joined(separator: "/")
                    checked += 1
                    guard let entry = folder?.entry(name), entry.type == S_IFREG else {
                        problems.append(StoreProblem(kind: .missingReplica, region: region.name, path: path,
                                                     details: "the replica of version \(details.version.name) is missing\(repair ? "; it is pending again" : "")", repaired: repair))
                        if repair { requeue.append(job.id!) }
                        continue
                    }
                    if let size = job.fileSize, size != entry.size {
                        problems.append(StoreProblem(kind: .wrongSize, region: region.name, path: path,
                                                     details: "the replica is \(entry.size) bytes, recorded \(size)", repaired: repair))
                        if repair { requeue.append(job.id!) }
                        continue
                    }
                    if job.fileSize == nil { sizes[job.id!] = entry.size }
                    if deep, let folder {
                        let digest = try? folder.withFile(name) { try Disk.withOpened(at: $0) { try DiskFacts.contentDigest(of: $0) } }
                        if digest != disk.digest {
                            problems.append(StoreProblem(kind: .wrongDigest, region: region.name, path: path,
                                                         details: "the replica holds \(digest ?? "content that cannot be read"), recorded \(disk.digest)", repaired: repair))
                            if repair { requeue.append(job.id!) }
                        }
                    }
                }
            }
        }
        if repair {
            try applyFileChecks(requeue: requeue, fail: [:], sizes: sizes)
            for versionId in versionIds { _ = try? settle(version: versionId) }
        }

        // Every region folder: files no job owns, partial files nobody writes.
        let now = Int(Lease.now())
        for region in regions where !badRegions.contains(region.id!) {
            let root: RegionFolder.Folder?
            do {
                root = try RegionFolder(region, others: []).folder([], create: false)
            } catch {
                problems.append(StoreProblem(kind: .region, region: region.name, path: region.path, details: error.description, repaired: false))
                continue
            }
            guard let root else { continue }
            walk(root, relative: [], region: region, owned: owned[region.id!] ?? [], writing: writing[region.id!] ?? [],
                 repair: repair, removeBefore: now - minimumAge, problems: &problems)
        }
        return StoreCheckReport(problems: problems, replicasChecked: checked, regionsChecked: regions.count)
    }

    private func walk(
        _ folder: RegionFolder.Folder, relative: [String], region: Region, owned: Set<String>, writing: Set<String>,
        repair: Bool, removeBefore: Int, problems: inout [StoreProblem]
    ) {
        for name in folder.names().sorted() {
            guard let entry = folder.entry(name) else { continue }
            let path = (relative + [name]).joined(separator: "/")
            let shown = region.path + "/" + path
            if entry.type == S_IFDIR {
                guard let child = folder.subfolder(name) else { continue }
                walk(child, relative: relative + [name], region: region, owned: owned, writing: writing,
                     repair: repair, removeBefore: removeBefore, problems: &problems)
                if repair { folder.removeFolderIfEmpty(name) }
                continue
            }
            if entry.type == S_IFREG && owned.contains(path) { continue }
            let old = entry.modified <= removeBefore
            if RegionFolder.Folder.isPartial(name) {
                let final = relative + [String(name.dropFirst().split(separator: ".").dropLast(2).joined(separator: "."))]
                if writing.contains(final.joined(separator: "/")) { continue }
                if repair && old { folder.remove(name) }
                problems.append(StoreProblem(kind: .partialFile, region: region.name, path: shown,
                                             details: "a partial file no live job writes\(old ? "" : " (less than an hour old: kept)")", repaired: repair && old))
                continue
            }
            let what = entry.type == S_IFLNK ? "a symbolic link" : entry.type == S_IFREG ? "a file" : "something that is not a regular file"
            if repair && old && entry.type != S_IFDIR { folder.remove(name) }
            problems.append(StoreProblem(kind: .orphanFile, region: region.name, path: shown,
                                         details: "\(what) that no replication job owns\(old ? "" : " (less than an hour old: kept)")", repaired: repair && old))
        }
    }
}
