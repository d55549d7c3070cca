/// Finds what is inside a disk (``DiskLayout``) reading only a few sectors: sectors 0 and 1,
/// the GPT entry arrays (at most 1 MiB each, normally 16 KiB) and backup header, each extended
/// boot record, and at most 5 KiB per partition. Every offset read from the disk is checked
/// against its size first; bad tables give warnings, never a crash and never a read outside
/// the disk.
public enum DiskLayoutProbe {
    /// Probes `disk` (a ``Disk``, or any ``VirtualByteReader``).
    ///
    /// - Parameter disk: the virtual disk to look into; only offsets inside its
    ///   ``VirtualByteReader/virtualSize`` are read.
    /// - Returns: the partition table, filesystems and suggestions; a disk under 1 KiB has
    ///   scheme ``PartitionScheme/none`` and an unknown filesystem.
    /// - Throws: ``VHDError`` only when reading fails (I/O); malformed contents are warnings.
    public static func probe(_ disk: some VirtualByteReader) throws(VHDError) -> DiskLayout {
        var reader = BoundedReader(disk)
        guard let first = try reader.read(at: 0, count: 1024) else {
            // Under two sectors: nothing to find, but a filesystem cannot fit either.
            return DiskLayout(scheme: .none, filesystem: .unknown)
        }
        let sector0 = Array(first[0..<512])
        let sector1 = Array(first[512..<1024])
        var layout: DiskLayout
        if ApplePartitionMap.hasSignature(sector0: sector0, sector1: sector1) {
            var warnings: [String] = []
            let partitions = try ApplePartitionMap.partitions(sector0: sector0, reader: &reader, warnings: &warnings)
            layout = DiskLayout(scheme: .apm, partitions: partitions, warnings: warnings)
        } else if GUIDPartitionTable.hasSignature(sector1) || MasterBootRecord.isProtective(sector0) {
            let table = try GUIDPartitionTable.read(sector1: sector1, reader: &reader)
            layout = DiskLayout(
                scheme: .gpt, partitions: table.partitions, diskIdentifier: table.header?.diskGUID,
                backupHeaderValid: table.backupIsValid, warnings: table.warnings)
            if !MasterBootRecord.isProtective(sector0) {
                layout.warnings.append("sector 0 holds no protective MBR (a partition of type 0xEE)")
            }
        } else {
            // A filesystem signature in sector 0 wins over an MBR-looking table, except FAT's,
            // whose boot sector check is the weakest.
            let wholeDisk = try wholeDiskFilesystem(&reader)
            let isFAT = wholeDisk == .fat12 || wholeDisk == .fat16 || wholeDisk == .fat32
            if let wholeDisk, !(isFAT && MasterBootRecord.isPlausible(sector0)) {
                layout = DiskLayout(scheme: .none, filesystem: wholeDisk)
            } else if MasterBootRecord.isPlausible(sector0) {
                var warnings: [String] = []
                let partitions = try MasterBootRecord.partitions(sector0: sector0, reader: &reader, warnings: &warnings)
                layout = DiskLayout(
                    scheme: .mbr, partitions: partitions, diskIdentifier: hexText(sector0.littleEndian(UInt32.self, at: 440)),
                    warnings: warnings)
            } else {
                layout = DiskLayout(scheme: .none, filesystem: .unknown)
            }
        }
        try probeFilesystems(&layout, reader: &reader)
        layout.warnings += overlapWarnings(layout.partitions)
        layout.suggestedOSType = suggestedOSType(layout)
        if layout.suggestedOSType == .linux && isFreeBSD(layout) { layout.suggestedOSDetail = "FreeBSD" }
        layout.suggestedHyperVGeneration = suggestedHyperVGeneration(layout)
        return layout
    }

    static func wholeDiskFilesystem(_ reader: inout BoundedReader) throws(VHDError) -> Filesystem? {
        let found = try FilesystemProbe.probe(&reader, start: 0, size: reader.virtualSize)
        return found == .unknown ? nil : found
    }

    /// Fills in each partition's filesystem; partitions past the end of the disk stay unknown.
    static func probeFilesystems(_ layout: inout DiskLayout, reader: inout BoundedReader) throws(VHDError) {
        for index in layout.partitions.indices {
            let partition = layout.partitions[index]
            if layout.scheme == .mbr, let byte = UInt8(partition.type.dropFirst(2), radix: 16),
               PartitionTypes.mbrExtended.contains(byte) {
                continue  // a container of logical partitions, not a volume
            }
            layout.partitions[index].filesystem = try FilesystemProbe.probe(&reader, start: partition.start, size: partition.size)
        }
    }

    /// One warning per pair of overlapping partitions (an MBR extended partition contains its
    /// logical partitions by design and is left out).
    static func overlapWarnings(_ partitions: [Partition]) -> [String] {
        let volumes = partitions.filter { partition in
            !(partition.type.hasPrefix("0x") && UInt8(partition.type.dropFirst(2), radix: 16).map(PartitionTypes.mbrExtended.contains) == true)
        }.sorted { $0.start < $1.start }
        var warnings: [String] = []
        for (position, partition) in volumes.enumerated() {
            let end = partition.end ?? .max
            for other in volumes[(position + 1)...] {
                guard other.start < end else { break }
                warnings.append("partitions \(partition.index) and \(other.index) overlap")
            }
        }
        return warnings
    }

    /// Filesystems decide; partition types only when the filesystems say nothing either way.
    static func suggestedOSType(_ layout: DiskLayout) -> OSType? {
        func verdict(windows: Bool, linux: Bool) -> OSType? {
            switch (windows, linux) {
            case (true, false): .windows
            case (false, true): .linux
            default: nil
            }
        }
        let filesystems = layout.filesystems
        let unixLike = filesystems.contains { $0.isLinux || $0.isFreeBSD || $0 == .zfs }
        if let byFilesystem = verdict(windows: filesystems.contains { $0.isWindows }, linux: unixLike) {
            return byFilesystem
        }
        if filesystems.contains(where: { $0.isWindows }) && unixLike { return nil }
        let marks = layout.partitions.compactMap { partition -> OSType? in
            switch layout.scheme {
            case .gpt: PartitionTypes.gpt[partition.type]?.os
            case .mbr: UInt8(partition.type.dropFirst(2), radix: 16).flatMap { PartitionTypes.mbr[$0]?.os }
            case .none, .apm: nil
            }
        }
        return verdict(windows: marks.contains(.windows), linux: marks.contains(.linux))
    }

    /// UFS, or a FreeBSD partition type, and no Linux filesystem.
    static func isFreeBSD(_ layout: DiskLayout) -> Bool {
        let filesystems = layout.filesystems
        guard !filesystems.contains(where: \.isLinux) else { return false }
        return filesystems.contains(where: \.isFreeBSD) || layout.partitions.contains { PartitionTypes.freeBSD.contains($0.type) }
    }

    static func suggestedHyperVGeneration(_ layout: DiskLayout) -> HyperVGeneration? {
        if layout.hasGPTPartition(ofType: PartitionTypes.efiSystem) { return .v2 }
        if layout.scheme == .mbr && layout.partitions.contains(where: \.bootable) { return .v1 }
        return nil
    }
}
