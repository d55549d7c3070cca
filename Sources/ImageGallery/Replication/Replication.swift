import CReflink
import Dispatch
import GRDB
import Synchronization
import SystemPackage
import VHD

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// What replication reports as it goes: a region's bytes done of its total, and its state.
public struct ReplicationEvent: Sendable, Equatable {
    public var region: String
    public var doneBytes: UInt64
    public var totalBytes: UInt64
    public var state: ReplicationState
    /// Why the region failed.
    public var details: String?
}

/// A problem `version show --verify` found with a replica.
public struct ReplicaProblem: Sendable, Equatable, CustomStringConvertible {
    public var region: String
    public var path: String
    public var problem: String

    public var description: String { "\(region): \(path): \(problem)" }
}

extension GalleryStore {
    /// Makes every missing replica of a version: each target region that is not Completed is
    /// replicated (regions in parallel). In a region, each disk's first replica is a reflink of
    /// the source when it is a single VHD file on a filesystem that can share blocks, else a
    /// dynamic VHD written by the sparse copy engine; further replicas are reflinks of the
    /// first, else copies of it. Every replica is written beside its final path, synced, checked
    /// against the recorded content digest, and only then renamed into place. A region is
    /// Completed when all its replicas are there and checked; a failure marks that region
    /// Failed (with the reason) and leaves the others as they are.
    ///
    /// The source of a first replica is the file the version was made from, or, when that no
    /// longer has the recorded content, a Completed replica in another region.
    ///
    /// - Returns: the version after replication.
    public func replicate(
        gallery: String, definition: String, version name: String,
        progress: (@Sendable (ReplicationEvent) -> Void)? = nil, isCancelled: (@Sendable () -> Bool)? = nil
    ) throws(GalleryError) -> VersionDetails {
        let pending: VersionDetails = try write { db in
            var details = try Self.details(of: Self.version(name, gallery: gallery, definition: definition, in: db), in: db)
            for index in details.regions.indices where details.regions[index].target.state != .completed {
                details.regions[index].target.state = .replicating
                details.regions[index].target.progress = 0
                details.regions[index].target.details = nil
                try details.regions[index].target.update(db)
            }
            return details
        }
        let work = pending.regions.filter { $0.target.state == .replicating }
        let group = DispatchGroup()
        for target in work {
            DispatchQueue.global().async(group: group) {
                let outcome: (ReplicationState, String?)
                do {
                    try self.replicateRegion(target, of: pending, progress: progress, isCancelled: isCancelled)
                    outcome = (.completed, nil)
                } catch {
                    outcome = (.failed, "\(error)")
                }
                _ = try? self.write { db in
                    guard var row = try VersionRegion.fetchOne(db, key: target.target.id) else { return }
                    row.state = outcome.0
                    row.progress = outcome.0 == .completed ? 100 : row.progress
                    row.details = outcome.1
                    try row.update(db)
                }
                progress?(ReplicationEvent(region: target.region.name, doneBytes: 0, totalBytes: 0, state: outcome.0, details: outcome.1))
            }
        }
        group.wait()
        // Any region left Failed (here or before), or still Replicating elsewhere, keeps the
        // version from Succeeded.
        return try write { db in
            var version = try Self.version(name, gallery: gallery, definition: definition, in: db)
            let details = try Self.details(of: version, in: db)
            version.provisioningState = details.regions.allSatisfy { $0.target.state == .completed } ? "Succeeded" : "Failed"
            try version.update(db)
            return try Self.details(of: version, in: db)
        }
    }

