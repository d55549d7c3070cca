// Reading a dynamic VHD through the library, as `vhdtool convert --to raw` does.
//
// The images are made by `Benchmarks/run-convert-raw`, which passes their paths:
//   RAW_EXPORT_BENCHMARK_IMAGE         the 16 GiB dynamic VHD with 1004 MiB of scattered data
//                                      (580 of 8192 blocks allocated);
//   RAW_EXPORT_BENCHMARK_SPARSE_IMAGE  optional: the 1 TiB dynamic VHD with 4 MiB of data;
//   RAW_EXPORT_BENCHMARK_OUTPUT_DIR    optional: where the RawExport benchmarks write (default:
//                                      beside the image).
// Without the first, every benchmark here is skipped with a message (nothing to read).
//
// Each iteration opens the disk (footer, header and BAT, validated), as a command would.
// Besides the harness's metrics, "MiB/s" is the bytes an iteration handled (virtual bytes for
// whole-disk reads, data bytes otherwise) divided by its own wall time: `throughput` counts
// iterations per second, rounded to an integer, which says little when one takes a second.

import Benchmark
import Foundation
import SystemPackage
import VHD

let environment = ProcessInfo.processInfo.environment
let imagePath: FilePath? = environment["RAW_EXPORT_BENCHMARK_IMAGE"].flatMap { $0.isEmpty ? nil : FilePath($0) }
let sparseImagePath: FilePath? = environment["RAW_EXPORT_BENCHMARK_SPARSE_IMAGE"].flatMap {
    $0.isEmpty ? nil : FilePath($0)
}
let outputFolder: FilePath? = environment["RAW_EXPORT_BENCHMARK_OUTPUT_DIR"].flatMap { $0.isEmpty ? nil : FilePath($0) }

let chunkSize = 4 << 20
let mebibytesPerSecond = BenchmarkMetric.custom("MiB/s", polarity: .prefersLarger, useScalingFactor: false)

/// One 4 MiB, page-aligned buffer for the whole run (as `RawExport` allocates one per export).
nonisolated(unsafe) let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 4096)

/// Records `bytes` handled since `start` as MiB/s.
func recordRate(_ benchmark: Benchmark, bytes: UInt64, since start: ContinuousClock.Instant) {
    let elapsed = (ContinuousClock.now - start).components
    let seconds = Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18
    benchmark.measurement(mebibytesPerSecond, Int((Double(bytes) / 1_048_576 / max(seconds, 1e-9)).rounded()))
}

/// Reads `range` of the virtual disk through `Disk.read` in chunks of at most 4 MiB; returns
/// a byte of each chunk, so that nothing can be optimized away.
func readChunked(_ disk: Disk, _ range: Range<UInt64>) throws -> UInt8 {
    var position = range.lowerBound
    var seen: UInt8 = 0
    while position < range.upperBound {
        let length = Int(min(UInt64(chunkSize), range.upperBound - position))
        let slice = UnsafeMutableRawBufferPointer(rebasing: chunk[0..<length])
        try disk.read(into: slice, at: position)
        seen ^= slice[length - 1]
        position += UInt64(length)
    }
    return seen
}

/// Exports `path` into a new file (in the output folder) with `RawExport.write`, as `vhdtool convert --to raw`
/// does; removing the output is left out of the measurement.
func export(_ path: FilePath, _ benchmark: Benchmark, options: CopyOptions = CopyOptions()) throws {
    let start = ContinuousClock.now
    let destination = (outputFolder ?? path.removingLastComponent()).appending(".raw-export-benchmark.raw")
    let (output, summary) = try Disk.withOpened(at: path) { disk in
        let output = try OutputFile.create(at: destination, overwrite: true)
        do {
            return (output, try RawExport.write(disk, to: output, options: options))
        } catch {
            output.discard()
            throw error
        }
    }
    benchmark.stopMeasurement()
    recordRate(benchmark, bytes: summary.bytesRead, since: start)
    output.discard()
    blackHole(summary)
}

