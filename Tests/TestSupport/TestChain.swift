import VHDFormat

/// Chains built with ``TestDiskBuilder`` for test modules that do not import VHDFormat.
package enum TestChain {
    /// Writes `layer0.vhd` (dynamic, blocks of `blockSize`), `layer1.vhd` (its child), ... into
    /// `folder`, each layer with its writes (whole sectors), and returns their paths.
    package static func write(
        size: UInt64, blockSize: UInt32 = 2 << 20, layers: [[(offset: UInt64, bytes: [UInt8])]], in folder: String
    ) throws -> [String] {
        var paths: [String] = []
        var parent: (fileName: String, uniqueId: VHDUUID)?
        for (level, writes) in layers.enumerated() {
            let id = VHDUUID(high: 0x7668_6474_0000_4000, low: 0x8000_0000_0000_0000 | UInt64(level + 1))
            var builder = TestDiskBuilder(virtualSize: size, blockSize: blockSize, uniqueId: id, parent: parent)
            for (offset, bytes) in writes { builder.write(bytes, at: offset) }
            let name = "layer\(level).vhd"
            try builder.write(to: folder + "/" + name)
            paths.append(folder + "/" + name)
            parent = (name, id)
        }
        return paths
    }
}
