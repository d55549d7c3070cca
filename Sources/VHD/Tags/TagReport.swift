/// An image's tag record and what holds for it now: whether it is stale and where it
/// contradicts the disk's contents. `vhdtool tag FILE` prints it, and `inspect` as its `tag`.
public struct TagReport: Codable, Sendable, Equatable {
    /// The sidecar file's path.
    public var file: String
    /// The tag record as the sidecar holds it.
    public var record: ImageTag
    /// Whether the record no longer describes the image (another UUID or size, or changed content);
    /// ``staleReason`` says why.
    public var stale: Bool
    /// Why the record no longer describes the image (with `stale`).
    public var staleReason: String?
    /// Where the record disagrees with the probe (``ImageTag/contradictions(with:)``).
    public var contradictions: [String]

    /// Makes the report of a record checked against its disk.
    ///
    /// - Parameters:
    ///   - file: the sidecar file's path, as shown.
    ///   - record: the tag record read from it.
    ///   - freshness: what ``ImageTag/freshness(for:options:)`` found.
    ///   - layout: what the probe found in the disk; nil when it was not probed, which leaves
    ///     ``contradictions`` empty.
    public init(file: String, record: ImageTag, freshness: TagFreshness, layout: DiskLayout?) {
        self.file = file
        self.record = record
        if case let .stale(reason) = freshness {
            stale = true
            staleReason = reason
        } else {
            stale = false
        }
        contradictions = layout.map(record.contradictions(with:)) ?? []
    }

    /// The report's problems as warnings.
    public var warnings: [String] {
        (staleReason.map { ["the tag in \(file) is stale: \($0)"] } ?? [])
            + contradictions.map { "the tag contradicts the disk's contents: \($0)" }
    }
}
