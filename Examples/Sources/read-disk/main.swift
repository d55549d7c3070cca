// Opens a disk (raw, any VHD, a differencing chain), prints its size, its first sector's boot
// signature and its extent map's data ranges.
//
//     swift run read-disk DISK
import Glibc
import SystemPackage
import VHD

guard CommandLine.arguments.count == 2 else {
    print("usage: read-disk DISK")
    exit(64)
}
let path = FilePath(CommandLine.arguments[1])
do {
    try Disk.withOpened(at: path) { disk in
        print("\(path): \(disk.virtualSize) bytes in \(disk.layers.count) file(s)")
        let firstSector = try disk.read(at: 0, count: 512)
        print("boot signature:", firstSector[510] == 0x55 && firstSector[511] == 0xAA ? "yes" : "no")
        var dataBytes: UInt64 = 0
        for extent in try disk.extents() where extent.isData {
            dataBytes += extent.length
            print(extent)
        }
        print("\(dataBytes) bytes hold data")
    }
} catch {
    print("error: \(error)")
    exit(1)
}
