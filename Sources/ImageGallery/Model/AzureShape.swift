import VHD

/// The catalog's resources as `az sig ... show` prints them: camelCase keys, the REST API's
/// `properties` flattened into the top level (nest every key but `name`, `id`, `type`,
/// `location` and `tags` under `properties` to get the REST body). Absent values are left out.
public enum AzureShape {
    /// `az sig show`: a gallery.
    public struct GalleryJSON: Encodable, Sendable, Equatable {
        /// The gallery's name.
        public var name: String
        /// The resource id: `/galleries/NAME` (no subscription or resource group).
        public var id: String
        /// The Azure resource type.
        public var type = "Microsoft.Compute/galleries"
        /// The gallery's description, left out when nil.
        public var description: String?
        /// Always `Succeeded`: the catalog holds only galleries that were made.
        public var provisioningState = "Succeeded"

        /// The JSON of `gallery`.
        ///
        /// - Parameter gallery: The gallery as the catalog holds it.
        public init(_ gallery: Gallery) {
            name = gallery.name
            id = "/galleries/\(gallery.name)"
            description = gallery.description
        }
    }

    /// A definition's `identifier`.
    public struct Identifier: Encodable, Sendable, Equatable {
        /// The identifier's publisher, offer and SKU.
        public var publisher, offer, sku: String
    }

    /// A recommended range, either end open (left out when nil).
    public struct Range: Encodable, Sendable, Equatable {
        /// The range's lower and upper bound.
        public var min, max: Int?
    }

    /// A definition's `recommended` resources.
    public struct Recommended: Encodable, Sendable, Equatable {
        /// Recommended virtual CPUs.
        public var vCPUs: Range?
        /// In MB.
        public var memory: Range?
    }

    /// A definition's `disallowed` properties.
    public struct Disallowed: Encodable, Sendable, Equatable {
        /// Managed disk types the images must not run on.
        public var diskTypes: [String]
    }

    /// A definition's `purchasePlan`.
    public struct PurchasePlan: Encodable, Sendable, Equatable {
        /// The plan's name, publisher and product.
        public var name, publisher, product: String?
    }

    /// `az sig image-definition show`.
    public struct DefinitionJSON: Encodable, Sendable, Equatable {
        /// The definition's name.
        public var name: String
        /// The resource id: `/galleries/GALLERY/images/NAME`.
        public var id: String
        /// The Azure resource type.
        public var type = "Microsoft.Compute/galleries/images"
        /// Resource tags.
        public var tags: [String: String]
        /// Publisher, offer and SKU.
        public var identifier: Identifier
        /// `Linux` or `Windows`.
        public var osType: String
        /// `Generalized` or `Specialized`.
        public var osState: String
        /// `V1` or `V2`.
        public var hyperVGeneration: String
        /// `x64` or `Arm64`.
        public var architecture: String
        /// Optional texts and the end of life (`YYYY-MM-DDTHH:MM:SSZ`), each left out when nil.
        public var description, eula, privacyStatementUri, releaseNoteUri, endOfLifeDate: String?
        /// Recommended vCPUs and memory, left out when neither is set.
        public var recommended: Recommended?
        /// Disallowed disk types, left out when there are none.
        public var disallowed: Disallowed?
        /// The purchase plan, left out when there is none.
        public var purchasePlan: PurchasePlan?
        /// Always `Succeeded`: the catalog holds only definitions that were made.
        public var provisioningState = "Succeeded"

