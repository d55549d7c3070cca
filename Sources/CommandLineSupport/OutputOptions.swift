import ArgumentParser
import FoundationEssentials

/// `--json`: the one switch between text for people and JSON for scripts.
package struct OutputOptions: ParsableArguments {
    @Flag(help: "Print JSON (sorted camelCase keys, sizes in bytes) instead of text.")
    package var json = false

    package init() {}

    /// Prints `value` as JSON, or `text()` when `--json` is not given.
    package func print<Value: Encodable>(_ value: Value, text: (Value) -> String) throws {
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
            let data = try encoder.encode(value)
            Terminal.standardOutput(String(decoding: data, as: UTF8.self) + "\n")
        } else {
            Terminal.standardOutput(text(value))
        }
    }
}

/// Sizes for people: "10485760 bytes (10 MiB)".
package func bytesText<T: BinaryInteger>(_ count: T) -> String {
    "\(count) bytes" + (count >= 1024 ? " (\(humanSize(UInt64(count))))" : "")
}

/// "10 MiB", "4.02 GiB": binary units, up to three significant decimals.
package func humanSize(_ count: UInt64) -> String {
    let units = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
    var value = Double(count)
    var unit = 0
    while value >= 1024 && unit < units.count - 1 {
        value /= 1024
        unit += 1
    }
    if unit == 0 { return "\(count) bytes" }
    let hundredths = Int((value * 100).rounded())
    let text = hundredths % 100 == 0 ? "\(hundredths / 100)"
        : "\(hundredths / 100)." + (hundredths % 100 < 10 ? "0" : "") + "\(hundredths % 100)"
    return "\(text) \(units[unit])"
}

/// Lines of "label: value", with the values aligned.
package struct AlignedLines {
    private var rows: [(String, String)] = []

    package init() {}

    package mutating func add(_ label: String, _ value: String) { rows.append((label, value)) }

    package var text: String {
        let width = rows.map(\.0.count).max() ?? 0
        return rows.map { label, value in
            label + ":" + String(repeating: " ", count: width - label.count + 1) + value + "\n"
        }.joined()
    }
}
