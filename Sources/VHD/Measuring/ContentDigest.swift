import Crypto

/// A content identity of a virtual disk: the same for the same virtual bytes whatever holds
/// them (raw, fixed, dynamic, a differencing chain), computed without reading zeros.
///
/// The canonical sparse form (version 1; stable: the gallery stores these digests) is the
/// SHA-256 of:
/// 1. the virtual size in bytes, as a big-endian UInt64;
/// 2. then, for every granule holding a non-zero byte, in increasing offset order: its offset
///    and its length in bytes, each a big-endian UInt64, then its bytes.
///
/// Granules are the 4096-byte pieces of the virtual disk starting at offset 0 (the last one is
/// shorter when the size is not a multiple of 4096). All-zero granules contribute nothing, so
/// the zero extents of the extent map are neither read nor hashed. Written "sha256:<64 hex
/// digits>".
public struct ContentDigest: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The granule of the canonical form.
    public static let granuleSize = 4096
    /// The 32 bytes of the SHA-256.
    public let sha256: [UInt8]

    public init(sha256: [UInt8]) { self.sha256 = sha256 }

    /// Parses "sha256:<64 hex digits>" (either case); nil for anything else.
    public init?(_ text: String) {
        guard text.hasPrefix("sha256:") else { return nil }
        let digits = Array(text.utf8.dropFirst(7))
        guard digits.count == 64 else { return nil }
        var bytes: [UInt8] = []
        for index in stride(from: 0, to: 64, by: 2) {
            guard let byte = UInt8(String(decoding: digits[index..<(index + 2)], as: UTF8.self), radix: 16) else { return nil }
            bytes.append(byte)
        }
        sha256 = bytes
    }

    public var description: String {
        "sha256:" + sha256.map { byte in
            let digits = String(byte, radix: 16)
            return digits.count == 1 ? "0" + digits : digits
        }.joined()
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let digest = ContentDigest(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a \"sha256:<hex>\" digest: \(text)"))
        }
        self = digest
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

extension Disk {
    /// The disk's ``ContentDigest``. Reads only the granules that data extents touch, in chunks
    /// of `options.chunkSize` (4 MiB) through one reusable buffer; zero extents are skipped.
    ///
    /// - Parameter options: `progress` is called with bytes done and the total to read (the
    ///   data, not the virtual size); `isCancelled` stops with ``VHDError/Kind/cancelled``.
    /// - Throws: ``VHDError`` when a read fails or the caller cancels.
    public func contentDigest(options: CopyOptions = CopyOptions()) throws(VHDError) -> ContentDigest {
        var hasher = SHA256()
        withUnsafeBytes(of: virtualSize.bigEndian) { hasher.update(bufferPointer: $0) }
        let ranges = try granuleAlignedDataRanges()
        let total = ranges.reduce(0) { $0 + UInt64($1.count) }
        let chunkSize = max(ContentDigest.granuleSize, options.chunkSize / ContentDigest.granuleSize * ContentDigest.granuleSize)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 4096)
        defer { buffer.deallocate() }
        var done: UInt64 = 0
        for range in ranges {
            var position = range.lowerBound
            while position < range.upperBound {
                if options.isCancelled?() == true { throw VHDError(path: layers[0].file.name, .cancelled) }
                let length = Int(min(UInt64(chunkSize), range.upperBound - position))
                let chunk = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<length])
                try read(into: chunk, at: position)
                var offset = 0
                while offset < length {
                    let count = min(ContentDigest.granuleSize, length - offset)
                    let bytes = UnsafeRawBufferPointer(rebasing: chunk[offset..<(offset + count)])
                    if !ZeroDetection.isZero(bytes) {
                        let record = ((position + UInt64(offset)).bigEndian, UInt64(count).bigEndian)
                        withUnsafeBytes(of: record) { hasher.update(bufferPointer: $0) }
                        hasher.update(bufferPointer: bytes)
                    }
                    offset += count
                }
                position += UInt64(length)
                done += UInt64(length)
                options.progress?(done, total)
            }
        }
        return ContentDigest(sha256: Array(hasher.finalize()))
    }

    /// The data extents widened to whole granules and merged: every granule that holds any
    /// stored byte, once, in order. Host-file holes inside allocated dynamic blocks (qemu-img
    /// and our in-place writer leave them) are zeros and left out.
    func granuleAlignedDataRanges() throws(VHDError) -> [Range<UInt64>] {
        let granule = UInt64(ContentDigest.granuleSize)
        var ranges: [Range<UInt64>] = []
        func add(_ range: Range<UInt64>) {
            let start = range.lowerBound / granule * granule
            let end = min((range.upperBound + granule - 1) / granule * granule, virtualSize)  // sizes stay below 2^63
            if let last = ranges.last, last.upperBound >= start {
                ranges[ranges.count - 1] = last.lowerBound..<max(last.upperBound, end)
            } else {
                ranges.append(start..<end)
            }
        }
        for extent in try extents() {
            guard case let .data(layer, hostOffset) = extent.source else { continue }
            guard layers[layer].blocks != nil else {
                add(extent.start..<extent.end)  // raw and fixed extents are stored ranges already
                continue
            }
            for stored in try layers[layer].file.storedRanges(in: hostOffset..<(hostOffset + Int64(extent.length))) {
                add((extent.start + UInt64(stored.lowerBound - hostOffset))..<(extent.start + UInt64(stored.upperBound - hostOffset)))
            }
        }
        return ranges
    }
}
