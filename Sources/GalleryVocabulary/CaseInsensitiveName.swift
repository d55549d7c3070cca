extension RawRepresentable where RawValue == String, Self: CaseIterable {
    /// The case whose raw value is `text`, ignoring case: how the command line and the readers
    /// of tags and catalogs take the gallery's words (`linux`, `Linux` and `LINUX` are one).
    package init?(caseInsensitive text: String) {
        guard let found = Self.allCases.first(where: { $0.rawValue.lowercased() == text.lowercased() }) else { return nil }
        self = found
    }
}
