import Foundation

/// A record of the catalog and its table: how it is read from a ``CatalogRow`` and which
/// values it writes. Every engine stores the same columns: integers (booleans as 0 and 1),
/// reals, and text (dates, enumerations, JSON).
///
/// The statements built here are the common SQL of both engines; the rules themselves are
/// written in the other files of the Catalog folder.
protocol CatalogRecord: Sendable {
    /// The catalog table of these records.
    static var table: String { get }
    /// The row id, nil until the record is inserted.
    var id: Int64? { get set }
    /// Reads a record from a row of `SELECT * FROM table`.
    ///
    /// - Throws: ``GalleryError`` (io) when a column is missing or holds a value of another
    ///   kind: the catalog is damaged.
    init(row: CatalogRow) throws(GalleryError)
    /// Every column but `id`, with its value.
    var columns: KeyValuePairs<String, CatalogValue> { get }
}

extension CatalogRecord {
    /// Inserts the record and takes the id the engine gave it.
    mutating func insert(_ db: any CatalogConnection) throws {
        let columns = self.columns
        let sql = "INSERT INTO \(Self.table) (\(columns.map(\.key).joined(separator: ", "))) VALUES (\(columns.map { _ in "?" }.joined(separator: ", "))) RETURNING id"
        guard let row = try db.queryOne(sql, columns.map(\.value)), case let .integer(id) = row["id"] else {
            throw GalleryError(.io, "the catalog gave no id to the new row of '\(Self.table)'")
        }
        self.id = id
    }

    /// Writes every column of the record to its row.
    func update(_ db: any CatalogConnection) throws {
        let columns = self.columns
        let sql = "UPDATE \(Self.table) SET \(columns.map { "\($0.key) = ?" }.joined(separator: ", ")) WHERE id = ?"
        try db.execute(sql, columns.map(\.value) + [CatalogValue(id)])
    }

    /// Deletes the record's row.
    func delete(_ db: any CatalogConnection) throws {
        try db.execute("DELETE FROM \(Self.table) WHERE id = ?", [CatalogValue(id)])
    }

    /// The records whose rows match `condition` (SQL after `WHERE`, `?` for `arguments`), in
    /// the order of `order` (SQL after `ORDER BY`), or every record when `condition` is nil.
    static func fetchAll(
        _ db: any CatalogConnection, where condition: String? = nil, _ arguments: [CatalogValue] = [], order: String = "id",
        suffix: String = ""
    ) throws -> [Self] {
        let sql = "SELECT * FROM \(table)\(condition.map { " WHERE \($0)" } ?? "") ORDER BY \(order)\(suffix)"
        return try db.query(sql, arguments).map { (row) throws in try Self(row: row) }
    }

    /// The first record whose row matches `condition`, or nil.
    static func fetchOne(
        _ db: any CatalogConnection, where condition: String, _ arguments: [CatalogValue] = [], order: String = "id", suffix: String = ""
    ) throws -> Self? {
        try fetchAll(db, where: condition, arguments, order: order, suffix: " LIMIT 1" + suffix).first
    }

    /// The record with row id `id`, or nil.
    static func fetchOne(_ db: any CatalogConnection, id: Int64?, suffix: String = "") throws -> Self? {
        guard let id else { return nil }
        return try fetchOne(db, where: "id = ?", [.integer(id)], suffix: suffix)
    }

    /// How many rows match `condition` (every row when nil).
    static func count(_ db: any CatalogConnection, where condition: String? = nil, _ arguments: [CatalogValue] = []) throws -> Int {
        let row = try db.queryOne("SELECT COUNT(*) AS n FROM \(table)\(condition.map { " WHERE \($0)" } ?? "")", arguments)
        return Int(try row.map { (row) throws(GalleryError) in try row.int64("n", of: table) } ?? 0)
    }
}

// MARK: Reading values

extension CatalogRow {
    /// The integer in `column`; an engine's text or real holding a whole number is taken too.
    func int64(_ column: String, of table: String) throws(GalleryError) -> Int64 {
        guard let value = try optionalInt64(column, of: table) else { throw Self.damaged(column, of: table, "is empty") }
        return value
    }

    /// The integer in `column`, or nil when it is null.
    func optionalInt64(_ column: String, of table: String) throws(GalleryError) -> Int64? {
        guard has(column) else { throw Self.damaged(column, of: table, "is missing") }
        switch self[column] {
        case .null: return nil
        case let .integer(value): return value
        case let .real(value):
            guard let whole = Int64(exactly: value) else { throw Self.damaged(column, of: table, "holds \(value), not a whole number") }
            return whole
        case let .text(text):
            guard let value = Int64(text) else { throw Self.damaged(column, of: table, "holds '\(text)', not a number") }
            return value
        }
    }

