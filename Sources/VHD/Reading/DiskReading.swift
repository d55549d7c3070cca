/// Reading virtual bytes.
extension Disk {
    /// Fills `buffer` with the virtual bytes at `offset`, through the extent map: data extents
    /// are read from their layer's file, zero extents are filled with zeros. Allocates nothing
    /// beyond the layers' bitmap caches.
    ///
    /// - Throws: ``VHDError`` if the range is outside the disk or a read fails.
    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws(VHDError) {
        let (end, overflow) = offset.addingReportingOverflow(UInt64(buffer.count))
        guard !overflow, end <= virtualSize else {
            throw VHDError(path: layers[0].file.name, .outOfRange(offset: offset, length: buffer.count, virtualSize: virtualSize))
        }
        try walk(offset..<end, layer: 0) { (extent) throws(VHDError) in
            let slice = UnsafeMutableRawBufferPointer(
                rebasing: buffer[Int(extent.start - offset)..<Int(extent.end - offset)])
            switch extent.source {
            case .zero:
                slice.initializeMemory(as: UInt8.self, repeating: 0)
            case let .data(layer, hostOffset):
                try layers[layer].file.read(into: slice, at: hostOffset)
            }
        }
    }

    /// Reads `count` virtual bytes at `offset` into a new array.
    public func read(at offset: UInt64, count: Int) throws(VHDError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        try bytes.withMutableBytes { (buffer) throws(VHDError) in try read(into: buffer, at: offset) }
        return bytes
    }
}
