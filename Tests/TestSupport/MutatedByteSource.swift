import VHD

/// An image's bytes with some bytes changed and possibly cut short, without copying the image:
/// the mutation tests make thousands of these from one file.
package struct MutatedByteSource: ByteSource {
    package let base: [UInt8]
    package var patches: [Int: UInt8] = [:]
    package var length: Int

    package init(base: [UInt8]) {
        self.base = base
        length = base.count
    }

    package var name: String { "<mutated image>" }
    package var sizeInBytes: Int64 { Int64(length) }

    package func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(VHDError) {
        guard offset >= 0, offset <= sizeInBytes, Int64(buffer.count) <= sizeInBytes - offset else {
            throw VHDError(path: name, .unexpectedEndOfFile(offset: offset, needed: buffer.count))
        }
        let start = Int(offset)
        base.withUnsafeBytes { source in
            buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[start..<(start + buffer.count)]))
        }
        for (position, byte) in patches where position >= start && position < start + buffer.count {
            buffer[position - start] = byte
        }
    }
}

/// SplitMix64: a small seeded generator, so that every run makes the same mutations.
package struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    package init(seed: UInt64) { state = seed }

    package mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
