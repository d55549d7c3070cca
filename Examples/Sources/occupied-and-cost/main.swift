// Prints the occupied size of a disk (what snapshots are billed on) and the cost of publishing
// it to two regions with two replicas each.
//
//     swift run occupied-and-cost DISK
import Glibc
import SystemPackage
import VHD

guard CommandLine.arguments.count == 2 else {
    print("usage: occupied-and-cost DISK")
    exit(64)
}
do {
    let occupied = try Disk.withOpened(at: FilePath(CommandLine.arguments[1])) { try OccupiedSize.measure($0) }
    print("virtual \(occupied.virtualSize), allocated \(occupied.allocatedBytes), non-zero \(occupied.nonZeroBytes)")
    let regions = [
        TargetRegion(name: "eastus", replicaCount: 2, storageType: .standardLRS),
        TargetRegion(name: "westeurope", replicaCount: 2, storageType: .premiumLRS),
    ]
    let cost = try SnapshotCost(occupiedBytes: [occupied.nonZeroBytes], regions: regions)
    print("snapshots \(cost.snapshots), stored \(cost.storedBytes) bytes, egress \(cost.egressBytes) bytes")
} catch {
    print("error: \(error)")
    exit(1)
}
