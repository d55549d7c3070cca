// What an image is, in Azure's words: one enum per field of an image definition, shared by the
// tags vhdtool writes (VHD's ImageTag, DiskLayout) and the gallery (ImageGallery). The raw value
// is Azure's spelling, which the gallery's catalog stores and its JSON shows; `tagName` is the
// spelling of vhdtool's tag sidecar and reports. Reading accepts either, in any case.

/// The operating system an image holds, as Azure's image gallery knows it.
public enum OSType: String, Codable, Sendable, Equatable, CaseIterable {
    /// Linux (and the other Unix-likes Azure runs as Linux, such as FreeBSD).
    case linux = "Linux"
    /// Windows.
    case windows = "Windows"

    /// The spelling of vhdtool's tags and reports: `linux` or `windows`.
    public var tagName: String { rawValue.lowercased() }
}

/// Whether an image was generalized (sysprep, waagent -deprovision: machine-specific data
/// removed, ready to make many VMs) or is a specialized copy of one machine.
public enum OSState: String, Codable, Sendable, Equatable, CaseIterable {
    /// Machine-specific data removed.
    case generalized = "Generalized"
    /// One machine as it was.
    case specialized = "Specialized"

    /// The spelling of vhdtool's tags and reports: `generalized` or `specialized`.
    public var tagName: String { rawValue.lowercased() }
}

/// How the VM boots: V1 is BIOS from an MBR disk, V2 is UEFI from a GPT disk.
public enum HyperVGeneration: String, Codable, Sendable, Equatable, CaseIterable {
    /// Generation 1: BIOS boot from an MBR disk.
    case v1 = "V1"
    /// Generation 2: UEFI boot from a GPT disk with an EFI system partition.
    case v2 = "V2"

    /// The spelling of vhdtool's tags and reports, Azure's too: `V1` or `V2`.
    public var tagName: String { rawValue }
}

/// The processor architecture an image is built for.
public enum Architecture: String, Codable, Sendable, Equatable, CaseIterable {
    /// 64-bit x86.
    case x64 = "x64"
    /// 64-bit ARM.
    case arm64 = "Arm64"

    /// The spelling of vhdtool's tags and reports: `x64` or `arm64`.
    public var tagName: String { rawValue.lowercased() }
}
