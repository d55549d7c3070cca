/// The block allocation table (BAT): for each block of a dynamic or differencing disk, the
/// sector number where the block's sector bitmap starts, or ``unallocated``.
///
/// Entries are big-endian 32-bit sector numbers at the header's table offset; the table is
/// padded to a whole sector.
public struct BlockAllocationTable: Hashable, Sendable {
    /// BAT entry of a block never written (zeros in a dynamic disk, the parent's data in a
    /// differencing disk).
    public static let unallocated: UInt32 = 0xFFFF_FFFF

    /// One entry per block, in block order.
    public var entries: [UInt32]

    /// Makes a table from entries already in host byte order, one per block.
    ///
    /// - Parameter entries: for each block, the sector number of its sector bitmap, or
    ///   ``unallocated``; becomes ``entries``.
    public init(entries: [UInt32]) { self.entries = entries }

    /// A table of `count` unallocated entries: the table of a new, empty disk.
    ///
    /// - Parameter count: the number of blocks, the header's ``DynamicHeader/maxTableEntries``.
    public init(unallocatedCount count: Int) {
        entries = [UInt32](repeating: Self.unallocated, count: count)
    }

    /// Bytes the table of `entryCount` entries takes in the file: 4 per entry, padded to 512.
    ///
    /// - Parameter entryCount: the number of entries.
    /// - Returns: 4 x `entryCount` rounded up to a multiple of 512.
    public static func sizeInBytes(entryCount: Int) -> Int { (entryCount * 4 + 511) / 512 * 512 }

    /// Decodes `entryCount` entries in one pass over `bytes`.
    ///
    /// - Parameters:
    ///   - bytes: the table as stored at the header's ``DynamicHeader/tableOffset``, big-endian;
    ///     bytes past the entries (the padding) are ignored.
    ///   - entryCount: the number of entries to decode.
    /// - Throws: ``VHDFormatError/truncated(_:needed:available:)`` if `bytes` holds fewer than
    ///   4 x `entryCount` bytes.
    public init(parsing bytes: RawSpan, entryCount: Int) throws(VHDFormatError) {
        let needed = entryCount.multipliedReportingOverflow(by: 4)
        guard entryCount >= 0, !needed.overflow, bytes.byteCount >= needed.partialValue else {
            throw .truncated(.blockAllocationTable, needed: needed.overflow ? .max : needed.partialValue,
                             available: bytes.byteCount)
        }
        entries = bytes.withUnsafeBytes { buffer in
            [UInt32](unsafeUninitializedCapacity: entryCount) { table, initialized in
                for index in 0..<entryCount {
                    table[index] = UInt32(bigEndian: buffer.loadUnaligned(fromByteOffset: 4 * index, as: UInt32.self))
                }
                initialized = entryCount
            }
        }
    }

    /// Takes entries exactly as stored (big-endian words read straight from the file into
    /// `stored`) and converts them in place: one pass, no second table.
    ///
    /// - Parameter stored: the entries as read from the file, each word still big-endian.
    public init(storedEntries stored: consuming [UInt32]) {
        self.init(storedEntries: consume stored, forEachAllocated: { _, _ in })
    }

    /// ``init(storedEntries:)`` that also calls `allocated` with the index and the entry (in
    /// host byte order) of each allocated block, in block order, in the same pass: a reader
    /// that checks or counts the allocated blocks walks the table once.
    ///
    /// - Parameters:
    ///   - stored: the entries as read from the file, each word still big-endian.
    ///   - allocated: called for each entry other than ``unallocated``.
    public init(storedEntries stored: consuming [UInt32], forEachAllocated allocated: (_ index: Int, _ entry: UInt32) -> Void) {
        stored.withUnsafeMutableBufferPointer { words in
            // All ones read the same in both byte orders, so empty entries need no swap, and
            // runs of them (most of a large, young disk's table) are passed over 64 at a time:
            // eight 8-entry groups ANDed together are all ones only if every entry is, which
            // costs one comparison where eight took eight (the table of a 1 TiB disk is 2 MiB).
            let emptyGroup = SIMD8<UInt32>(repeating: Self.unallocated)
            var index = 0
            while index < words.count {
                if index + 64 <= words.count {
                    let run = UnsafeRawPointer(words.baseAddress! + index)
                    var all = run.loadUnaligned(as: SIMD8<UInt32>.self)
                    for group in 1..<8 {
                        all &= run.loadUnaligned(fromByteOffset: 32 * group, as: SIMD8<UInt32>.self)
                    }
                    if all == emptyGroup {
                        index += 64
                        continue
                    }
                }
                if index + 8 <= words.count,
                   UnsafeRawPointer(words.baseAddress! + index).loadUnaligned(as: SIMD8<UInt32>.self) == emptyGroup
                {
                    index += 8
                    continue
                }
                if words[index] != Self.unallocated {
                    let entry = UInt32(bigEndian: words[index])
                    words[index] = entry
                    allocated(index, entry)
                }
                index += 1
            }
        }
        entries = stored
    }

    /// The table as stored: big-endian entries, padded to a whole sector with 0xFF bytes (as
    /// QEMU and Hyper-V leave the unused tail).
    public func serialized() -> [UInt8] {
        var bytes = [UInt8](repeating: 0xFF, count: Self.sizeInBytes(entryCount: entries.count))
        bytes.withUnsafeMutableBytes { buffer in
            for (index, entry) in entries.enumerated() {
                buffer.storeBytes(of: entry.bigEndian, toByteOffset: 4 * index, as: UInt32.self)
            }
        }
        return bytes
    }

    /// Number of blocks with storage in this file.
    public var allocatedCount: Int { entries.count { $0 != Self.unallocated } }
}
