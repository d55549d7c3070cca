/// Text written to standard output in pieces of about 64 KiB, for output too long to build
/// as one string (`map` of a disk with millions of extents).
package struct BufferedOutput: ~Copyable {
    private var buffer: [UInt8] = []
    private let limit = 64 << 10

    package init() { buffer.reserveCapacity(limit + 1024) }

    /// Adds `text`; writes the buffer out once it holds `limit` bytes.
    package mutating func write(_ text: String) {
        buffer.append(contentsOf: text.utf8)
        if buffer.count >= limit { flush() }
    }

    /// Writes out what is buffered.
    package mutating func flush() {
        guard !buffer.isEmpty else { return }
        Terminal.write(bytes: buffer, to: 1)
        buffer.removeAll(keepingCapacity: true)
    }
}
