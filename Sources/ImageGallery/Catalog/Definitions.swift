/// What `definition create` asks for.
public struct DefinitionRequest: Sendable, Equatable {
    /// The definition's name: at most 80 ASCII letters, digits, `_`, `-` and `.`, starting with a letter
    /// or digit, not ending in `.` or `-`; unique in its gallery (ignoring case).
    public var name: String
    /// The publisher of the identifier: at most 128 letters, digits, `-`, `_` and `.`, not ending in `.`.
    public var publisher: String
    /// The offer of the identifier: at most 64 letters, digits, `-`, `_` and `.`, not ending in `.`.
    public var offer: String
    /// The SKU of the identifier: at most 64 letters, digits, `-`, `_` and `.`, not ending in `.`;
    /// publisher, offer and SKU together are unique in the gallery.
    public var sku: String
    /// The operating system of the definition's images.
    public var osType: GalleryOSType
    /// Whether the definition's images are generalized or specialized; every version's OS disk must match it.
    public var osState: GalleryOSState
    /// How the definition's images boot (V1 by default).
    public var hyperVGeneration: GalleryHyperVGeneration = .v1
    /// The processor architecture of the definition's images (x64 by default).
    public var architecture: GalleryArchitecture = .x64
    /// A free-text description, or nil for none.
    public var description: String?
    /// The end-user license agreement text, or nil for none.
    public var eula: String?
    /// The privacy statement's URI, or nil for none; it must be an absolute URI.
    public var privacyStatementUri: String?
    /// The release notes' URI, or nil for none; it must be an absolute URI.
    public var releaseNoteUri: String?
    /// The end of life, written `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM:SSZ` (UTC), or nil for none; it must
    /// not be in the past.
    public var endOfLifeDate: String?
    /// Resource tags: at most 50; keys 1...512 characters without `< > % & \ ? /`, values at most 256
    /// characters.
    public var tags: [String: String] = [:]
    /// The recommended minimum number of virtual CPUs, or nil for none; not above ``maxVCPUs``.
    public var minVCPUs: Int?
    /// The recommended maximum number of virtual CPUs, or nil for none.
    public var maxVCPUs: Int?
    /// The recommended minimum memory in MB (MiB), or nil for none; not above ``maxMemoryMB``.
    public var minMemoryMB: Int?
    /// The recommended maximum memory in MB (MiB), or nil for none.
    public var maxMemoryMB: Int?
    /// Azure managed disk types the images must not run on (`Standard_LRS`, `Premium_LRS` and the like,
    /// any case); empty allows all.
    public var disallowedDiskTypes: [String] = []
    /// The purchase plan's name; the plan's name, publisher and product are given together or not at all.
    public var planName: String?
    /// The purchase plan's publisher, or nil for no plan.
    public var planPublisher: String?
    /// The purchase plan's product, or nil for no plan.
    public var planProduct: String?

    /// A request for a definition with its identity and OS; every other field starts empty or at its default.
    ///
    /// - Parameters:
    ///   - name: The definition's name (see ``name``).
    ///   - publisher: The identifier's publisher.
    ///   - offer: The identifier's offer.
    ///   - sku: The identifier's SKU.
    ///   - osType: The images' operating system.
    ///   - osState: Whether the images are generalized or specialized.
    public init(name: String, publisher: String, offer: String, sku: String, osType: GalleryOSType, osState: GalleryOSState) {
        self.name = name
        self.publisher = publisher
        self.offer = offer
        self.sku = sku
        self.osType = osType
        self.osState = osState
    }
}

/// What `definition update` changes: only the fields the model lets change. A nil field is
/// left as it is; `Optional.some(nil)` clears an optional field.
public struct DefinitionUpdate: Sendable, Equatable {
    /// A new description; `.some(nil)` clears it, nil leaves it.
    public var description: String??
    /// A new end of life (`YYYY-MM-DD` or `YYYY-MM-DDTHH:MM:SSZ`, not in the past); `.some(nil)` clears
    /// it, nil leaves it.
    public var endOfLifeDate: String??
    /// A new release notes' URI (absolute); `.some(nil)` clears it, nil leaves it.
    public var releaseNoteUri: String??
    /// Tags that replace all the current ones (the same limits as at creation); nil leaves them.
    public var tags: [String: String]?
    /// A new recommended minimum of virtual CPUs; `.some(nil)` clears it, nil leaves it.
    public var minVCPUs: Int??
    /// A new recommended maximum of virtual CPUs; `.some(nil)` clears it, nil leaves it.
    public var maxVCPUs: Int??
    /// A new recommended minimum memory in MB (MiB); `.some(nil)` clears it, nil leaves it.
    public var minMemoryMB: Int??
    /// A new recommended maximum memory in MB (MiB); `.some(nil)` clears it, nil leaves it.
    public var maxMemoryMB: Int??

