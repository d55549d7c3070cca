/// A VHD time: seconds since 2000-01-01T00:00:00Z, stored big-endian in 32 bits.
///
/// Found at footer offset 24 (creation time) and dynamic header offset 56 (the parent's
/// modification time).
public struct VHDTimestamp: RawRepresentable, Hashable, Sendable, Comparable, CustomStringConvertible {
    /// Seconds since 2000-01-01T00:00:00Z.
    public var rawValue: UInt32

    /// Makes a time from its stored value.
    ///
    /// - Parameter rawValue: seconds since 2000-01-01T00:00:00Z, as read big-endian from the file.
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Seconds between the Unix epoch and the VHD epoch, 2000-01-01T00:00:00Z.
    public static let unixOffsetInSeconds: Int64 = 946_684_800

    /// The time as seconds since 1970-01-01T00:00:00Z.
    public var unixSeconds: Int64 { Int64(rawValue) + Self.unixOffsetInSeconds }

    /// The VHD time of a Unix time, clamped to the range a VHD can store.
    ///
    /// - Parameter unixSeconds: seconds since 1970-01-01T00:00:00Z; times before 2000 become
    ///   2000-01-01T00:00:00Z, times after 2136-02-07T06:28:15Z become that time.
    public init(unixSeconds: Int64) {
        let seconds = unixSeconds - Self.unixOffsetInSeconds
        rawValue = UInt32(clamping: seconds)
    }

    /// Orders times by their stored seconds, earliest first.
    ///
    /// - Returns: whether `lhs` is earlier than `rhs`.
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

    /// ISO 8601 in UTC, e.g. "2014-02-21T13:35:38Z".
    public var description: String {
        let days = unixSeconds / 86_400
        let secondsOfDay = unixSeconds % 86_400
        let (year, month, day) = Self.civilDate(daysSinceUnixEpoch: days)
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(year)-\(two(month))-\(two(day))T\(two(secondsOfDay / 3600)):"
            + "\(two(secondsOfDay / 60 % 60)):\(two(secondsOfDay % 60))Z"
    }

    /// Howard Hinnant's days-to-civil algorithm (proleptic Gregorian calendar).
    private static func civilDate(daysSinceUnixEpoch days: Int64) -> (Int64, Int64, Int64) {
        let shifted = days + 719_468
        let era = shifted / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return (year, month, day)
    }
}
