// Tags an image as generalized: probes what is inside, computes its content digest and writes
// the tag record beside it (DISK.vhdtool.json), then reads it back.
//
//     swift run tag-image DISK
import Glibc
import SystemPackage
import VHD

guard CommandLine.arguments.count == 2 else {
    print("usage: tag-image DISK")
    exit(64)
}
let path = FilePath(CommandLine.arguments[1])
do {
    try Disk.withOpened(at: path) { disk in
        let inside = try DiskLayoutProbe.probe(disk)
        let digest = try disk.contentDigest()
        let record = ImageTag(
            osState: .generalized, osType: inside.suggestedOSType,
            image: try ImageBinding(disk: disk, digest: digest), taggedAtUnixSeconds: 1_700_000_000)
        try ImageTagFile.write(record, for: path)
        print("\(path): \(digest), scheme \(inside.scheme), suggested OS \(inside.suggestedOSType.map { "\($0)" } ?? "unknown")")
        print("tag:", try ImageTagFile.read(for: path)?.freshness(for: disk) ?? .current)
    }
} catch {
    print("error: \(error)")
    exit(1)
}
