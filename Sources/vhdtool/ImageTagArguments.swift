import ArgumentParser
import CommandLineSupport
import VHD

// The tag values as command-line arguments: case-insensitive, listed in --help in the tags'
// spelling (`linux`, `generalized`, `V2`, `arm64`).

extension OSState: ExpressibleByArgument {
    public init?(argument: String) { self.init(caseInsensitive: argument) }
    public static var allValueStrings: [String] { allCases.map(\.tagName) }
}

extension OSType: ExpressibleByArgument {
    public init?(argument: String) { self.init(caseInsensitive: argument) }
    public static var allValueStrings: [String] { allCases.map(\.tagName) }
}

extension HyperVGeneration: ExpressibleByArgument {
    public init?(argument: String) { self.init(caseInsensitive: argument) }
    public static var allValueStrings: [String] { allCases.map(\.tagName) }
}

extension Architecture: ExpressibleByArgument {
    public init?(argument: String) { self.init(caseInsensitive: argument) }
    public static var allValueStrings: [String] { allCases.map(\.tagName) }
}
