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

    /// Wraps a SHA-256 computed in the canonical sparse form.
    ///
    /// - Parameter sha256: The 32 bytes of the hash.
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

    /// The digest as "sha256:" and 64 lower-case hex digits.
    public var description: String {
        "sha256:" + sha256.map { byte in
            let digits = String(byte, radix: 16)
            return digits.count == 1 ? "0" + digits : digits
        }.joined()
    }

    /// Decodes the digest from its "sha256:<64 hex digits>" string.
    ///
    /// - Parameter decoder: The decoder holding one string.
    /// - Throws: `DecodingError.dataCorrupted` if the string is not such a digest; the decoder's
    ///   errors.
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let digest = ContentDigest(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a \"sha256:<hex>\" digest: \(text)"))
        }
        self = digest
    }

    /// Encodes the digest as its ``description`` string.
    ///
    /// - Parameter encoder: The encoder to write one string to.
    /// - Throws: The encoder's errors.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

extension Disk {
    /// The disk's ``ContentDigest``. Walks the extent map once as a stream, through the
    /// read-ahead engine: zero extents and host-file holes are skipped, data is read in chunks
    /// of `options.chunkSize` (4 MiB) on a second thread. Memory does not grow with the disk.
    ///
    /// - Parameter options: `progress` is called with the virtual bytes done and the virtual
    ///   size; `isCancelled` stops with ``VHDError/Kind/cancelled``.
    /// - Throws: ``VHDError`` when a read fails or the caller cancels.
    public func contentDigest(options: CopyOptions = CopyOptions()) throws(VHDError) -> ContentDigest {
        var hasher = SHA256()
        withUnsafeBytes(of: virtualSize.bigEndian) { hasher.update(bufferPointer: $0) }
        let granuleSize = UInt64(ContentDigest.granuleSize)
        let size = virtualSize
        // The granule that a piece left partly filled: the rest of it may come in later pieces.
        let partial = UnsafeMutableRawBufferPointer.allocate(byteCount: ContentDigest.granuleSize, alignment: 64)
        defer { partial.deallocate() }
        var partialIndex: UInt64?

        func hash(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) {
            guard !ZeroDetection.isZero(bytes) else { return }
            let record = (offset.bigEndian, UInt64(bytes.count).bigEndian)
            withUnsafeBytes(of: record) { hasher.update(bufferPointer: $0) }
            hasher.update(bufferPointer: bytes)
        }
        func finishPartial() {
            guard let index = partialIndex else { return }
            partialIndex = nil
            let start = index * granuleSize
            hash(UnsafeRawBufferPointer(rebasing: partial[0..<Int(min(granuleSize, size - start))]), at: start)
        }

        let chunkSize = max(ContentDigest.granuleSize, options.chunkSize / ContentDigest.granuleSize * ContentDigest.granuleSize)
        try ReadAhead.forEachPiece(
            of: self, in: 0..<size, chunkSize: chunkSize, isCancelled: options.isCancelled
        ) { (piece, bytes) throws(VHDError) in
            defer { options.progress?(piece.range.upperBound, size) }
            guard let bytes else { return }  // zeros: nothing to hash, and a partial granule stays zero there
            var position = piece.range.lowerBound
            var offset = 0
            while offset < bytes.count {
                let index = position / granuleSize
                let granuleStart = index * granuleSize
                let granuleEnd = min(granuleStart + granuleSize, size)
                let count = Int(min(UInt64(bytes.count - offset), granuleEnd - position))
                let part = UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + count)])
                if position == granuleStart && count == Int(granuleEnd - granuleStart) {
                    finishPartial()
                    hash(part, at: granuleStart)
                } else {
                    if partialIndex != index {
                        finishPartial()
                        partial.initializeMemory(as: UInt8.self, repeating: 0)
                        partialIndex = index
                    }
                    UnsafeMutableRawBufferPointer(rebasing: partial[Int(position - granuleStart)...]).copyMemory(from: part)
                }
                offset += count
                position += UInt64(count)
            }
        }
        finishPartial()
        return ContentDigest(sha256: Array(hasher.finalize()))
    }
}
