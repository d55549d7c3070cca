extension GalleryStore {
    /// Creates a gallery.
    ///
    /// - Throws: ``GalleryError``: a bad name, a name taken, or the store's gallery limit reached.
    @discardableResult
    public func createGallery(_ name: String, description: String? = nil) throws(GalleryError) -> Gallery {
        try NameRules.checkResourceName(name, kind: "gallery")
        return try write { db in
            if try Gallery.fetchOne(db, where: "lower(name) = lower(?)", [.text(name)]) != nil {
                throw GalleryError.conflict("a gallery named '\(name)' already exists in the store")
            }
            let count = try Gallery.count(db)
            guard count < limits.galleries else {
                throw GalleryError.rule("the store already holds \(count) galleries, the most allowed")
            }
            var gallery = Gallery(id: nil, name: name, description: description, createdDate: GalleryDate.now.description)
            try gallery.insert(db)
            return gallery
        }
    }

    /// The gallery named `name`.
    ///
    /// - Parameter name: The gallery's name (compared ignoring case).
    /// - Returns: The gallery as the catalog holds it.
    /// - Throws: ``GalleryError`` when there is no such gallery or the catalog cannot be read.
    public func gallery(_ name: String) throws(GalleryError) -> Gallery {
        try read { db in try Self.gallery(name, in: db) }
    }

    /// Every gallery of the store, by name (ignoring case).
    ///
    /// - Returns: The galleries; empty when there are none.
    /// - Throws: ``GalleryError`` when the catalog cannot be read.
    public func galleries() throws(GalleryError) -> [Gallery] {
        try read { db in try Gallery.fetchAll(db, order: "lower(name), id") }
    }

    /// Changes a gallery's description, the one field that may change.
    @discardableResult
    public func updateGallery(_ name: String, description: String?) throws(GalleryError) -> Gallery {
        try write { db in
            var gallery = try Self.gallery(name, in: db)
            gallery.description = description
            try gallery.update(db)
            return gallery
        }
    }

    /// Deletes a gallery.
    ///
    /// - Throws: ``GalleryError``: no such gallery, or it still holds image definitions.
    public func deleteGallery(_ name: String) throws(GalleryError) {
        try write { db in
            let gallery = try Self.gallery(name, in: db)
            let definitions = try ImageDefinition.count(db, where: "galleryId = ?", [CatalogValue(gallery.id)])
            guard definitions == 0 else {
                throw GalleryError.conflict("the gallery '\(gallery.name)' cannot be deleted while it holds \(definitions) image definition\(definitions == 1 ? "" : "s")")
            }
            try gallery.delete(db)
        }
    }

    static func gallery(_ name: String, in db: any CatalogConnection) throws -> Gallery {
        guard let gallery = try Gallery.fetchOne(db, where: "lower(name) = lower(?)", [.text(name)]) else {
            throw GalleryError.notFound("there is no gallery named '\(name)' in the store")
        }
        return gallery
    }
}
