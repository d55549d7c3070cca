/// "latest": which version of a definition a deployment that asks for `latest` gets.
///
/// In a region: the highest version by number (numeric per part, not by date) that is not
/// excluded there (the region's own exclude-from-latest flag overrides the version's) and whose
/// replication there is Completed. Without a region: the highest version not excluded globally
/// that is Completed in at least one region. End-of-life does not exclude a version.
package enum LatestRule {
    /// The latest of `versions` (all of one definition), or nil when none qualifies.
    /// `isPresent` says whether a Completed region's replica files are all there; a region
    /// counts only when they are.
    package static func latest(
        of versions: [VersionDetails], region: String? = nil,
        isPresent: (VersionDetails, VersionDetails.Target) -> Bool = { _, _ in true }
    ) -> VersionDetails? {
        versions.sorted { $0.version.number > $1.version.number }.first { isCandidate($0, region: region, isPresent: isPresent) }
    }

    /// Whether `details` may be "latest" in `region` (or anywhere when nil).
    package static func isCandidate(
        _ details: VersionDetails, region: String?, isPresent: (VersionDetails, VersionDetails.Target) -> Bool = { _, _ in true }
    ) -> Bool {
        guard let region else {
            return !details.version.excludeFromLatest && details.regions.contains { $0.target.state == .completed && isPresent(details, $0) }
        }
        guard let target = details.regions.first(where: { $0.region.name.lowercased() == region.lowercased() }) else { return false }
        let excluded = target.target.excludeFromLatest ?? details.version.excludeFromLatest
        return !excluded && target.target.state == .completed && isPresent(details, target)
    }
}