    /// Checks every replica of the version's Completed regions: present, opens as a disk, and
    /// holds the recorded content. A region with a problem is marked Failed (so "latest" passes
    /// it by and `replicate` remakes it).
    public func verify(
        gallery: String, definition: String, version name: String
    ) throws(GalleryError) -> (details: VersionDetails, problems: [ReplicaProblem]) {
        let details = try version(name, gallery: gallery, definition: definition)
        var problems: [ReplicaProblem] = []
        var failedRegions: [Int64: String] = [:]
        for target in details.regions where target.target.state == .completed {
            for disk in details.disks {
                for index in 1...target.target.replicaCount {
                    let path = Self.replicaPath(details, region: target.region, disk: disk, index: index)
                    if let problem = Self.check(replica: path, against: disk) {
                        problems.append(ReplicaProblem(region: target.region.name, path: path.string, problem: problem))
                        failedRegions[target.target.id!] = failedRegions[target.target.id!] ?? "the replica '\(path)' \(problem)"
                    }
                }
            }
        }
        guard !failedRegions.isEmpty else { return (details, problems) }
        let updated: VersionDetails = try write { db in
            for (id, reason) in failedRegions {
                guard var row = try VersionRegion.fetchOne(db, key: id) else { continue }
                row.state = .failed
                row.details = reason
                try row.update(db)
            }
            var version = try Self.version(name, gallery: gallery, definition: definition, in: db)
            version.provisioningState = "Failed"
            try version.update(db)
            return try Self.details(of: version, in: db)
        }
        return (updated, problems)
    }

    /// Why the replica at `path` is not a good copy of `disk`, or nil when it is.
    static func check(replica path: FilePath, against disk: VersionDisk) -> String? {
        guard access(path.string, F_OK) == 0 else { return "is missing" }
        do {
            let digest = try Disk.withOpened(at: path) { try DiskFacts.contentDigest(of: $0) }
            return digest == disk.digest ? nil : "holds different content (digest \(digest), recorded \(disk.digest))"
        } catch {
            return "cannot be read: \(error)"
        }
    }

    /// Makes the region's missing or bad replicas.
    func replicateRegion(
        _ target: VersionDetails.Target, of details: VersionDetails,
        progress: (@Sendable (ReplicationEvent) -> Void)?, isCancelled: (@Sendable () -> Bool)?
    ) throws {
        let folder = Self.replicaFolder(details, region: target.region)
        try Self.makeFolders(folder)
        Self.removePartialFiles(in: folder)
        let count = target.target.replicaCount
        let total = details.disks.reduce(UInt64(0)) { $0 + $1.virtualSize } * UInt64(count)
        var finished: UInt64 = 0
        var lastPercent = -1
        let report = { (done: UInt64) in
            let percent = total == 0 ? 100 : Int(done * 100 / total)
            progress?(ReplicationEvent(region: target.region.name, doneBytes: done, totalBytes: total, state: .replicating))
            guard percent >= lastPercent + 5 else { return }
            lastPercent = percent
            _ = try? self.write { db in
                try db.execute(sql: "UPDATE versionRegion SET progress = ? WHERE id = ?", arguments: [min(percent, 99), target.target.id])
            }
        }
        for disk in details.disks {
            let base = finished
            let options = CopyOptions(progress: { done, _ in report(base + min(done, disk.virtualSize)) }, isCancelled: isCancelled)
            let first = Self.replicaPath(details, region: target.region, disk: disk, index: 1)
            if Self.check(replica: first, against: disk) != nil {
                var failures: [String] = []
                var made = false
                for source in Self.sources(of: disk, in: details, excluding: target.region) {
                    do {
                        try Self.makeReplica(of: source, at: first, expecting: disk.digest, options: options)
                        made = true
                        break
                    } catch let error as VHDError where error.kind == .cancelled {
                        throw GalleryError(.replication, "replication was cancelled")
                    } catch {
                        failures.append("\(error)")
                    }
                }
                guard made else {
                    throw GalleryError(.replication, "no source of the \(disk.lun.map { "data disk at LUN \($0)" } ?? "OS disk") holds the recorded content (\(failures.joined(separator: "; ")))")
                }
            }
            finished += disk.virtualSize
            report(finished)
            for index in 1...count where index > 1 {
                let path = Self.replicaPath(details, region: target.region, disk: disk, index: index)
                if Self.check(replica: path, against: disk) != nil {
                    let base = finished
                    let options = CopyOptions(progress: { done, _ in report(base + min(done, disk.virtualSize)) }, isCancelled: isCancelled)
                    try Self.makeReplica(of: first, at: path, expecting: disk.digest, options: options)
                }
                finished += disk.virtualSize
                report(finished)
            }
            // Replicas past the count (after it was lowered) go.
            var index = count + 1
            while access(Self.replicaPath(details, region: target.region, disk: disk, index: index).string, F_OK) == 0 {
                Self.removeReplica(Self.replicaPath(details, region: target.region, disk: disk, index: index))
                index += 1
            }
        }
    }

