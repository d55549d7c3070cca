import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Comparing big sparse files without reading their holes.
package enum FileComparison {
    /// The stored (non-hole) ranges of a file, by SEEK_DATA / SEEK_HOLE.
    package static func storedRanges(_ path: String) throws -> [Range<Int64>] {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        defer { close(descriptor) }
        let size = lseek(descriptor, 0, SEEK_END)
        var ranges: [Range<Int64>] = []
        var position: Int64 = 0
        while position < size {
            let start = lseek(descriptor, off_t(position), 3)  // SEEK_DATA
            if start < 0 { break }
            let end = lseek(descriptor, off_t(start), 4)  // SEEK_HOLE
            ranges.append(Int64(start)..<Int64(end))
            position = Int64(end)
        }
        return ranges
    }

    /// Whether two files have the same size and the same bytes, reading only ranges that one
    /// of them stores (holes read as zeros in both).
    package static func sameContent(_ first: String, _ second: String) throws -> Bool {
        let sizeA = try FileManager.default.attributesOfItem(atPath: first)[.size] as? Int64
        let sizeB = try FileManager.default.attributesOfItem(atPath: second)[.size] as? Int64
        guard sizeA == sizeB else { return false }
        let a = try FileHandle(forReadingFrom: URL(fileURLWithPath: first))
        let b = try FileHandle(forReadingFrom: URL(fileURLWithPath: second))
        defer {
            try? a.close()
            try? b.close()
        }
        for range in try storedRanges(first) + storedRanges(second) {
            var position = range.lowerBound
            while position < range.upperBound {
                let count = Int(min(range.upperBound - position, 8 << 20))
                try a.seek(toOffset: UInt64(position))
                try b.seek(toOffset: UInt64(position))
                let bytesA = try a.read(upToCount: count) ?? Data()
                let bytesB = try b.read(upToCount: count) ?? Data()
                guard bytesA == bytesB else { return false }
                position += Int64(count)
            }
        }
        return true
    }

    /// `sha256sum FILE`, as the corpus README computed its hashes.
    package static func sha256(_ path: String) throws -> String {
        let output = try ExternalTool.run("/usr/bin/sha256sum", [path])
        return String(output.stdout.prefix(64))
    }
}
