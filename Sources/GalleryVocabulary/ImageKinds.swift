/// The operating system of an image definition, as Azure writes it.
public enum GalleryOSType: String, Codable, Sendable, Equatable, CaseIterable {
    case linux = "Linux"
    case windows = "Windows"
}

/// Whether a definition's images are generalized or specialized, as Azure writes it.
public enum GalleryOSState: String, Codable, Sendable, Equatable, CaseIterable {
    case generalized = "Generalized"
    case specialized = "Specialized"
}

/// How a definition's images boot: V1 (BIOS, MBR) or V2 (UEFI, GPT).
public enum GalleryHyperVGeneration: String, Codable, Sendable, Equatable, CaseIterable {
    case v1 = "V1"
    case v2 = "V2"
}

/// The processor architecture of a definition's images, as Azure writes it.
public enum GalleryArchitecture: String, Codable, Sendable, Equatable, CaseIterable {
    case x64 = "x64"
    case arm64 = "Arm64"
}
