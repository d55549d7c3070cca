import VHDFormat

/// Whether Azure accepts a VHD as it is, and if not, why.
///
/// Azure takes only fixed VHDs whose virtual size is a whole number of MiB, so that the blob
/// is N MiB + 512 bytes (Add-AzVhd's documentation), with a footer that checks out.
public enum AzureReadiness {
    /// The reasons Azure would refuse an image with this footer; empty when it would accept it.
    ///
    /// - Parameter layout: the image's layout, read with any checksum policy (a wrong footer
    ///   checksum is one of the reasons).
    /// - Returns: one sentence per rule broken: not fixed, not a whole number of MiB, a file
    ///   size other than the virtual size plus 512, a wrong footer checksum.
    public static func problems(with layout: VHDLayout) -> [String] {
        var problems: [String] = []
        let footer = layout.footer
        if footer.diskType != .fixed {
            problems.append("Azure accepts only fixed VHDs and this one is \(footer.diskType)")
        }
        if footer.currentSize % (1 << 20) != 0 {
            problems.append("the virtual size \(footer.currentSize) is not a whole number of MiB")
        }
        if footer.diskType == .fixed, layout.fileSize != Int64(footer.currentSize) + Int64(Footer.size) {
            problems.append("the file is \(layout.fileSize) bytes, not the virtual size plus a 512-byte footer")
        }
        if !footer.checksumIsValid {
            problems.append("the footer checksum is wrong")
        }
        return problems
    }
}
