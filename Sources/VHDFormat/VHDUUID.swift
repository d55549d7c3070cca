/// A 16-byte unique identifier: the footer's UUID (offset 68) or a header's parent UUID (offset 40).
///
/// The bytes are kept in stored order and printed in that order, as libvhdi's `vhdiinfo` does.
public struct VHDUUID: Hashable, Sendable, CustomStringConvertible {
    /// The first eight stored bytes, big-endian.
    public var high: UInt64
    /// The last eight stored bytes, big-endian.
    public var low: UInt64

    /// Makes a UUID from its 16 stored bytes, given as two big-endian halves.
    ///
    /// - Parameters:
    ///   - high: the first eight stored bytes, read big-endian.
    ///   - low: the last eight stored bytes, read big-endian.
    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// The all-zero UUID, which a differencing disk must not name as its parent.
    public static let zero = VHDUUID(high: 0, low: 0)

    /// Whether all 16 bytes are zero: ``zero``, which the parent UUID field (dynamic header offset 40)
    /// of a disk without a parent holds.
    public var isZero: Bool { self == .zero }

    /// Parses the standard text form, `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`; nil if malformed.
    ///
    /// - Parameter text: 36 characters: 32 hex digits in either case, in stored byte order,
    ///   and 4 hyphens (their places are not checked).
    public init?(_ text: String) {
        let digits = text.filter { $0 != "-" }
        guard text.count == 36, digits.count == 32,
              let high = UInt64(digits.prefix(16), radix: 16),
              let low = UInt64(digits.suffix(16), radix: 16)
        else { return nil }
        self.init(high: high, low: low)
    }

    /// Lower-case hex in stored byte order, hyphenated 8-4-4-4-12.
    public var description: String {
        let text = String(hex(high).dropFirst(2) + hex(low).dropFirst(2)).lowercased()
        let characters = Array(text)
        let groups = [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { String(characters[$0]) }
        return groups.joined(separator: "-")
    }
}

extension RawSpan {
    func uuid(at offset: Int) -> VHDUUID {
        VHDUUID(high: bigEndian(UInt64.self, at: offset), low: bigEndian(UInt64.self, at: offset + 8))
    }
}

extension ByteWriter {
    mutating func setUUID(_ uuid: VHDUUID, at offset: Int) {
        setBigEndian(uuid.high, at: offset)
        setBigEndian(uuid.low, at: offset + 8)
    }
}
