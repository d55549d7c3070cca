/// A gallery image version's storage account types, as `az sig` names them.
public enum StorageAccountType: String, Sendable, Equatable, CaseIterable, Codable {
    /// Standard HDD storage, locally redundant.
    case standardLRS = "Standard_LRS"
    /// Standard HDD storage, zone redundant.
    case standardZRS = "Standard_ZRS"
    /// Premium SSD storage, locally redundant.
    case premiumLRS = "Premium_LRS"

    /// The type named `text`, compared case-insensitively (`standard_lrs` is Standard_LRS).
    public init?(caseInsensitive text: String) {
        guard let type = Self.allCases.first(where: { $0.rawValue.lowercased() == text.lowercased() }) else { return nil }
        self = type
    }
}
