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
    let summary = try Disk.withOpened(at: source) { disk in
        let mebibyte: UInt64 = 1 << 20
        let azureSize = (disk.virtualSize + mebibyte - 1) / mebibyte * mebibyte
        try disk.refuseWritingOver(destination)
        let output = try OutputFile.create(at: destination, overwrite: false)
        do {
            let summary = try DiskConversion.convert(disk, to: .fixed, output: output, size: azureSize)
            try output.commit(sync: true)
            return summary
        } catch {
            output.discard()
            throw error
        }
    }
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
