import Foundation
import TestSupport
import Testing
import VHD
import VHDFormat

/// Flips and truncates bytes of every fixture and corpus image thousands of times, and checks
/// that opening and inspecting never traps, hangs or reads out of bounds: each mutant either
/// opens or gives a ``VHDError``.
struct MutationTests {
    static let mutantsPerImage = 600

    static var images: [String] {
        var paths = (validTestImages + ["broken-end-footer-zeroed.vhd"])
            .map(TestPaths.testImage)
        paths += corpusImages.compactMap { TestPaths.corpusImage($0.file) }
        return paths
    }

    @Test(.timeLimit(.minutes(2)), arguments: images)
    func mutantsNeverTrapOrHang(_ path: String) throws {
        let original = try Array(Data(contentsOf: URL(fileURLWithPath: path)))
        var random = SeededGenerator(seed: UInt64(truncatingIfNeeded: path.utf8.reduce(5381) { $0 &* 33 &+ Int($1) }))
        var opened = 0
        for _ in 0..<Self.mutantsPerImage {
            let mutant = Self.mutate(original, using: &random)
            do {
                let layout = try VHDLayout(reading: mutant, options: OpenOptions(checksumPolicy: .ignore))
                let report = InspectionReport(layout: layout, path: mutant.name, includeTable: true)
                #expect(report.virtualSize == layout.virtualSize)
                if let dynamic = layout.dynamic {
                    // Every allocated block the layout accepted lies inside the file.
                    let limit = UInt64(mutant.sizeInBytes)
                    for entry in dynamic.table.entries where entry != BlockAllocationTable.unallocated {
                        #expect(UInt64(entry) * 512 + UInt64(dynamic.sectorBitmapSize) <= limit)
                    }
                }
                opened += 1
            } catch {
                #expect(!error.description.isEmpty)
            }
        }
        // Mutations mostly hit fields that matter, but some land in reserved bytes or data.
        #expect(opened > 0 || original.count < 4096, "no mutant of \(path) opened at all")
    }

    /// Changes 1 to 4 bytes, mostly in the metadata (the first 64 KiB and the last 512 bytes),
    /// sometimes a field to an extreme value, and sometimes cuts the file short.
    static func mutate(_ original: [UInt8], using random: inout SeededGenerator) -> MutatedByteSource {
        var mutant = MutatedByteSource(base: original)
        let count = original.count
        for _ in 0..<Int.random(in: 1...4, using: &random) {
            let position: Int
            switch Int.random(in: 0..<10, using: &random) {
            case 0..<5: position = Int.random(in: 0..<min(count, 65536), using: &random)
            case 5..<8: position = max(0, count - 512) + Int.random(in: 0..<min(count, 512), using: &random)
            default: position = Int.random(in: 0..<count, using: &random)
            }
            let byte: UInt8 = switch Int.random(in: 0..<4, using: &random) {
            case 0: 0x00
            case 1: 0xFF
            case 2: original[position] ^ (1 << UInt8.random(in: 0..<8, using: &random))
            default: UInt8.random(in: 0...255, using: &random)
            }
            mutant.patches[position] = byte
        }
        if Int.random(in: 0..<8, using: &random) == 0 {
            mutant.length = Int.random(in: 0..<count, using: &random)
        }
        return mutant
    }
}