    /// The integer in `column` as an `Int`.
    func int(_ column: String, of table: String) throws(GalleryError) -> Int {
        Int(truncatingIfNeeded: try int64(column, of: table))
    }

    /// The integer in `column` as an `Int`, or nil when it is null.
    func optionalInt(_ column: String, of table: String) throws(GalleryError) -> Int? {
        try optionalInt64(column, of: table).map { Int(truncatingIfNeeded: $0) }
    }

    /// A size in bytes: a non-negative integer.
    func size(_ column: String, of table: String) throws(GalleryError) -> UInt64 {
        let value = try int64(column, of: table)
        guard value >= 0 else { throw Self.damaged(column, of: table, "holds the negative size \(value)") }
        return UInt64(value)
    }

    /// A boolean stored as 0 or 1 (or an engine's own boolean).
    func optionalBool(_ column: String, of table: String) throws(GalleryError) -> Bool? {
        if case let .text(text) = self[column], ["t", "true", "f", "false"].contains(text) { return text.hasPrefix("t") }
        return try optionalInt64(column, of: table).map { $0 != 0 }
    }

    /// A boolean that is never null.
    func bool(_ column: String, of table: String) throws(GalleryError) -> Bool {
        guard let value = try optionalBool(column, of: table) else { throw Self.damaged(column, of: table, "is empty") }
        return value
    }

    /// The real number in `column`, or nil when it is null; an integer is taken too.
    func optionalDouble(_ column: String, of table: String) throws(GalleryError) -> Double? {
        guard has(column) else { throw Self.damaged(column, of: table, "is missing") }
        switch self[column] {
        case .null: return nil
        case let .integer(value): return Double(value)
        case let .real(value): return value
        case let .text(text):
            guard let value = Double(text) else { throw Self.damaged(column, of: table, "holds '\(text)', not a number") }
            return value
        }
    }

    /// The text in `column`, or nil when it is null.
    func optionalText(_ column: String, of table: String) throws(GalleryError) -> String? {
        guard has(column) else { throw Self.damaged(column, of: table, "is missing") }
        switch self[column] {
        case .null: return nil
        case let .text(text): return text
        case let .integer(value): return String(value)
        case let .real(value): return String(value)
        }
    }

    /// The text in `column`, never null.
    func text(_ column: String, of table: String) throws(GalleryError) -> String {
        guard let value = try optionalText(column, of: table) else { throw Self.damaged(column, of: table, "is empty") }
        return value
    }

    /// A value of a string enumeration, by its raw value.
    func value<T: RawRepresentable>(_ column: String, of table: String, as: T.Type = T.self) throws(GalleryError) -> T where T.RawValue == String {
        let text = try text(column, of: table)
        guard let value = T(rawValue: text) else { throw Self.damaged(column, of: table, "holds '\(text)', which is not a known value") }
        return value
    }

    /// A value of a string enumeration, or nil when the column is null.
    func optionalValue<T: RawRepresentable>(_ column: String, of table: String, as: T.Type = T.self) throws(GalleryError) -> T? where T.RawValue == String {
        guard try optionalText(column, of: table) != nil else { return nil }
        return try value(column, of: table)
    }

    /// A JSON value stored as text.
    func json<T: Decodable>(_ column: String, of table: String, as: T.Type = T.self) throws(GalleryError) -> T {
        let text = try text(column, of: table)
        do {
            return try JSONDecoder().decode(T.self, from: Data(text.utf8))
        } catch {
            throw Self.damaged(column, of: table, "holds text that is not the JSON expected")
        }
    }

    static func damaged(_ column: String, of table: String, _ what: String) -> GalleryError {
        GalleryError(.io, "the catalog is damaged: the column '\(column)' of a row of '\(table)' \(what)", remedy: .checkStore)
    }
}

extension CatalogValue {
    /// A value as JSON text (tags, lists).
    static func json(_ value: some Encodable) -> CatalogValue {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        // Encoding dictionaries and arrays of strings cannot fail.
        guard let data = try? encoder.encode(value) else { return .null }
        return .text(String(decoding: data, as: UTF8.self))
    }

    /// A size in bytes as an integer.
    init(size: UInt64) { self = .integer(Int64(clamping: size)) }
}

// MARK: The records

extension Region: CatalogRecord {
    static let table = "region"

    init(row: CatalogRow) throws(GalleryError) {
        let t = Self.table
        self.init(id: try row.int64("id", of: t), name: try row.text("name", of: t), path: try row.text("path", of: t),
                  isDefault: try row.bool("isDefault", of: t))
    }