        /// The JSON of `definition`.
        ///
        /// - Parameters:
        ///   - definition: The definition as the catalog holds it.
        ///   - gallery: The gallery it is in.
        public init(_ definition: ImageDefinition, gallery: Gallery) {
            name = definition.name
            id = "/galleries/\(gallery.name)/images/\(definition.name)"
            tags = definition.tags
            identifier = Identifier(publisher: definition.publisher, offer: definition.offer, sku: definition.sku)
            osType = definition.osType.rawValue
            osState = definition.osState.rawValue
            hyperVGeneration = definition.hyperVGeneration.rawValue
            architecture = definition.architecture.rawValue
            description = definition.description
            eula = definition.eula
            privacyStatementUri = definition.privacyStatementUri
            releaseNoteUri = definition.releaseNoteUri
            endOfLifeDate = definition.endOfLifeDate
            let vCPUs = definition.minVCPUs == nil && definition.maxVCPUs == nil ? nil : Range(min: definition.minVCPUs, max: definition.maxVCPUs)
            let memory = definition.minMemoryMB == nil && definition.maxMemoryMB == nil ? nil : Range(min: definition.minMemoryMB, max: definition.maxMemoryMB)
            recommended = vCPUs == nil && memory == nil ? nil : Recommended(vCPUs: vCPUs, memory: memory)
            disallowed = definition.disallowedDiskTypes.isEmpty ? nil : Disallowed(diskTypes: definition.disallowedDiskTypes)
            purchasePlan = definition.planName == nil ? nil
                : PurchasePlan(name: definition.planName, publisher: definition.planPublisher, product: definition.planProduct)
        }
    }

    /// One entry of a version's `publishingProfile.targetRegions`.
    public struct TargetRegionJSON: Encodable, Sendable, Equatable {
        /// The region's name.
        public var name: String
        /// Replicas of each disk in the region.
        public var regionalReplicaCount: Int
        /// The region's storage account type.
        public var storageAccountType: String
        /// The region's effective flag (its own, else the version's).
        public var excludeFromLatest: Bool
    }

    /// A version's `publishingProfile`.
    public struct PublishingProfile: Encodable, Sendable, Equatable {
        /// The target regions, the source region first.
        public var targetRegions: [TargetRegionJSON]
        /// The version's default replica count.
        public var replicaCount: Int
        /// The version's default storage account type.
        public var storageAccountType: String
        /// The version-wide exclude-from-latest flag.
        public var excludeFromLatest: Bool
        /// The end of life (`YYYY-MM-DDTHH:MM:SSZ`), left out when nil.
        public var endOfLifeDate: String?
        /// When the version was created (`YYYY-MM-DDTHH:MM:SSZ`).
        public var publishedDate: String
    }

    /// Where a disk image came from.
    public struct DiskSource: Encodable, Sendable, Equatable {
        /// The local file the disk was made from, as a file URI.
        public var uri: String
    }

    /// An OS or data disk image: Azure's fields, then vhdtool's own (`virtualSize`,
    /// `occupiedBytes`, `digest`), which Azure's models ignore.
    public struct DiskImageJSON: Encodable, Sendable, Equatable {
        /// The data disk's LUN; left out for the OS disk.
        public var lun: Int?
        /// The virtual size in GiB, rounded up.
        public var sizeInGB: Int
        /// Always `None`.
        public var hostCaching = "None"
        /// The local file the disk was made from.
        public var source: DiskSource
        /// The virtual size in bytes.
        public var virtualSize: UInt64
        /// Non-zero bytes at 512-byte granules: the occupied size snapshots are billed on.
        public var occupiedBytes: UInt64
        /// The content digest every replica has.
        public var digest: String
    }

    /// A version's `storageProfile`.
    public struct StorageProfile: Encodable, Sendable, Equatable {
        /// The OS disk.
        public var osDiskImage: DiskImageJSON
        /// The data disks, by LUN.
        public var dataDiskImages: [DiskImageJSON]
    }

    /// One region's entry of `replicationStatus.summary`.
    public struct RegionalStatus: Encodable, Sendable, Equatable {
        /// The region's name.
        public var region: String
        /// `Unknown`, `Replicating`, `Completed` or `Failed`.
        public var state: String
        /// Percent done, 0...100.
        public var progress: Int
        /// Why replication failed there, left out when nil.
        public var details: String?
    }

