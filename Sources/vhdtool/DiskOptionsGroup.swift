import ArgumentParser
import CommandLineSupport
import SystemPackage
import VHD

/// Options of every command that opens a disk and trusts its structure.
struct DiskOpeningOptions: ParsableArguments {
    @Option(name: .customLong("parent"), help: ArgumentHelp("The parent of a differencing disk, when its locators do not find it.", valueName: "path"))
    var parentPath: String?

    @Flag(help: "Use images whose footer or header checksum is wrong.")
    var ignoreChecksums = false

    @Flag(help: "Use a parent whose UUID differs from the one the child recorded.")
    var ignoreParentUUID = false

    @Flag(help: "Take no lock on the disk and its parents, and ignore other programs' (like QEMU's locking=off): only when nothing else writes them.")
    var noLock = false

    var diskOptions: DiskOptions {
        DiskOptions(
            open: OpenOptions(checksumPolicy: ignoreChecksums ? .ignore : .verify),
            parentPath: parentPath.map { FilePath($0) }, ignoreParentUUID: ignoreParentUUID, locking: !noLock)
    }
}