    var columns: KeyValuePairs<String, CatalogValue> {
        ["name": .text(name), "path": .text(path), "isDefault": CatalogValue(isDefault)]
    }
}

extension Gallery: CatalogRecord {
    static let table = "gallery"

    init(row: CatalogRow) throws(GalleryError) {
        let t = Self.table
        self.init(id: try row.int64("id", of: t), name: try row.text("name", of: t), description: try row.optionalText("description", of: t),
                  createdDate: try row.text("createdDate", of: t))
    }

    var columns: KeyValuePairs<String, CatalogValue> {
        ["name": .text(name), "description": CatalogValue(description), "createdDate": .text(createdDate)]
    }
}

extension ImageDefinition: CatalogRecord {
    static let table = "definition"

    init(row: CatalogRow) throws(GalleryError) {
        let t = Self.table
        self.init(
            id: try row.int64("id", of: t), galleryId: try row.int64("galleryId", of: t), name: try row.text("name", of: t),
            publisher: try row.text("publisher", of: t), offer: try row.text("offer", of: t), sku: try row.text("sku", of: t),
            osType: try row.value("osType", of: t), osState: try row.value("osState", of: t),
            hyperVGeneration: try row.value("hyperVGeneration", of: t), architecture: try row.value("architecture", of: t),
            description: try row.optionalText("description", of: t), eula: try row.optionalText("eula", of: t),
            privacyStatementUri: try row.optionalText("privacyStatementUri", of: t),
            releaseNoteUri: try row.optionalText("releaseNoteUri", of: t), endOfLifeDate: try row.optionalText("endOfLifeDate", of: t),
            tags: try row.json("tags", of: t), minVCPUs: try row.optionalInt("minVCPUs", of: t),
            maxVCPUs: try row.optionalInt("maxVCPUs", of: t), minMemoryMB: try row.optionalInt("minMemoryMB", of: t),
            maxMemoryMB: try row.optionalInt("maxMemoryMB", of: t), disallowedDiskTypes: try row.json("disallowedDiskTypes", of: t),
            planName: try row.optionalText("planName", of: t), planPublisher: try row.optionalText("planPublisher", of: t),
            planProduct: try row.optionalText("planProduct", of: t), createdDate: try row.text("createdDate", of: t))
    }

    var columns: KeyValuePairs<String, CatalogValue> {
        [
            "galleryId": .integer(galleryId), "name": .text(name), "publisher": .text(publisher), "offer": .text(offer),
            "sku": .text(sku), "osType": .text(osType.rawValue), "osState": .text(osState.rawValue),
            "hyperVGeneration": .text(hyperVGeneration.rawValue), "architecture": .text(architecture.rawValue),
            "description": CatalogValue(description), "eula": CatalogValue(eula),
            "privacyStatementUri": CatalogValue(privacyStatementUri), "releaseNoteUri": CatalogValue(releaseNoteUri),
            "endOfLifeDate": CatalogValue(endOfLifeDate), "tags": .json(tags), "minVCPUs": CatalogValue(minVCPUs),
            "maxVCPUs": CatalogValue(maxVCPUs), "minMemoryMB": CatalogValue(minMemoryMB), "maxMemoryMB": CatalogValue(maxMemoryMB),
            "disallowedDiskTypes": .json(disallowedDiskTypes), "planName": CatalogValue(planName),
            "planPublisher": CatalogValue(planPublisher), "planProduct": CatalogValue(planProduct), "createdDate": .text(createdDate),
        ]
    }
}

extension ImageVersion: CatalogRecord {
    static let table = "version"

    init(row: CatalogRow) throws(GalleryError) {
        let t = Self.table
        self.init(
            id: try row.int64("id", of: t), definitionId: try row.int64("definitionId", of: t), name: try row.text("name", of: t),
            major: try row.int("major", of: t), minor: try row.int("minor", of: t), patch: try row.int("patch", of: t),
            replicaCount: try row.int("replicaCount", of: t), storageAccountType: try row.value("storageAccountType", of: t),
            excludeFromLatest: try row.bool("excludeFromLatest", of: t), endOfLifeDate: try row.optionalText("endOfLifeDate", of: t),
            tags: try row.json("tags", of: t), publishedDate: try row.text("publishedDate", of: t),
            provisioningState: try row.text("provisioningState", of: t), leaseOperation: try row.optionalText("leaseOperation", of: t),
            leaseHost: try row.optionalText("leaseHost", of: t), leasePid: try row.optionalInt64("leasePid", of: t),
            leaseStart: try row.optionalInt64("leaseStart", of: t), leaseExpiry: try row.optionalDouble("leaseExpiry", of: t))
    }

