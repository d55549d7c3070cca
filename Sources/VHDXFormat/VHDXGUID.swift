/// A GUID as VHDX stores it: 16 bytes, the first three groups little-endian (Microsoft's
/// layout), printed in the usual `XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX` form.
public struct VHDXGUID: Hashable, Sendable, CustomStringConvertible {
    /// The 16 bytes in stored order.
    public let storedBytes: [UInt8]

    /// The all-zero GUID (e.g. a header's log GUID when the log is empty).
    public static let zero = VHDXGUID(storedBytes: [UInt8](repeating: 0, count: 16))

    /// Whether all 16 bytes are zero.
    public var isZero: Bool { storedBytes.allSatisfy { $0 == 0 } }

    /// Wraps 16 stored bytes. Traps on another count: callers pass slices of checked length.
    public init(storedBytes: [UInt8]) {
        precondition(storedBytes.count == 16)
        self.storedBytes = storedBytes
    }

    /// Parses `XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX`; nil if malformed.
    public init?(_ text: String) {
        let groups = text.split(separator: "-", omittingEmptySubsequences: false)
        guard groups.map(\.count) == [8, 4, 4, 4, 12] else { return nil }
        var bytes: [UInt8] = []
        for (index, group) in groups.enumerated() {
            let characters = Array(group)
            var groupBytes: [UInt8] = []
            for start in stride(from: 0, to: characters.count, by: 2) {
                guard let byte = UInt8(String(characters[start..<(start + 2)]), radix: 16) else { return nil }
                groupBytes.append(byte)
            }
            bytes += index < 3 ? groupBytes.reversed() : groupBytes
        }
        self.init(storedBytes: bytes)
    }

    /// A random (version 4) GUID.
    public static func random() -> VHDXGUID {
        var generator = SystemRandomNumberGenerator()
        var bytes = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
        bytes[7] = (bytes[7] & 0x0F) | 0x40  // version 4 (Data3's high nibble, stored little-endian)
        bytes[8] = (bytes[8] & 0x3F) | 0x80  // variant
        return VHDXGUID(storedBytes: bytes)
    }

    /// The GUID as `XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX`, upper-case hex, without braces.
    public var description: String {
        func hexDigits(_ bytes: some Sequence<UInt8>) -> String {
            bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16, uppercase: true) }.joined()
        }
        let b = storedBytes
        return [hexDigits(b[0..<4].reversed()), hexDigits(b[4..<6].reversed()), hexDigits(b[6..<8].reversed()),
                hexDigits(b[8..<10]), hexDigits(b[10..<16])].joined(separator: "-")
    }
}

extension RawSpan {
    func guid(at offset: Int) -> VHDXGUID { VHDXGUID(storedBytes: bytes(at: offset, count: 16)) }
}