let benchmarks: @Sendable () -> Void = {
    let metrics: [BenchmarkMetric] = [.wallClock, .throughput, .mallocCountTotal, .peakMemoryResident, mebibytesPerSecond]
    // Passes over the whole disk take 0.1 to 2 s: a few iterations.
    let heavy = Benchmark.Configuration(
        metrics: metrics, timeUnits: .milliseconds, warmupIterations: 1, maxDuration: .seconds(20), maxIterations: 20)
    let light = Benchmark.Configuration(
        metrics: [.wallClock, .throughput, .mallocCountTotal, .peakMemoryResident], timeUnits: .microseconds,
        warmupIterations: 3, maxDuration: .seconds(3), maxIterations: 1_000)
    var lightWithRate = light
    lightWithRate.metrics = metrics

    guard let imagePath else {
        print("""
            RawExportBenchmark: RAW_EXPORT_BENCHMARK_IMAGE is not set; skipping every benchmark. \
            Run Benchmarks/run-convert-raw, which makes the images and sets it.
            """)
        return
    }

    // Every virtual byte, 4 MiB per Disk.read: 15 GiB of it zero-filled, 1.1 GiB read from the file.
    Benchmark("Read.16GiB.whole-disk.4MiB", configuration: heavy) { benchmark in
        let start = ContinuousClock.now
        let (seen, size) = try Disk.withOpened(at: imagePath) { disk in
            (try readChunked(disk, 0..<disk.virtualSize), disk.virtualSize)
        }
        recordRate(benchmark, bytes: size, since: start)
        blackHole(seen)
    }

    // The data extents only (extents() first), 4 MiB per Disk.read; zero extents are skipped.
    Benchmark("Read.16GiB.data-extents.4MiB", configuration: heavy) { benchmark in
        let start = ContinuousClock.now
        let (seen, bytes) = try Disk.withOpened(at: imagePath) { disk in
            var seen: UInt8 = 0
            var bytes: UInt64 = 0
            for extent in try disk.extents() where extent.isData {
                seen ^= try readChunked(disk, extent.start..<extent.end)
                bytes += extent.length
            }
            return (seen, bytes)
        }
        recordRate(benchmark, bytes: bytes, since: start)
        blackHole(seen)
    }

    // RawExport.write into a file beside the image: read data extents, skip zero granules, pwrite.
    Benchmark("RawExport.16GiB", configuration: heavy) { benchmark in
        try export(imagePath, benchmark)
    }

    // The same with 256 KiB reads (CopyOptions.chunkSize), the buffer size of cp and the like:
    // whether a buffer that stays in the CPU's L2 cache pays for 8 times as many system calls.
    Benchmark("RawExport.16GiB.chunk-256KiB", configuration: heavy) { benchmark in
        try export(imagePath, benchmark, options: CopyOptions(chunkSize: 256 << 10))
    }

    // Only the extent map: open, then walk 8192 BAT entries and 580 sector bitmaps.
    Benchmark("Extents.16GiB", configuration: light) { _ in
        let extents = try Disk.withOpened(at: imagePath) { disk in try disk.extents() }
        blackHole(extents)
    }

    // Zero detection alone, on 4 MiB of zeros in 4 KiB granules (what an allocated, all-zero
    // part of a block costs before it is left as a hole).
    Benchmark("ZeroDetection.4MiB-zeros", configuration: lightWithRate) { benchmark in
        chunk.initializeMemory(as: UInt8.self, repeating: 0)
        benchmark.startMeasurement()
        let start = ContinuousClock.now
        var runs = 0
        ZeroDetection.forEachNonZeroRun(in: UnsafeRawBufferPointer(chunk), granularity: 4096) { _ in runs += 1 }
        benchmark.stopMeasurement()
        recordRate(benchmark, bytes: UInt64(chunkSize), since: start)
        blackHole(runs)
    }

    guard let sparseImagePath else { return }

    // The nearly empty 1 TiB disk: 524,288 BAT entries, 8 of them allocated. Open only (footer,
    // header, 2 MiB BAT read and checked), open + extent map, and the whole export.
    Benchmark("Open.1TiB", configuration: light) { _ in
        let size = try Disk.withOpened(at: sparseImagePath) { disk in disk.virtualSize }
        blackHole(size)
    }

    Benchmark("Extents.1TiB", configuration: light) { _ in
        let extents = try Disk.withOpened(at: sparseImagePath) { disk in try disk.extents() }
        blackHole(extents)
    }

    Benchmark("RawExport.1TiB", configuration: lightWithRate) { benchmark in
        try export(sparseImagePath, benchmark)
    }

    // The same with 64 MiB chunks: RawExport steps through zero extents chunk by chunk too
    // (262,144 empty steps of 4 MiB here); 16 times fewer steps shows what they cost.
    Benchmark("RawExport.1TiB.chunk-64MiB", configuration: lightWithRate) { benchmark in
        try export(sparseImagePath, benchmark, options: CopyOptions(chunkSize: 64 << 20))
    }
}
