#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A UTC instant written as ISO 8601 "YYYY-MM-DDTHH:MM:SSZ", as the gallery's dates
/// (end of life, published) are.
package struct GalleryDate: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Seconds since 1970-01-01T00:00:00Z.
    package var unixSeconds: Int64

    package init(unixSeconds: Int64) { self.unixSeconds = unixSeconds }

    /// The current time.
    package static var now: GalleryDate { GalleryDate(unixSeconds: Int64(time(nil))) }

    /// Parses "YYYY-MM-DD" (taken as T12:59:59Z, as `az sig` completes a date without a time),
    /// "YYYY-MM-DDTHH:MM:SS" or "YYYY-MM-DDTHH:MM:SSZ" (UTC), or with "+HH:MM"/"-HH:MM".
    ///
    /// - Throws: ``GalleryError`` for anything else or an impossible date.
    package init(parsing text: String) throws(GalleryError) {
        let bad = GalleryError.rule("'\(text)' is not a date; write YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ")
        var characters = Array(text.utf8)
        if characters.count == 10 { characters += Array("T12:59:59Z".utf8) }
        guard characters.count >= 19 else { throw bad }
        func number(_ range: Range<Int>) throws(GalleryError) -> Int {
            var value = 0
            for index in range {
                guard characters[index] >= 48 && characters[index] <= 57 else { throw bad }
                value = value * 10 + Int(characters[index] - 48)
            }
            return value
        }
        guard characters[4] == 45, characters[7] == 45, characters[10] == 84 || characters[10] == 116,
              characters[13] == 58, characters[16] == 58 else { throw bad }
        let year = try number(0..<4), month = try number(5..<7), day = try number(8..<10)
        let hour = try number(11..<13), minute = try number(14..<16), second = try number(17..<19)
        var offsetSeconds = 0
        var rest = characters[19...]
        if rest.first == 46 {  // fractional seconds: ignored
            rest = rest.dropFirst().drop { $0 >= 48 && $0 <= 57 }
        }
        if rest == [90] || rest == [122] || rest.isEmpty {
            offsetSeconds = 0
        } else if rest.count == 6, rest.first == 43 || rest.first == 45, rest[rest.startIndex + 3] == 58 {
            let start = rest.startIndex
            let hours = try number((start + 1)..<(start + 3)), minutes = try number((start + 4)..<(start + 6))
            offsetSeconds = (hours * 3600 + minutes * 60) * (rest.first == 43 ? 1 : -1)
        } else {
            throw bad
        }
        guard (1...12).contains(month), (1...Self.daysIn(month: month, year: year)).contains(day),
              hour < 24, minute < 60, second < 60 else { throw bad }
        let days = Self.daysFromCivil(year: year, month: month, day: day)
        unixSeconds = Int64(days) * 86400 + Int64(hour * 3600 + minute * 60 + second - offsetSeconds)
    }

    package var description: String {
        let days = Int(unixSeconds.floorDivided(by: 86400))
        let seconds = Int(unixSeconds - Int64(days) * 86400)
        let (year, month, day) = Self.civil(fromDays: days)
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let yearText = String(repeating: "0", count: max(0, 4 - String(year).count)) + String(year)
        return "\(yearText)-\(two(month))-\(two(day))T\(two(seconds / 3600)):\(two(seconds / 60 % 60)):\(two(seconds % 60))Z"
    }

    package static func < (a: GalleryDate, b: GalleryDate) -> Bool { a.unixSeconds < b.unixSeconds }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146097 + dayOfEra - 719468
    }

    static func civil(fromDays days: Int) -> (Int, Int, Int) {
        let z = days + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let dayOfEra = z - era * 146097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// Parses an end-of-life date and refuses one in the past (the service's rule).
    static func endOfLife(_ text: String, now: GalleryDate = .now) throws(GalleryError) -> GalleryDate {
        let date = try GalleryDate(parsing: text)
        guard date > now else { throw .rule("EndOfLifeDate must be set to a future date; \(date) is in the past") }
        return date
    }
}

extension Int64 {
    fileprivate func floorDivided(by divisor: Int64) -> Int64 {
        let quotient = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }
}
