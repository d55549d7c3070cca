import Glibc

/// Gathers the data pieces of the read-ahead engine into whole output blocks, for the writers
/// of block-structured images (dynamic VHD, VHDX), and hands each block over once.
///
/// A piece that covers a block whole is handed over straight from the read-ahead buffer. Other
/// blocks are assembled in a block buffer that reads as zeros except where pieces were copied
/// in: only those parts are handed over as `parts` (to be scanned for non-zero data) and cleared
/// again afterwards, so a block holding 64 KiB of data costs 64 KiB of work, not a whole-block
/// clear and scan.
struct BlockAssembler: ~Copyable {
    /// A finished block: its index, its bytes (``blockSize`` of them, zeros outside `parts`),
    /// and the parts that were copied in (in order, adjacent ones joined).
    typealias Consumer = (_ block: Int, _ data: UnsafeRawBufferPointer, _ parts: [Range<Int>]) throws(VHDError) -> Void

    /// Bytes per output block.
    let blockSize: Int
    private let buffer: UnsafeMutableRawBufferPointer
    /// The block being assembled in `buffer`, if any.
    private var assembling: Int?
    /// The parts of `buffer` holding what was copied in; the rest is zeros.
    private var filled: [Range<Int>] = []

    /// Makes an assembler for blocks of `blockSize` bytes; `path` names the output in the error.
    ///
    /// - Throws: ``VHDError`` if the block buffer cannot be allocated.
    init(blockSize: Int, path: String) throws(VHDError) {
        // calloc: fresh zero pages, touched only where data is copied in.
        guard let zeroed = calloc(1, blockSize) else {
            throw SystemCalls.failure("calloc", path, .noMemory)
        }
        self.blockSize = blockSize
        buffer = UnsafeMutableRawBufferPointer(start: zeroed, count: blockSize)
    }

    deinit { free(buffer.baseAddress) }

    /// Takes the data piece `bytes` at virtual offset `offset` (the piece never crosses a block
    /// boundary), handing `consume` the block assembled so far when the piece starts another one.
    mutating func add(_ bytes: UnsafeRawBufferPointer, at offset: UInt64, _ consume: Consumer) throws(VHDError) {
        let block = Int(offset / UInt64(blockSize))
        let offsetInBlock = Int(offset - UInt64(block) * UInt64(blockSize))
        if offsetInBlock == 0 && bytes.count == blockSize {
            try finish(consume)
            return try consume(block, bytes, [0..<bytes.count])
        }
        if let current = assembling, current != block { try finish(consume) }
        let part = offsetInBlock..<(offsetInBlock + bytes.count)
        UnsafeMutableRawBufferPointer(rebasing: buffer[part]).copyMemory(from: bytes)
        if let last = filled.last, last.upperBound == part.lowerBound {
            filled[filled.count - 1] = last.lowerBound..<part.upperBound
        } else {
            filled.append(part)
        }
        assembling = block
    }

    /// Hands `consume` the block being assembled, if any, and clears what was copied in.
    mutating func finish(_ consume: Consumer) throws(VHDError) {
        guard let block = assembling else { return }
        assembling = nil
        defer {
            for part in filled { UnsafeMutableRawBufferPointer(rebasing: buffer[part]).initializeMemory(as: UInt8.self, repeating: 0) }
            filled.removeAll(keepingCapacity: true)
        }
        try consume(block, UnsafeRawBufferPointer(buffer), filled)
    }
}
