import ArgumentParser

/// A size on the command line: bytes, or a number with K, M, G or T (binary units, an optional
/// trailing "iB" or "B"): `4096`, `512K`, `2M`, `127G`, `1.5T`.
package struct ByteSize: ExpressibleByArgument, Equatable {
    package var bytes: UInt64

    package init(bytes: UInt64) { self.bytes = bytes }

    package init?(argument: String) {
        var text = String(argument.filter { $0 != " " }).uppercased()
        for suffix in ["IB", "B"] where text.hasSuffix(suffix) && text.count > suffix.count {
            text.removeLast(suffix.count)
        }
        let units: [Character: UInt64] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40]
        var multiplier: UInt64 = 1
        if let last = text.last, let unit = units[last] {
            multiplier = unit
            text.removeLast()
        }
        if let whole = UInt64(text) {
            let (product, overflow) = whole.multipliedReportingOverflow(by: multiplier)
            guard !overflow else { return nil }
            bytes = product
        } else if let value = Double(text), value >= 0, multiplier > 1, value * Double(multiplier) < 1.8e19 {
            bytes = UInt64((value * Double(multiplier)).rounded())
        } else {
            return nil
        }
    }

    package static var defaultValueDescription: String { "bytes, or a number with K, M, G or T" }
}
