/// Name rules of the gallery model (Azure Compute Gallery).
package enum NameRules {
    /// Checks a gallery, image definition or region name: at most 80 characters, ASCII letters,
    /// digits, `_`, `-` and `.`, starting with a letter or digit, not ending in `.` or `-`
    /// (the service's pattern `^[^_\W][\w-._]{0,79}(?<![-.])$`).
    ///
    /// - Throws: ``GalleryError`` naming the rule broken.
    package static func checkResourceName(_ name: String, kind: String) throws(GalleryError) {
        let characters = Array(name.unicodeScalars)
        guard !characters.isEmpty else { throw .rule("a\(kind.first.map { "aeiou".contains($0) } == true ? "n" : "") \(kind) name must not be empty") }
        guard characters.count <= 80 else {
            throw .rule("the \(kind) name '\(name)' is \(characters.count) characters long; at most 80 are allowed")
        }
        if let bad = characters.first(where: { !isWordCharacter($0) && $0 != "-" && $0 != "." }) {
            throw .rule("the \(kind) name '\(name)' contains '\(bad)'; only letters, digits, '_', '-' and '.' are allowed")
        }
        guard isLetterOrDigit(characters[0]) else {
            throw .rule("the \(kind) name '\(name)' must start with a letter or a digit")
        }
        guard let last = characters.last, last != "-", last != "." else {
            throw .rule("the \(kind) name '\(name)' must not end with '.' or '-'")
        }
    }

    /// Checks a publisher, offer or SKU: letters, digits, `-`, `_` and `.`, not ending in `.`,
    /// at most `maximumLength` characters (publisher 128, offer and SKU 64).
    package static func checkIdentifierPart(_ value: String, field: String, maximumLength: Int) throws(GalleryError) {
        let characters = Array(value.unicodeScalars)
        guard !characters.isEmpty else { throw .rule("the \(field) must not be empty") }
        guard characters.count <= maximumLength else {
            throw .rule("the \(field) '\(value)' is \(characters.count) characters long; at most \(maximumLength) are allowed")
        }
        if let bad = characters.first(where: { !isWordCharacter($0) && $0 != "-" && $0 != "." }) {
            throw .rule("the \(field) '\(value)' contains '\(bad)'; only letters, digits, '_', '-' and '.' are allowed")
        }
        guard characters.last != "." else { throw .rule("the \(field) '\(value)' must not end with '.'") }
    }

    /// Checks tags as Azure does: at most 50; keys 1...512 characters without `< > % & \ ? /`;
    /// values at most 256 characters.
    package static func checkTags(_ tags: [String: String]) throws(GalleryError) {
        do {
            try AzureTags.check(tags)
        } catch {
            throw .rule(error.description)
        }
    }

    /// Parses `KEY=VALUE` arguments into tags as `AzureTags.parse(_:)` (GalleryVocabulary) does: a key given
    /// twice is refused.
    package static func parseTags(_ arguments: [String]) throws(GalleryError) -> [String: String] {
        do {
            return try AzureTags.parse(arguments)
        } catch {
            throw .rule(error.description)
        }
    }

    /// Checks a URI field: it must be an absolute http or https URI with a host (as the
    /// service's URI fields are).
    package static func checkURI(_ value: String?, field: String) throws(GalleryError) {
        guard let value else { return }
        let refused = GalleryError.rule("the \(field) '\(value)' is not an absolute http(s) URI (e.g. https://example.org/notes)")
        let lower = value.lowercased()
        guard let scheme = ["https://", "http://"].first(where: { lower.hasPrefix($0) }) else { throw refused }
        let rest = value.dropFirst(scheme.count)
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        let host = authority.split(separator: "@").last.map { $0.split(separator: ":", maxSplits: 1).first ?? "" } ?? ""
        guard !host.isEmpty, !value.contains(where: { $0 == " " || $0.isNewline || $0 == "\t" || !$0.isASCII }),
              host.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." || $0 == "[" || $0 == "]" || $0 == ":" }) else {
            throw refused
        }
    }

    /// Checks a name read back from the catalog (a gallery, definition or region name) by the
    /// rules it was written under: a catalog changed behind the store's back cannot make a path
    /// leave a region's folder.
    ///
    /// - Throws: ``GalleryError`` (category io): the catalog is damaged.
    static func checkStoredName(_ name: String, kind: String) throws(GalleryError) {
        do {
            try checkResourceName(name, kind: kind)
        } catch {
            throw GalleryError(.io, "the catalog is damaged: it holds \(kind) name '\(name)', which is not a valid name (\(error.description))", remedy: .checkStore)
        }
    }

    static func isLetterOrDigit(_ scalar: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar)
    }

    static func isWordCharacter(_ scalar: Unicode.Scalar) -> Bool { isLetterOrDigit(scalar) || scalar == "_" }
}

/// An image version's number, MAJOR.MINOR.PATCH, each part 0...2147483647 (a 32-bit integer)
/// without leading zeros. Versions compare numerically part by part, as "latest" does.
public struct VersionNumber: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The first part: 0...2147483647.
    public var major: Int
    /// The second part: 0...2147483647.
    public var minor: Int
    /// The third part: 0...2147483647.
    public var patch: Int

    /// A version number from its parts, taken as they are (no range check).
    ///
    /// - Parameters:
    ///   - major: The first part.
    ///   - minor: The second part.
    ///   - patch: The third part.
    public init(major: Int, minor: Int, patch: Int) {
        self.major = major
        self.minor = minor
        self.patch = patch
    }

    /// Parses "1.0.0".
    ///
    /// - Throws: ``GalleryError`` (the service's words) for anything but three parts of digits
    ///   in range; a part with a leading zero (`01.0.0`) is refused too.
    public init(parsing text: String) throws(GalleryError) {
        let format = "the image version name '\(text)' should follow Major(int).Minor(int).Patch(int) format, e.g. 1.0.0 or 2018.12.1"
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3 else { throw .rule(format) }
        var numbers: [Int] = []
        for part in parts {
            guard !part.isEmpty, part.allSatisfy({ $0.isASCII && $0.isNumber }) else { throw .rule(format) }
            guard part == "0" || part.first != "0" else {
                throw .rule("the image version name '\(text)' has a part with a leading zero, which is not allowed")
            }
            guard part.count <= 10, let number = Int(part), number <= Int(Int32.max) else {
                throw .rule("the image version name '\(text)' has a part larger than 2147483647 (a 32-bit integer)")
            }
            numbers.append(number)
        }
        self.init(major: numbers[0], minor: numbers[1], patch: numbers[2])
    }

    /// The name: `MAJOR.MINOR.PATCH`, in decimal.
    public var description: String { "\(major).\(minor).\(patch)" }

    /// Whether `a` comes before `b`: compared part by part, numerically.
    public static func < (a: VersionNumber, b: VersionNumber) -> Bool {
        (a.major, a.minor, a.patch) < (b.major, b.minor, b.patch)
    }
}
