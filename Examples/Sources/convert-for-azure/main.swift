// Converts a disk into what Azure accepts: a fixed VHD whose virtual size is a whole number of
// MiB (rounded up). The destination appears only when complete.
//
//     swift run convert-for-azure SOURCE DESTINATION.vhd
import Glibc
import SystemPackage
import VHD

guard CommandLine.arguments.count == 3 else {
    print("usage: convert-for-azure SOURCE DESTINATION.vhd")
    exit(64)
}
let source = FilePath(CommandLine.arguments[1])
let destination = FilePath(CommandLine.arguments[2])
do {
    // One call: open (a chain is flattened), convert, and commit only when complete; a failure
    // leaves no partial file.
    let summary = try Disk.convert(from: source, to: destination, as: .azure, options: ConversionOptions(sync: true))
    // What Azure would refuse, read back from the new file: nothing.
    let problems = try DiskImage.withOpened(at: destination) { image in
        image.layout.map(AzureReadiness.problems(with:)) ?? ["not a VHD"]
    }
    print("\(destination): \(summary.virtualSize) bytes, \(summary.bytesRead) bytes read")
    print(problems.isEmpty ? "Azure accepts it" : "Azure would refuse it: \(problems.joined(separator: "; "))")
    if !problems.isEmpty { exit(1) }
} catch {
    print("error: \(error)")
    exit(1)
}
