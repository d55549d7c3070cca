/// An image's tag record and what holds for it now: whether it is stale and where it
/// contradicts the disk's contents. `vhdtool tag FILE` prints it, and `inspect` as its `tag`.
public struct TagReport: Codable, Sendable, Equatable {
    /// The sidecar file's path.
    public var file: String
    public var record: ImageTag
    public var stale: Bool
    /// Why the record no longer describes the image (with `stale`).
    public var staleReason: String?
    /// Where the record disagrees with the probe (``ImageTag/contradictions(with:)``).
    public var contradictions: [String]

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
