/// Finding all-zero bytes at memory speed: 64 bytes per step as eight 64-bit words OR-ed
/// together (the optimizer turns this into vector compares), no per-byte loop.
public enum ZeroDetection {
    /// Whether every byte of `bytes` is zero.
    @inline(__always)
    public static func isZero(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        let count = bytes.count
        var index = 0
        while index + 64 <= count {
            var accumulated: UInt64 = 0
            for word in 0..<8 {
                accumulated |= base.loadUnaligned(fromByteOffset: index + word * 8, as: UInt64.self)
            }
            if accumulated != 0 { return false }
            index += 64
        }
        while index + 8 <= count {
            if base.loadUnaligned(fromByteOffset: index, as: UInt64.self) != 0 { return false }
            index += 8
        }
        while index < count {
            if base.load(fromByteOffset: index, as: UInt8.self) != 0 { return false }
            index += 1
        }
        return true
    }

    /// Calls `body` with each maximal run of granules of `bytes` holding a non-zero byte, as
    /// a range of byte offsets. `bytes` start at `diskOffset` of a disk or file, and granules
    /// are aligned to multiples of `granularity` of that offset, so that they line up with the
    /// pages of the output whatever the chunk's start; the first and last may be short.
    public static func forEachNonZeroRun<E: Error>(
        in bytes: UnsafeRawBufferPointer, granularity: Int, alignedFrom diskOffset: UInt64 = 0,
        _ body: (Range<Int>) throws(E) -> Void
    ) throws(E) {
        var runStart: Int?
        var offset = 0
        let phase = Int(diskOffset % UInt64(granularity))
        while offset < bytes.count {
            let end = min(offset + granularity - (offset == 0 ? phase : 0), bytes.count)
            let zero = isZero(UnsafeRawBufferPointer(rebasing: bytes[offset..<end]))
            if zero, let start = runStart {
                try body(start..<offset)
                runStart = nil
            } else if !zero && runStart == nil {
                runStart = offset
            }
            offset = end
        }
        if let start = runStart { try body(start..<bytes.count) }
    }
}
