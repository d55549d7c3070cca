extension RawRepresentable where RawValue == String, Self: CaseIterable {
    /// The case whose raw value is `text`, ignoring case.
    package init?(caseInsensitive text: String) {
        guard let found = Self.allCases.first(where: { $0.rawValue.lowercased() == text.lowercased() }) else { return nil }
        self = found
    }
}
