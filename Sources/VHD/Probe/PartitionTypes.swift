/// The partition types the probe names and reasons about: GPT type GUIDs (UEFI specification,
/// Microsoft's and the Discoverable Partitions Specification's lists) and MBR type bytes.
enum PartitionTypes {
    static let efiSystem = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
    static let biosBoot = "21686148-6449-6E6F-744E-656564454649"  // "Hah!IdontNeedEFI": GRUB on BIOS
    static let microsoftReserved = "E3C9E316-0B5C-4DB8-817D-F92DF00215AE"
    static let windowsRecovery = "DE94BBA4-06D1-4D40-A16A-BFD50179D6AC"

    /// GPT type GUID -> name, and which OS the type marks.
    static let gpt: [String: (name: String, os: OSType?)] = [
        efiSystem: ("EFI System", nil),
        biosBoot: ("BIOS boot", .linux),
        microsoftReserved: ("Microsoft reserved", .windows),
        "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7": ("Microsoft basic data", nil),  // also FAT/exFAT data anywhere
        windowsRecovery: ("Windows recovery", .windows),
        "5808C8AA-7E8F-42E0-85D2-E1E90434CFB3": ("Windows LDM metadata", .windows),
        "AF9B60A0-1431-4F62-BC68-3311714A69AD": ("Windows LDM data", .windows),
        "0FC63DAF-8483-4772-8E79-3D69D8477DE4": ("Linux filesystem", .linux),
        "0657FD6D-A4AB-43C4-84E5-0933C84B4F4F": ("Linux swap", .linux),
        "E6D6D379-F507-44C2-A23C-238F2A3DF928": ("Linux LVM", .linux),
        "A19D880F-05FC-4D3B-A006-743F0F84911E": ("Linux RAID", .linux),
        "BC13C2FF-59E6-4262-A352-B275FD6F7172": ("Linux extended boot", .linux),
        "933AC7E1-2EB4-4F13-B844-0E14E2AEF915": ("Linux home", .linux),
        "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709": ("Linux root (x86-64)", .linux),
        "B921B045-1DF0-41C3-AF44-4C6F280D3FAE": ("Linux root (ARM64)", .linux),
        "44479540-F297-41B2-9AF7-D131D5F0458A": ("Linux root (x86)", .linux),
        "83BD6B9D-7F41-11DC-BE0B-001560B84F0F": ("FreeBSD boot", .linux),  // Azure's OS type for FreeBSD is Linux
        "516E7CB4-6ECF-11D6-8FF8-00022D09712B": ("FreeBSD data", .linux),  // Azure's OS type for FreeBSD is Linux
        "516E7CB5-6ECF-11D6-8FF8-00022D09712B": ("FreeBSD swap", .linux),  // Azure's OS type for FreeBSD is Linux
        "516E7CB6-6ECF-11D6-8FF8-00022D09712B": ("FreeBSD UFS", .linux),  // Azure's OS type for FreeBSD is Linux
        "516E7CBA-6ECF-11D6-8FF8-00022D09712B": ("FreeBSD ZFS", .linux),  // Azure's OS type for FreeBSD is Linux
    ]

    /// MBR type byte -> name, and which OS the type marks.
    static let mbr: [UInt8: (name: String, os: OSType?)] = [
        0x01: ("FAT12", nil), 0x04: ("FAT16 <32M", nil), 0x05: ("Extended", nil), 0x06: ("FAT16", nil),
        0x07: ("NTFS/exFAT", nil), 0x0B: ("W95 FAT32", nil), 0x0C: ("W95 FAT32 (LBA)", nil),
        0x0E: ("W95 FAT16 (LBA)", nil), 0x0F: ("W95 extended (LBA)", nil), 0x27: ("Windows recovery", .windows),
        0x42: ("Windows dynamic", .windows), 0x82: ("Linux swap", .linux), 0x83: ("Linux", .linux),
        0x85: ("Linux extended", .linux), 0x8E: ("Linux LVM", .linux), 0xA5: ("FreeBSD", .linux),
        0xEE: ("GPT protective", nil), 0xEF: ("EFI System", nil), 0xFD: ("Linux RAID", .linux),
    ]

    /// Partition types only FreeBSD uses (GPT type GUIDs and the MBR slice type 0xA5).
    static let freeBSD: Set<String> = [
        "83BD6B9D-7F41-11DC-BE0B-001560B84F0F", "516E7CB4-6ECF-11D6-8FF8-00022D09712B", "516E7CB5-6ECF-11D6-8FF8-00022D09712B",
        "516E7CB6-6ECF-11D6-8FF8-00022D09712B", "516E7CBA-6ECF-11D6-8FF8-00022D09712B", "0xA5",
    ]

    /// Extended partitions: containers of a chain of extended boot records.
    static let mbrExtended: Set<UInt8> = [0x05, 0x0F, 0x85]
    static let mbrProtective: UInt8 = 0xEE

    /// "C12A7328-F81F-11D2-BA4B-00A0C93EC93B" from the 16 bytes of a GPT GUID, whose first
    /// three fields are stored little-endian.
    static func guidText(_ bytes: ArraySlice<UInt8>) -> String {
        let raw = Array(bytes)
        guard raw.count == 16 else { return "" }
        let ordered = [raw[3], raw[2], raw[1], raw[0], raw[5], raw[4], raw[7], raw[6]] + raw[8..<16]
        let hex = ordered.map { byte in
            let digits = String(byte, radix: 16, uppercase: true)
            return digits.count == 1 ? "0" + digits : digits
        }
        return hex[0..<4].joined() + "-" + hex[4..<6].joined() + "-" + hex[6..<8].joined() + "-"
            + hex[8..<10].joined() + "-" + hex[10..<16].joined()
    }

    /// "0x83".
    static func mbrTypeText(_ type: UInt8) -> String {
        let digits = String(type, radix: 16, uppercase: true)
        return "0x" + (digits.count == 1 ? "0" : "") + digits
    }
}
