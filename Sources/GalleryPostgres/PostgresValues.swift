import Foundation
import ImageGallery
import PostgresNIO

extension PostgresBindings {
    /// Binds a catalog value with the type PostgreSQL gives its columns: `BIGINT`, `DOUBLE
    /// PRECISION`, `TEXT`, or an untyped NULL (the server infers its type from the statement).
    mutating func append(_ value: CatalogValue) {
        switch value {
        case .null: appendNull()
        case .integer(let integer): append(integer)
        case .real(let real): append(real)
        case .text(let text): append(text)
        }
    }
}

extension CatalogValue {
    /// The value of one cell of a result row.
    ///
    /// Integers of every width are ``CatalogValue/integer(_:)``; a `NUMERIC` (what `sum()` of
    /// `BIGINT`s gives) is an integer when it is whole, else a real; a `boolean` (what `EXISTS`
    /// and comparisons give) is 0 or 1, as booleans are everywhere in the catalog.
    ///
    /// - Throws: ``CatalogEngineError`` (other) for a type the catalog never stores.
    init(cell: PostgresCell) throws(CatalogEngineError) {
        guard cell.bytes != nil else {
            self = .null
            return
        }
        do {
            switch cell.dataType {
            case .int2: self = .integer(Int64(try cell.decode(Int16.self)))
            case .int4: self = .integer(Int64(try cell.decode(Int32.self)))
            case .int8: self = .integer(try cell.decode(Int64.self))
            case .float4: self = .real(Double(try cell.decode(Float.self)))
            case .float8: self = .real(try cell.decode(Double.self))
            case .bool: self = .integer(try cell.decode(Bool.self) ? 1 : 0)
            case .numeric:
                let text = "\(try cell.decode(Decimal.self))"
                if let integer = Int64(text) {
                    self = .integer(integer)
                } else if let real = Double(text) {
                    self = .real(real)
                } else {
                    throw CatalogEngineError(.other, "the column '\(cell.columnName)' holds the number \(text), which is neither a 64-bit integer nor a double")
                }
            case .text, .varchar, .name, .bpchar: self = .text(try cell.decode(String.self))
            default:
                throw CatalogEngineError(.other, "the column '\(cell.columnName)' is of type \(cell.dataType), which the catalog does not store")
            }
        } catch let error as CatalogEngineError {
            throw error
        } catch {
            throw CatalogEngineError(.other, "the column '\(cell.columnName)' (\(cell.dataType)) cannot be read: \(error)")
        }
    }
}

extension CatalogRow {
    /// A result row, by the column names the server sent (lower case where the statement did not
    /// quote them: ``CatalogRow`` finds `galleryId` as `galleryid`).
    init(row: PostgresRow) throws(CatalogEngineError) {
        var values: [String: CatalogValue] = [:]
        for cell in row {
            values[cell.columnName] = try CatalogValue(cell: cell)
        }
        self.init(values)
    }
}
