/// A filesystem (or volume format) recognized by its signature at the start of a partition.
///
/// Raw values are the lower-case names `inspect --json` prints.
public enum Filesystem: String, Codable, Sendable, Equatable, CaseIterable {
    /// NTFS: "NTFS    " as the OEM name at byte 3.
    case ntfs
    /// FAT: a consistent boot sector, the type told by its cluster count.
    case fat12, fat16, fat32
    /// exFAT: "EXFAT   " as the OEM name at byte 3.
    case exfat
    /// ext2, ext3 (with a journal) or ext4 (with an ext4-only feature): superblock magic 0xEF53.
    case ext2, ext3, ext4
    /// XFS: "XFSB" at byte 0.
    case xfs
    /// Btrfs: "_BHRfS_M" in the superblock at 64 KiB.
    case btrfs
    /// Linux swap space.
    case swap
    /// An LVM physical volume (its logical volumes are not looked into).
    case lvm
    /// A BitLocker-encrypted Windows volume.
    case bitlocker
    /// FreeBSD's Unix File System, versions 1 and 2.
    case ufs1, ufs2
    /// A ZFS pool member (FreeBSD or Linux).
    case zfs
    /// No known signature (an empty partition, or a format not probed for).
    case unknown

    /// Formats only Windows writes for its own volumes.
    public var isWindows: Bool { self == .ntfs || self == .bitlocker }

    /// Formats that mark a Linux system (FAT and exFAT are shared by everyone).
    public var isLinux: Bool {
        switch self {
        case .ext2, .ext3, .ext4, .xfs, .btrfs, .swap, .lvm: true
        default: false
        }
    }

    /// Formats that mark a FreeBSD system (Azure's OS type for it is Linux).
    public var isFreeBSD: Bool { self == .ufs1 || self == .ufs2 }
}
