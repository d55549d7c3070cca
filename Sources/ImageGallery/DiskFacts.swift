import SystemPackage
import VHD

/// What version creation needs to know about one local disk: sizes, content identity, and
/// what its metadata says about the OS it holds. Produced by ``gather(path:options:)``, the
/// one place that asks the VHD module.
public struct DiskFacts: Sendable, Equatable {
    public var virtualSize: UInt64
    /// Non-zero bytes at 512-byte granules (``OccupiedSize/nonZeroBytes``).
    public var occupiedBytes: UInt64
    /// The content digest of the virtual bytes.
    public var digest: String
    /// From the disk's OS-state tag; nil when the disk is untagged.
    public var osState: GalleryOSState?
    /// What the partition/filesystem probe suggests; nil when it finds nothing it knows.
    public var osType: GalleryOSType?
    public var hyperVGeneration: GalleryHyperVGeneration?

    public init(
        virtualSize: UInt64, occupiedBytes: UInt64, digest: String, osState: GalleryOSState? = nil,
        osType: GalleryOSType? = nil, hyperVGeneration: GalleryHyperVGeneration? = nil
    ) {
        self.virtualSize = virtualSize
        self.occupiedBytes = occupiedBytes
        self.digest = digest
        self.osState = osState
        self.osType = osType
        self.hyperVGeneration = hyperVGeneration
    }

    /// Opens the disk at `path` (and its chain) with the structural checks of
    /// ``Disk/withOpened(at:options:_:)`` and measures it.
    ///
    /// - Throws: ``GalleryError`` (category io) when the disk cannot be opened or read.
    public static func gather(path: FilePath, options: CopyOptions = CopyOptions()) throws(GalleryError) -> DiskFacts {
        do {
            return try Disk.withOpened(at: path) { disk in
                let occupied = try OccupiedSize.measure(disk, options: options)
                let digest = try contentDigest(of: disk, options: options)
                // TODO(meta): the OS-state tag (ImageTagFile) and the partition/filesystem probe
                // (DiskLayoutProbe) come with the metadata issue; until then every disk counts as
                // untagged and unprobed.
                return DiskFacts(virtualSize: disk.virtualSize, occupiedBytes: occupied.nonZeroBytes, digest: digest)
            }
        } catch let error as GalleryError {
            throw error
        } catch {
            throw GalleryError.disk(path.string, error)
        }
    }

    /// The content digest of `disk`'s virtual bytes, the same whatever container holds them.
    ///
    /// TODO(meta): PROVISIONAL until the metadata issue's `Disk.contentDigest` (SHA-256,
    /// "sha256:<hex>") is on main: this is FNV-1a over 64-bit words of the same canonical sparse
    /// form (the virtual size, then each non-zero 4096-byte granule's offset and bytes), written
    /// "fnv1a64:<hex>". It detects changed and missing content, but is not cryptographic.
    public static func contentDigest(of disk: Disk, options: CopyOptions = CopyOptions()) throws(VHDError) -> String {
        let granule: UInt64 = 4096
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ word: UInt64) { hash = (hash ^ word) &* 0x0000_0100_0000_01b3 }
        mix(disk.virtualSize)
        var ranges: [Range<UInt64>] = []
        for extent in try disk.extents() where extent.isData {
            let start = extent.start / granule * granule
            let end = min(disk.virtualSize, (extent.end + granule - 1) / granule * granule)
            if let last = ranges.last, last.upperBound >= start {
                ranges[ranges.count - 1] = last.lowerBound..<max(last.upperBound, end)
            } else {
                ranges.append(start..<end)
            }
        }
        let chunkSize = 1 << 20
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 4096)
        defer { buffer.deallocate() }
        for range in ranges {
            var position = range.lowerBound
            while position < range.upperBound {
                if options.isCancelled?() == true { throw VHDError(path: disk.layers[0].file.name, .cancelled) }
                let length = Int(min(UInt64(chunkSize), range.upperBound - position))
                let chunk = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<length])
                try disk.read(into: chunk, at: position)
                var index = 0
                while index < length {
                    let end = min(length, index + Int(granule))
                    let piece = UnsafeRawBufferPointer(rebasing: chunk[index..<end])
                    if !ZeroDetection.isZero(piece) {
                        mix(position + UInt64(index))
                        mix(UInt64(piece.count))
                        var word = 0
                        while word + 8 <= piece.count {
                            mix(piece.loadUnaligned(fromByteOffset: word, as: UInt64.self))
                            word += 8
                        }
                        while word < piece.count {
                            mix(UInt64(piece[word]))
                            word += 1
                        }
                    }
                    index = end
                }
                position += UInt64(length)
            }
        }
        let digits = String(hash, radix: 16)
        return "fnv1a64:" + String(repeating: "0", count: 16 - digits.count) + digits
    }
}
