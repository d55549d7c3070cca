/// Azure's resource tags: free-form `KEY=VALUE` pairs, under the rules Azure enforces on a
/// gallery's definitions and versions (and vhdtool on the tags it records beside an image).
///
/// The rules: at most 50 tags; a key is not empty, at most 512 characters and holds none of
/// `< > % & \ ? /`; a value is at most 256 characters; keys are compared ignoring case, as Azure
/// compares them (`Env` and `env` are one key).
public enum AzureTags {
    /// The most tags one resource may carry.
    public static let maximumCount = 50
    /// The longest key, in characters.
    public static let maximumKeyLength = 512
    /// The longest value, in characters.
    public static let maximumValueLength = 256
    /// The characters a key must not hold.
    public static let forbiddenKeyCharacters: Set<Character> = ["<", ">", "%", "&", "\\", "?", "/"]

    /// Parses `KEY=VALUE` arguments (split at the first `=`; the value may be empty or hold
    /// more `=`) and checks them with ``check(_:)``.
    ///
    /// A key given twice (ignoring case) is refused rather than the last one kept: two values
    /// for one key are more likely a mistake than an intent, and `az` keeps the last one silently.
    ///
    /// - Parameter arguments: the arguments, in the order given.
    /// - Returns: the tags.
    /// - Throws: ``AzureTagError`` for the first argument without `=`, the first key given
    ///   twice, or the first broken rule.
    public static func parse(_ arguments: [String]) throws(AzureTagError) -> [String: String] {
        var tags: [String: String] = [:]
        var keysSeen: [String: String] = [:]
        for argument in arguments {
            guard let equals = argument.firstIndex(of: "=") else { throw .notKeyValue(argument) }
            let key = String(argument[..<equals])
            if let first = keysSeen.updateValue(key, forKey: key.lowercased()) { throw .repeatedKey(first, again: key) }
            tags[key] = String(argument[argument.index(after: equals)...])
        }
        try check(tags)
        return tags
    }

    /// Checks `tags` against Azure's rules, keys in sorted order.
    ///
    /// - Parameter tags: the tags to check.
    /// - Throws: ``AzureTagError`` for the first broken rule.
    public static func check(_ tags: [String: String]) throws(AzureTagError) {
        guard tags.count <= maximumCount else { throw .tooMany(tags.count) }
        var keysSeen: [String: String] = [:]
        for (key, value) in tags.sorted(by: { $0.key < $1.key }) {
            if let first = keysSeen.updateValue(key, forKey: key.lowercased()) { throw .repeatedKey(first, again: key) }
            guard !key.isEmpty else { throw .emptyKey }
            guard key.count <= maximumKeyLength else { throw .keyTooLong(key) }
            if let bad = key.first(where: forbiddenKeyCharacters.contains) { throw .forbiddenCharacter(key: key, bad) }
            guard value.count <= maximumValueLength else { throw .valueTooLong(key: key) }
        }
    }
}

/// Why tags were refused: which argument or key, and what rule it breaks.
public enum AzureTagError: Error, Sendable, Equatable, CustomStringConvertible {
    /// An argument without `=`.
    case notKeyValue(String)
    /// A key given twice: as first written, as written again (the same but for case, or equal).
    case repeatedKey(String, again: String)
    /// More than ``AzureTags/maximumCount`` tags (the count given).
    case tooMany(Int)
    /// A key that is empty (`=value`).
    case emptyKey
    /// A key longer than ``AzureTags/maximumKeyLength`` characters.
    case keyTooLong(String)
    /// A key holding one of ``AzureTags/forbiddenKeyCharacters``.
    case forbiddenCharacter(key: String, Character)
    /// A value longer than ``AzureTags/maximumValueLength`` characters (the key).
    case valueTooLong(key: String)

    /// A sentence saying what was found and what the rule is.
    public var description: String {
        switch self {
        case let .notKeyValue(argument):
            "the tag '\(argument)' must be written KEY=VALUE"
        case let .repeatedKey(first, again) where first == again:
            "the tag key '\(first)' is given twice"
        case let .repeatedKey(first, again):
            "the tag keys '\(first)' and '\(again)' are one key (tag keys are compared ignoring case)"
        case let .tooMany(count):
            "\(count) tags were given; at most \(AzureTags.maximumCount) are allowed"
        case .emptyKey:
            "a tag key must not be empty"
        case let .keyTooLong(key):
            "the tag key '\(key.prefix(20))...' is longer than \(AzureTags.maximumKeyLength) characters"
        case let .forbiddenCharacter(key, character):
            "the tag key '\(key)' contains '\(character)', which tag keys must not contain"
        case let .valueTooLong(key):
            "the value of tag '\(key)' is longer than \(AzureTags.maximumValueLength) characters"
        }
    }
}
