import ArgumentParser
import CommandLineSupport
import VHD

/// Options of every command that writes a new file.
struct OutputFileOptions: ParsableArguments {
    @Flag(help: "Replace an existing file.")
    var force = false

    @Flag(help: "Flush the new file and its folder to stable storage before finishing.")
    var sync = false
}

/// The size Azure accepts for `size` (rounded up to a whole MiB), saying so on stderr when it
/// differs.
func azureSize(for size: UInt64) -> UInt64 {
    let rounded = NewDiskMetadata.azureSize(atLeast: size)
    if rounded != size {
        Terminal.standardError("vhdtool: size rounded up from \(size) to \(rounded) bytes (a whole number of MiB) for Azure\n")
    }
    return rounded
}
