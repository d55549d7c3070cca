import VHD

/// The catalog's resources as `az sig ... show` prints them: camelCase keys, the REST API's
/// `properties` flattened into the top level (nest every key but `name`, `id`, `type`,
/// `location` and `tags` under `properties` to get the REST body). Absent values are left out.
public enum AzureShape {
    public struct GalleryJSON: Encodable, Sendable, Equatable {
        public var name: String
        public var id: String
        public var type = "Microsoft.Compute/galleries"
        public var description: String?
        public var provisioningState = "Succeeded"

        public init(_ gallery: Gallery) {
            name = gallery.name
            id = "/galleries/\(gallery.name)"
            description = gallery.description
        }
    }

    public struct Identifier: Encodable, Sendable, Equatable {
        public var publisher, offer, sku: String
    }

    public struct Range: Encodable, Sendable, Equatable {
        public var min, max: Int?
    }

    public struct Recommended: Encodable, Sendable, Equatable {
        public var vCPUs: Range?
        /// In MB.
        public var memory: Range?
    }

    public struct Disallowed: Encodable, Sendable, Equatable {
        public var diskTypes: [String]
    }

    public struct PurchasePlan: Encodable, Sendable, Equatable {
        public var name, publisher, product: String?
    }

    /// `az sig image-definition show`.
    public struct DefinitionJSON: Encodable, Sendable, Equatable {
        public var name: String
        public var id: String
        public var type = "Microsoft.Compute/galleries/images"
        public var tags: [String: String]
        public var identifier: Identifier
        public var osType: String
        public var osState: String
        public var hyperVGeneration: String
        public var architecture: String
        public var description, eula, privacyStatementUri, releaseNoteUri, endOfLifeDate: String?
        public var recommended: Recommended?
        public var disallowed: Disallowed?
        public var purchasePlan: PurchasePlan?
        public var provisioningState = "Succeeded"

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

    public struct TargetRegionJSON: Encodable, Sendable, Equatable {
        public var name: String
        public var regionalReplicaCount: Int
        public var storageAccountType: String
        /// The region's effective flag (its own, else the version's).
        public var excludeFromLatest: Bool
    }

    public struct PublishingProfile: Encodable, Sendable, Equatable {
        public var targetRegions: [TargetRegionJSON]
        public var replicaCount: Int
        public var storageAccountType: String
        public var excludeFromLatest: Bool
        public var endOfLifeDate: String?
        public var publishedDate: String
    }

    public struct DiskSource: Encodable, Sendable, Equatable {
        /// The local file the disk was made from, as a file URI.
        public var uri: String
    }

    /// An OS or data disk image: Azure's fields, then vhdtool's own (`virtualSize`,
    /// `occupiedBytes`, `digest`), which Azure's models ignore.
    public struct DiskImageJSON: Encodable, Sendable, Equatable {
        public var lun: Int?
        public var sizeInGB: Int
        public var hostCaching = "None"
        public var source: DiskSource
        public var virtualSize: UInt64
        public var occupiedBytes: UInt64
        public var digest: String
    }

    public struct StorageProfile: Encodable, Sendable, Equatable {
        public var osDiskImage: DiskImageJSON
        public var dataDiskImages: [DiskImageJSON]
    }

    public struct RegionalStatus: Encodable, Sendable, Equatable {
        public var region: String
        public var state: String
        public var progress: Int
        public var details: String?
    }

    public struct ReplicationStatus: Encodable, Sendable, Equatable {
        public var aggregatedState: String
        public var summary: [RegionalStatus]
    }

    /// `az sig image-version show --expand ReplicationStatus`.
    public struct VersionJSON: Encodable, Sendable, Equatable {
        public var name: String
        public var id: String
        public var type = "Microsoft.Compute/galleries/images/versions"
        /// The source region: the first target region.
        public var location: String?
        public var tags: [String: String]
        public var publishingProfile: PublishingProfile
        public var storageProfile: StorageProfile
        public var replicationStatus: ReplicationStatus
        public var provisioningState: String

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
                })
            provisioningState = version.provisioningState
        }
    }
}