    /// An update that changes nothing; set the fields to change.
    public init() {}
}

extension GalleryStore {
    /// Creates an image definition in `galleryName`.
    ///
    /// - Throws: ``GalleryError``: a bad name or identifier, min above max, an end of life in
    ///   the past, a name or publisher/offer/SKU taken in the gallery, the definition limit.
    @discardableResult
    public func createDefinition(_ request: DefinitionRequest, gallery galleryName: String) throws(GalleryError) -> ImageDefinition {
        try NameRules.checkResourceName(request.name, kind: "image definition")
        try NameRules.checkIdentifierPart(request.publisher, field: "publisher", maximumLength: 128)
        try NameRules.checkIdentifierPart(request.offer, field: "offer", maximumLength: 64)
        try NameRules.checkIdentifierPart(request.sku, field: "SKU", maximumLength: 64)
        try NameRules.checkTags(request.tags)
        try NameRules.checkURI(request.privacyStatementUri, field: "privacy statement URI")
        try NameRules.checkURI(request.releaseNoteUri, field: "release note URI")
        try Self.checkRange(request.minVCPUs, request.maxVCPUs, property: "recommended.vCPUs")
        try Self.checkRange(request.minMemoryMB, request.maxMemoryMB, property: "recommended.memory")
        let endOfLife = try request.endOfLifeDate.map { (text) throws(GalleryError) in try GalleryDate.endOfLife(text).description }
        var disallowed: [String] = []
        for type in request.disallowedDiskTypes {
            guard let known = DiskTypes.all.first(where: { $0.lowercased() == type.lowercased() }) else {
                throw .rule("'\(type)' is not a disk type (\(DiskTypes.all.joined(separator: ", ")))")
            }
            if !disallowed.contains(known) { disallowed.append(known) }
        }
        let plan = [request.planName, request.planPublisher, request.planProduct]
        guard plan.allSatisfy({ $0 == nil }) || plan.allSatisfy({ $0 != nil }) else {
            throw .rule("a purchase plan needs its name, publisher and product together")
        }
        return try write { db in
            let gallery = try Self.gallery(galleryName, in: db)
            if try ImageDefinition.fetchOne(db, where: "galleryId = ? AND lower(name) = lower(?)", [CatalogValue(gallery.id), .text(request.name)]) != nil {
                throw GalleryError.conflict("an image definition named '\(request.name)' already exists in the gallery '\(gallery.name)'")
            }
            if let other = try ImageDefinition.fetchOne(
                db, where: "galleryId = ? AND lower(publisher) = lower(?) AND lower(offer) = lower(?) AND lower(sku) = lower(?)",
                [CatalogValue(gallery.id), .text(request.publisher), .text(request.offer), .text(request.sku)]
            ) {
                throw GalleryError.conflict("Gallery image: \(other.name) identified by (publisher:\(request.publisher), offer:\(request.offer), sku:\(request.sku)) already exists; the publisher/offer/SKU triple must be unique in a gallery")
            }
            let count = try ImageDefinition.count(db)
            guard count < limits.definitions else {
                throw GalleryError.rule("the store already holds \(count) image definitions, the most allowed")
            }
            var definition = ImageDefinition(
                id: nil, galleryId: gallery.id!, name: request.name, publisher: request.publisher, offer: request.offer,
                sku: request.sku, osType: request.osType, osState: request.osState, hyperVGeneration: request.hyperVGeneration,
                architecture: request.architecture, description: request.description, eula: request.eula,
                privacyStatementUri: request.privacyStatementUri, releaseNoteUri: request.releaseNoteUri,
                endOfLifeDate: endOfLife, tags: request.tags, minVCPUs: request.minVCPUs, maxVCPUs: request.maxVCPUs,
                minMemoryMB: request.minMemoryMB, maxMemoryMB: request.maxMemoryMB, disallowedDiskTypes: disallowed,
                planName: request.planName, planPublisher: request.planPublisher, planProduct: request.planProduct,
                createdDate: GalleryDate.now.description)
            try definition.insert(db)
            return definition
        }
    }