    var columns: KeyValuePairs<String, CatalogValue> {
        [
            "definitionId": .integer(definitionId), "name": .text(name), "major": CatalogValue(major), "minor": CatalogValue(minor),
            "patch": CatalogValue(patch), "replicaCount": CatalogValue(replicaCount),
            "storageAccountType": .text(storageAccountType.rawValue), "excludeFromLatest": CatalogValue(excludeFromLatest),
            "endOfLifeDate": CatalogValue(endOfLifeDate), "tags": .json(tags), "publishedDate": .text(publishedDate),
            "provisioningState": .text(provisioningState), "leaseOperation": CatalogValue(leaseOperation),
            "leaseHost": CatalogValue(leaseHost), "leasePid": CatalogValue(leasePid), "leaseStart": CatalogValue(leaseStart),
            "leaseExpiry": CatalogValue(leaseExpiry),
        ]
    }
}

extension VersionDisk: CatalogRecord {
    static let table = "versionDisk"

    init(row: CatalogRow) throws(GalleryError) {
        let t = Self.table
        self.init(
            id: try row.int64("id", of: t), versionId: try row.int64("versionId", of: t), lun: try row.optionalInt("lun", of: t),
            sourcePath: try row.text("sourcePath", of: t), virtualSize: try row.size("virtualSize", of: t),
            occupiedBytes: try row.size("occupiedBytes", of: t), digest: try row.text("digest", of: t))
    }

    var columns: KeyValuePairs<String, CatalogValue> {
        [
            "versionId": .integer(versionId), "lun": CatalogValue(lun), "sourcePath": .text(sourcePath),
            "virtualSize": CatalogValue(size: virtualSize), "occupiedBytes": CatalogValue(size: occupiedBytes), "digest": .text(digest),
        ]
    }
}

extension VersionRegion: CatalogRecord {
    static let table = "versionRegion"

    init(row: CatalogRow) throws(GalleryError) {
        let t = Self.table
        self.init(
            id: try row.int64("id", of: t), versionId: try row.int64("versionId", of: t), regionId: try row.int64("regionId", of: t),
            position: try row.int("position", of: t), replicaCount: try row.int("replicaCount", of: t),
            storageAccountType: try row.value("storageAccountType", of: t),
            excludeFromLatest: try row.optionalBool("excludeFromLatest", of: t), state: try row.value("state", of: t),
            progress: try row.int("progress", of: t), details: try row.optionalText("details", of: t))
    }

    var columns: KeyValuePairs<String, CatalogValue> {
        [
            "versionId": .integer(versionId), "regionId": .integer(regionId), "position": CatalogValue(position),
            "replicaCount": CatalogValue(replicaCount), "storageAccountType": .text(storageAccountType.rawValue),
            "excludeFromLatest": CatalogValue(excludeFromLatest), "state": .text(state.rawValue), "progress": CatalogValue(progress),
            "details": CatalogValue(details),
        ]
    }
}

extension ReplicationJob: CatalogRecord {
    static let table = "replicationJob"

    init(row: CatalogRow) throws(GalleryError) {
        let t = Self.table
        self.init(
            id: try row.int64("id", of: t), versionId: try row.int64("versionId", of: t), regionId: try row.int64("regionId", of: t),
            versionDiskId: try row.int64("versionDiskId", of: t), replicaIndex: try row.int("replicaIndex", of: t),
            state: try row.value("state", of: t), fileSize: try row.optionalInt64("fileSize", of: t),
            digest: try row.optionalText("digest", of: t), details: try row.optionalText("details", of: t),
            doneBytes: try row.int64("doneBytes", of: t), leaseHost: try row.optionalText("leaseHost", of: t),
            leasePid: try row.optionalInt64("leasePid", of: t), leaseStart: try row.optionalInt64("leaseStart", of: t),
            leaseExpiry: try row.optionalDouble("leaseExpiry", of: t))
    }

    var columns: KeyValuePairs<String, CatalogValue> {
        [
            "versionId": .integer(versionId), "regionId": .integer(regionId), "versionDiskId": .integer(versionDiskId),
            "replicaIndex": CatalogValue(replicaIndex), "state": .text(state.rawValue), "fileSize": CatalogValue(fileSize),
            "digest": CatalogValue(digest), "details": CatalogValue(details), "doneBytes": .integer(doneBytes),
            "leaseHost": CatalogValue(leaseHost), "leasePid": CatalogValue(leasePid), "leaseStart": CatalogValue(leaseStart),
            "leaseExpiry": CatalogValue(leaseExpiry),
        ]
    }
}
