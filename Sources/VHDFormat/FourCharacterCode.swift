/// A four-byte code such as a creator application ("qemu", "win "), a creator host OS ("Wi2k")
/// or a parent locator platform code ("W2ku"), stored big-endian as four ASCII bytes.
public struct FourCharacterCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The four bytes as one big-endian integer, first character in the high byte, exactly as stored
    /// on disk (e.g. 0x7165_6D75 for "qemu").
    public var rawValue: UInt32

    /// Makes a code from its stored 32-bit value; any value is kept, printable or not.
    ///
    /// - Parameter rawValue: the four bytes as read big-endian from the file.
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Makes a code from exactly four ASCII characters, e.g. `FourCharacterCode("vhdt")`.
    ///
    /// - Parameter text: four bytes of UTF-8; any other length traps.
    public init(_ text: StaticString) {
        precondition(text.utf8CodeUnitCount == 4, "a four-character code has four characters")
        var value: UInt32 = 0
        for index in 0..<4 { value = value << 8 | UInt32(text.utf8Start[index]) }
        rawValue = value
    }

    /// The four characters; a byte that is not printable ASCII shows as `\xNN` (e.g. "tap\x00").
    public var description: String { Self.text(UInt64(rawValue), byteCount: 4) }

    /// An 8-byte cookie or a 4-byte code in quotes, for error messages.
    static func quoted(_ value: UInt64) -> String { "\"" + text(value, byteCount: 8) + "\"" }

    private static func text(_ value: UInt64, byteCount: Int) -> String {
        var result = ""
        for index in (0..<byteCount).reversed() {
            let byte = UInt8(truncatingIfNeeded: value >> (8 * UInt64(index)))
            if (0x20..<0x7F).contains(byte) && byte != 0x5C {
                result.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                result += "\\x" + String(hex(byte).dropFirst(2))
            }
        }
        return result
    }
}

extension FourCharacterCode {
    /// Creator host OS of Windows, written by almost every tool ("Wi2k").
    public static let windows = FourCharacterCode("Wi2k")
    /// Creator host OS of a Macintosh ("Mac ").
    public static let macintosh = FourCharacterCode("Mac ")
    /// The creator application this project writes into the images it makes ("vhdt").
    public static let vhdtool = FourCharacterCode("vhdt")
}