    /// A version's `replicationStatus`.
    public struct ReplicationStatus: Encodable, Sendable, Equatable {
        /// `Unknown`, `InProgress`, `Completed` or `Failed` over all regions.
        public var aggregatedState: String
        /// Each target region's state, in order.
        public var summary: [RegionalStatus]
        /// Percent of the version's replica bytes made, over all regions (vhdtool's own field:
        /// the sum of its replication jobs, whichever host runs them); 100 only when all are done.
        public var progress: Int
        /// Bytes of the version's replicas made so far (vhdtool's own field).
        public var doneBytes: UInt64
        /// Bytes of all the version's replicas: each disk's virtual size times its replicas (vhdtool's own field).
        public var totalBytes: UInt64
    }

    /// `az sig image-version show --expand ReplicationStatus`.
    public struct VersionJSON: Encodable, Sendable, Equatable {
        /// The version's name.
        public var name: String
        /// The resource id: `/galleries/GALLERY/images/DEFINITION/versions/NAME`.
        public var id: String
        /// The Azure resource type.
        public var type = "Microsoft.Compute/galleries/images/versions"
        /// The source region: the first target region.
        public var location: String?
        /// Resource tags.
        public var tags: [String: String]
        /// Where and how the version is published.
        public var publishingProfile: PublishingProfile
        /// The version's disks.
        public var storageProfile: StorageProfile
        /// Replication state per region.
        public var replicationStatus: ReplicationStatus
        /// `Creating`, `Updating`, `Deleting`, `Succeeded` or `Failed`.
        public var provisioningState: String

        /// The JSON of a version with everything about it.
        ///
        /// - Parameter details: The version, as ``GalleryStore/version(_:gallery:definition:)`` returns it.
        public init(_ details: VersionDetails) {
            let version = details.version
            name = version.name
            id = "/galleries/\(details.gallery.name)/images/\(details.definition.name)/versions/\(version.name)"
            location = details.regions.first?.region.name
            tags = version.tags
            publishingProfile = PublishingProfile(
                targetRegions: details.regions.map {
                    TargetRegionJSON(
                        name: $0.region.name, regionalReplicaCount: $0.target.replicaCount,
                        storageAccountType: $0.target.storageAccountType.rawValue,
                        excludeFromLatest: $0.excludedFromLatest(version: version))
                },
                replicaCount: version.replicaCount, storageAccountType: version.storageAccountType.rawValue,
                excludeFromLatest: version.excludeFromLatest, endOfLifeDate: version.endOfLifeDate,
                publishedDate: version.publishedDate)
            func image(_ disk: VersionDisk) -> DiskImageJSON {
                DiskImageJSON(
                    lun: disk.lun, sizeInGB: Int((disk.virtualSize + (1 << 30) - 1) >> 30),
                    source: DiskSource(uri: "file://" + disk.sourcePath), virtualSize: disk.virtualSize,
                    occupiedBytes: disk.occupiedBytes, digest: disk.digest)
            }
            storageProfile = StorageProfile(
                osDiskImage: image(details.disks[0]), dataDiskImages: details.disks.dropFirst().map(image))
            replicationStatus = ReplicationStatus(
                aggregatedState: details.aggregatedState,
                summary: details.regions.map {
                    RegionalStatus(region: $0.region.name, state: $0.target.state.rawValue, progress: $0.target.progress, details: $0.target.details)
                },
                progress: Self.percent(details), doneBytes: details.progressBytes.done, totalBytes: details.progressBytes.total)
            provisioningState = version.provisioningState
        }

        static func percent(_ details: VersionDetails) -> Int {
            let (done, total) = details.progressBytes
            if !details.jobs.isEmpty && details.jobs.allSatisfy({ $0.state == .done }) { return 100 }
            return total == 0 ? 0 : min(99, Int(done * 100 / total))
        }
    }
}
