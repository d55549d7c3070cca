import TestSupport
import Testing

/// The library speaks its own language: no message of VHD, VHDFormat or VHDXFormat names a
/// command-line flag or the vhdtool program (the CLI adds those, in CommandLineSupport's
/// ErrorWording).
struct LibraryWordingTests {
    @Test(arguments: ["VHD", "VHDFormat", "VHDXFormat"])
    func noLibraryMessageNamesAFlagOrTheProgram(module: String) throws {
        let found = try SourceWording.cliWords(in: module)
        #expect(found.isEmpty, "\(found.joined(separator: "\n"))")
    }
}
