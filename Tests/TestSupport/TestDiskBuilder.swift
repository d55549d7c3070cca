import Foundation
import VHDFormat

/// Builds dynamic and differencing VHDs byte by byte from VHDFormat's structures, for tests
/// that need chains before the project's own writer exists, and to compare with oracles.
///
/// Layout: footer copy at 0, header at 512, BAT at 1536, the parent's relative path (W2ru) in
/// the sector after the BAT, then blocks in block order, then the footer.
package struct TestDiskBuilder {
    package var virtualSize: UInt64
    package var blockSize: UInt32
    package var uniqueId: VHDUUID
    /// For a differencing disk: the parent's file name (beside the child) and footer UUID.
    package var parent: (fileName: String, uniqueId: VHDUUID)?
    /// Sectors written so far: block index -> (sector bitmap, block data).
    private var blocks: [Int: (bitmap: [UInt8], data: [UInt8])] = [:]

    package init(virtualSize: UInt64, blockSize: UInt32 = 2 << 20, uniqueId: VHDUUID, parent: (fileName: String, uniqueId: VHDUUID)? = nil) {
        self.virtualSize = virtualSize
        self.blockSize = blockSize
        self.uniqueId = uniqueId
        self.parent = parent
    }

    /// Stores `bytes` (whole sectors) at virtual `offset`, setting their bitmap bits.
    package mutating func write(_ bytes: [UInt8], at offset: UInt64) {
        precondition(offset % 512 == 0 && bytes.count % 512 == 0 && offset + UInt64(bytes.count) <= virtualSize)
        let bitmapSize = DynamicHeader.sectorBitmapSize(blockSize: blockSize)
        var done = 0
        while done < bytes.count {
            // The part of `bytes` in one block, changed in place (a block copied per sector made
            // building a few MiB take seconds in a debug build).
            let position = offset + UInt64(done)
            let blockIndex = Int(position / UInt64(blockSize))
            let inBlock = Int(position % UInt64(blockSize))
            let count = min(bytes.count - done, Int(blockSize) - inBlock)
            if blocks[blockIndex] == nil {
                blocks[blockIndex] = ([UInt8](repeating: 0, count: bitmapSize), [UInt8](repeating: 0, count: Int(blockSize)))
            }
            for sector in (inBlock / 512)..<((inBlock + count) / 512) {
                blocks[blockIndex]!.bitmap[sector >> 3] |= 0x80 >> UInt8(sector & 7)
            }
            blocks[blockIndex]!.data.replaceSubrange(inBlock..<(inBlock + count), with: bytes[done..<(done + count)])
            done += count
        }
    }

    /// The file's bytes.
    package func serialized() -> [UInt8] {
        let entryCount = Int((virtualSize + UInt64(blockSize) - 1) / UInt64(blockSize))
        let tableOffset = 1536
        let locatorOffset = tableOffset + BlockAllocationTable.sizeInBytes(entryCount: entryCount)
        var position = locatorOffset + 512
        var table = BlockAllocationTable(unallocatedCount: entryCount)
        var body: [UInt8] = []
        for blockIndex in blocks.keys.sorted() {
            table.entries[blockIndex] = UInt32(position / 512)
            let block = blocks[blockIndex]!
            body += block.bitmap + block.data
            position += block.bitmap.count + block.data.count
        }
        var header = DynamicHeader(tableOffset: UInt64(tableOffset), maxTableEntries: UInt32(entryCount), blockSize: blockSize)
        var locatorData = [UInt8](repeating: 0, count: 512)
        if let parent {
            header.parentUniqueId = parent.uniqueId
            header.setParentName(parent.fileName)
            let path = ParentLocator.encodeWindowsPath(".\\" + parent.fileName)
            locatorData.replaceSubrange(0..<path.count, with: path)
            header.parentLocators[0] = ParentLocator(
                platformCode: .w2ru, platformDataSpace: 512, platformDataLength: UInt32(path.count),
                platformDataOffset: UInt64(locatorOffset))
        }
        let footer = Footer(
            dataOffset: 512, timestamp: VHDTimestamp(rawValue: 0x2D24_BD00), creatorApplication: .vhdtool,
            creatorVersion: 0x0000_0001, creatorHostOS: .windows, originalSize: virtualSize, currentSize: virtualSize,
            geometry: DiskGeometry(forSizeInBytes: virtualSize), diskType: parent == nil ? .dynamic : .differencing,
            uniqueId: uniqueId
        ).withComputedChecksum().serialized()
        var bytes = footer + header.withComputedChecksum().serialized()
        bytes += table.serialized() + locatorData + body + footer
        return bytes
    }

    /// Writes the file to `path`.
    package func write(to path: String) throws {
        try Data(serialized()).write(to: URL(fileURLWithPath: path))
    }
}

/// A temporary folder for one test, removed when the test ends.
package final class TemporaryFolder {
    package let path: String

    package init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("vhdtool-test-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    package func file(_ name: String) -> String { path + "/" + name }

    deinit {
        // VHDTOOL_KEEP_TEST_FILES=1 keeps the files of failing tests for a look.
        if ProcessInfo.processInfo.environment["VHDTOOL_KEEP_TEST_FILES"] != "1" {
            try? FileManager.default.removeItem(atPath: path)
        }
    }
}