    /// The image definition `name` of the gallery `gallery`.
    ///
    /// - Parameters:
    ///   - name: The definition's name (compared ignoring case).
    ///   - gallery: The gallery's name.
    /// - Returns: The definition as the catalog holds it.
    /// - Throws: ``GalleryError`` (``GalleryError/Category/notFound``) when the gallery or the definition
    ///   does not exist, or when the catalog cannot be read.
    public func definition(_ name: String, gallery: String) throws(GalleryError) -> ImageDefinition {
        try read { db in try Self.definition(name, gallery: gallery, in: db) }
    }

    /// The image definitions of a gallery, by name.
    ///
    /// - Parameter galleryName: The gallery's name.
    /// - Returns: The gallery's definitions; empty when it has none.
    /// - Throws: ``GalleryError`` when the gallery does not exist or the catalog cannot be read.
    public func definitions(gallery galleryName: String) throws(GalleryError) -> [ImageDefinition] {
        try read { db in
            let gallery = try Self.gallery(galleryName, in: db)
            return try ImageDefinition.fetchAll(db, where: "galleryId = ?", [CatalogValue(gallery.id)], order: "lower(name), id")
        }
    }

    /// Changes the fields of a definition that may change; min <= max holds afterwards.
    @discardableResult
    public func updateDefinition(_ name: String, gallery: String, _ update: DefinitionUpdate) throws(GalleryError) -> ImageDefinition {
        if let tags = update.tags { try NameRules.checkTags(tags) }
        if let uri = update.releaseNoteUri { try NameRules.checkURI(uri, field: "release note URI") }
        let endOfLife: String?? = try update.endOfLifeDate.map { (text) throws(GalleryError) in
            try text.map { (text) throws(GalleryError) in try GalleryDate.endOfLife(text).description }
        }
        return try write { db in
            var definition = try Self.definition(name, gallery: gallery, in: db)
            if let value = update.description { definition.description = value }
            if let value = endOfLife { definition.endOfLifeDate = value }
            if let value = update.releaseNoteUri { definition.releaseNoteUri = value }
            if let value = update.tags { definition.tags = value }
            if let value = update.minVCPUs { definition.minVCPUs = value }
            if let value = update.maxVCPUs { definition.maxVCPUs = value }
            if let value = update.minMemoryMB { definition.minMemoryMB = value }
            if let value = update.maxMemoryMB { definition.maxMemoryMB = value }
            try Self.checkRange(definition.minVCPUs, definition.maxVCPUs, property: "recommended.vCPUs")
            try Self.checkRange(definition.minMemoryMB, definition.maxMemoryMB, property: "recommended.memory")
            try definition.update(db)
            return definition
        }
    }

    /// Deletes a definition.
    ///
    /// - Throws: ``GalleryError``: no such definition, or it still has versions.
    public func deleteDefinition(_ name: String, gallery: String) throws(GalleryError) {
        try write { db in
            let definition = try Self.definition(name, gallery: gallery, in: db)
            let versions = try ImageVersion.count(db, where: "definitionId = ?", [CatalogValue(definition.id)])
            guard versions == 0 else {
                throw GalleryError.conflict("the image definition '\(definition.name)' cannot be deleted while it has \(versions) image version\(versions == 1 ? "" : "s")")
            }
            try definition.delete(db)
        }
    }

    static func definition(_ name: String, gallery galleryName: String, in db: any CatalogConnection) throws -> ImageDefinition {
        let gallery = try Self.gallery(galleryName, in: db)
        guard let definition = try ImageDefinition.fetchOne(
            db, where: "galleryId = ? AND lower(name) = lower(?)", [CatalogValue(gallery.id), .text(name)]) else {
            throw GalleryError.notFound("there is no image definition named '\(name)' in the gallery '\(gallery.name)'")
        }
        return definition
    }

    static func checkRange(_ minimum: Int?, _ maximum: Int?, property: String) throws(GalleryError) {
        for value in [minimum, maximum].compactMap({ $0 }) where value < 1 {
            throw .rule("the value \(value) of \(property) is out of range; it must be at least 1")
        }
        if let minimum, let maximum, minimum > maximum {
            throw .rule("The minimum value of \(property) must not be greater than the maximum value (\(minimum) > \(maximum))")
        }
    }
}