    /// Where the first replica of `disk` can be made from: the file the version was made from,
    /// then every replica in the other regions (whatever their state: a copy counts only once
    /// its digest is the recorded one).
    static func sources(of disk: VersionDisk, in details: VersionDetails, excluding region: Region) -> [FilePath] {
        [FilePath(disk.sourcePath)] + details.regions.filter { $0.region.id != region.id }.flatMap { target in
            (1...target.target.replicaCount).map { replicaPath(details, region: target.region, disk: disk, index: $0) }
        }.filter { access($0.string, F_OK) == 0 }
    }

    /// Writes a replica of the disk at `source` to `destination`: a reflink of a single VHD file
    /// where the filesystem can, else a dynamic VHD made by the sparse copy engine. The copy is
    /// synced and its digest checked before it is renamed into place.
    static func makeReplica(of source: FilePath, at destination: FilePath, expecting digest: String, options: CopyOptions) throws {
        try Disk.withOpened(at: source) { disk in
            let output = try OutputFile.create(at: destination, overwrite: true)
            do {
                let layer = disk.layers[0]
                let isSingleVHD: Bool
                if case .vhd = layer.contents, disk.layers.count == 1 { isSingleVHD = true } else { isSingleVHD = false }
                if isSingleVHD && vhdtool_reflink(output.descriptor.rawValue, layer.file.descriptor.rawValue) == 0 {
                    options.progress?(disk.virtualSize, disk.virtualSize)
                } else {
                    _ = try DiskConversion.convert(disk, to: .dynamic, output: output, options: options)
                }
                guard fsync(output.descriptor.rawValue) == 0 else {
                    throw VHDError(path: output.temporaryPath.string, .io(call: "fsync", offset: nil, errno: Errno(rawValue: errno)))
                }
                let written = try Disk.withOpened(at: output.temporaryPath) { try DiskFacts.contentDigest(of: $0, options: options) }
                guard written == digest else {
                    throw GalleryError(.replication, "the copy of '\(source)' holds content \(written), not the recorded \(digest)")
                }
                try output.commit(sync: true)
            } catch {
                output.discard()
                throw error
            }
        }
    }

    /// `<region>/<gallery>/<definition>/<version>`.
    static func replicaFolder(_ details: VersionDetails, region: Region) -> FilePath {
        FilePath(region.path).appending([
            FilePath.Component(details.gallery.name)!, FilePath.Component(details.definition.name)!,
            FilePath.Component(details.version.name)!,
        ])
    }

    /// `<region>/<gallery>/<definition>/<version>/<os|lunN>-<index>.vhd`, index from 1.
    public static func replicaPath(_ details: VersionDetails, region: Region, disk: VersionDisk, index: Int) -> FilePath {
        replicaFolder(details, region: region).appending("\(disk.fileStem)-\(index).vhd")
    }

    static func replicaPaths(_ details: VersionDetails, region: Region, count: Int) -> [FilePath] {
        details.disks.flatMap { disk in (1...max(count, 1)).map { replicaPath(details, region: region, disk: disk, index: $0) } }
    }

    static func removeReplica(_ path: FilePath) { unlink(path.string) }

    /// Removes what an interrupted copy left in `folder` (OutputFile's temporary files).
    static func removePartialFiles(in folder: FilePath) {
        guard let directory = opendir(folder.string) else { return }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name.hasSuffix(".vhdtool-partial") { names.append(name) }
        }
        for name in names { unlink(folder.appending(name).string) }
    }
}
