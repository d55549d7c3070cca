import ArgumentParser
import GalleryVocabulary

/// A case-insensitive choice of a gallery enum on the command line.
package struct Choice<Value: RawRepresentable & CaseIterable & Sendable>: ExpressibleByArgument where Value.RawValue == String {
    package var value: Value

    package init?(argument: String) {
        guard let value = Value(caseInsensitive: argument) else { return nil }
        self.value = value
    }

    package static var allValueStrings: [String] { Value.allCases.map { $0.rawValue.lowercased() } }
}

/// "generalized", "V2" and the like, for messages.
package func choices<Value: RawRepresentable & CaseIterable>(_: Value.Type) -> String where Value.RawValue == String {
    Value.allCases.map(\.rawValue).joined(separator: "|")
}
