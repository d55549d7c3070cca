/// Whether a tag still describes its image.
public enum TagFreshness: Sendable, Equatable {
    /// The image is the one tagged, with the content it had.
    case current
    /// The image is another one, or its content changed since it was tagged.
    case stale(reason: String)

    /// Whether this is ``stale(reason:)``.
    public var isStale: Bool {
        if case .stale = self { return true }
        return false
    }
}

extension ImageTag {
    /// Checks the record against `disk`: the footer UUID and virtual size must match; then,
    /// when every file of the chain has the size and modification time it had and had not
    /// been written for a while when it was stamped, the content is taken as unchanged without
    /// reading it; otherwise the content digest is computed (reading the data, with `options`'
    /// progress) and compared.
    ///
    /// - Parameters:
    ///   - disk: the tagged image, opened with its chain.
    ///   - options: progress and cancellation of the digest, when it has to be computed.
    /// - Returns: ``TagFreshness/current``, or ``TagFreshness/stale(reason:)`` with the first
    ///   difference found.
    /// - Throws: ``VHDError`` when reading fails or the caller cancels.
    public func freshness(for disk: Disk, options: CopyOptions = CopyOptions()) throws(VHDError) -> TagFreshness {
        let uniqueId = disk.layers[0].layout?.footer.uniqueId.description
        if uniqueId != image.uniqueId {
            return .stale(reason: "the tag was made for the image with UUID \(image.uniqueId ?? "none (raw)"), "
                + "and this one has \(uniqueId ?? "none (raw)")")
        }
        if disk.virtualSize != image.virtualSize {
            return .stale(reason: "the virtual size is \(disk.virtualSize) bytes, and was \(image.virtualSize) when tagged")
        }
        let stamps = try disk.layers.map { (layer) throws(VHDError) in try FileStamp(layer.file.path) }
        if stamps.count == image.files.count
            && zip(stamps, image.files).allSatisfy({ $0.matches($1) && $1.isSettled(stampedAtNanoseconds: image.stampedAtNanoseconds) })
        {
            return .current
        }
        let digest = try disk.contentDigest(options: options)
        if digest != image.digest {
            return .stale(reason: "the content changed since it was tagged (digest \(digest), tagged \(image.digest))")
        }
        return .current
    }
}
