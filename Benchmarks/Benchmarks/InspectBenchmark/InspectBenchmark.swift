// Opening and validating a large dynamic VHD, as `vhdtool inspect` does.
//
// The image is a 2040 GiB dynamic VHD with 2 MiB blocks (a BAT of 1,044,480 entries, 4 MiB on
// disk) made by qemu-img in a temporary folder, so each iteration reads and checks footer,
// footer copy, dynamic header and the whole BAT. The file is sparse: it takes about 4 MiB.
//
// Set INSPECT_BENCHMARK_IMAGE to a VHD path to measure that file instead (run-inspect does, so
// that the benchmark and the command-line comparison read the same image).

import Benchmark
import Foundation
import SystemPackage
import VHD

/// The image under test: made by `Benchmark.setup`, removed by `Benchmark.teardown`.
nonisolated(unsafe) var imagePath = FilePath()
nonisolated(unsafe) var temporaryFolder: URL?

/// The options `vhdtool inspect` uses: checksums reported rather than refused, and "now" for
/// the timestamp check (fixed for the whole run).
let inspectOptions = OpenOptions(
    checksumPolicy: .ignore, nowInUnixSeconds: Int64(Date().timeIntervalSince1970))

/// Virtual size and expected BAT size of the generated image.
let virtualSizeArgument = "2040G"
let expectedEntries = 1_044_480

enum SetupError: Error, CustomStringConvertible {
    case qemuImgFailed(status: Int32)
    case unexpectedLayout(String)

    var description: String {
        switch self {
        case let .qemuImgFailed(status): "qemu-img create exited with status \(status) (is qemu-utils installed?)"
        case let .unexpectedLayout(text): text
        }
    }
}

func makeImage() throws {
    if let given = ProcessInfo.processInfo.environment["INSPECT_BENCHMARK_IMAGE"], !given.isEmpty {
        imagePath = FilePath(given)
    } else {
        let folder = FileManager.default.temporaryDirectory
            .appendingPathComponent("vhdtool-inspect-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        temporaryFolder = folder
        let file = folder.appendingPathComponent("2040GiB-dynamic.vhd").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "qemu-img", "create", "-q", "-f", "vpc", "-o", "subformat=dynamic,force_size=on", file,
            virtualSizeArgument,
        ]
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw SetupError.qemuImgFailed(status: process.terminationStatus) }
        imagePath = FilePath(file)
    }
    // Check once, outside the measurement, that the image is what the benchmark claims.
    let layout = try HostFile.withOpened(at: imagePath) { try VHDLayout(reading: $0, options: inspectOptions) }
    guard let dynamic = layout.dynamic, dynamic.blockSize == 2 << 20, dynamic.table.entries.count == expectedEntries
    else {
        throw SetupError.unexpectedLayout(
            "\(imagePath) is not a dynamic VHD with 2 MiB blocks and \(expectedEntries) BAT entries")
    }
}

func removeImage() throws {
    if let folder = temporaryFolder {
        try FileManager.default.removeItem(at: folder)
        temporaryFolder = nil
    }
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal, .peakMemoryResident],
        timeUnits: .microseconds,
        warmupIterations: 3,
        maxDuration: .seconds(3),
        maxIterations: 1_000)
    Benchmark.setup = makeImage
    Benchmark.teardown = removeImage

    // Open the file, read and validate footer, footer copy, header and the 1,044,480-entry BAT.
    Benchmark("Inspect.2040GiB-dynamic") { _ in
        let layout = try HostFile.withOpened(at: imagePath) { file in
            try VHDLayout(reading: file, options: inspectOptions)
        }
        blackHole(layout)
    }

    // The same, plus the report `vhdtool inspect --json` prints (without --bat); not encoded.
    Benchmark("Inspect.2040GiB-dynamic.report") { _ in
        let report = try HostFile.withOpened(at: imagePath) { file in
            let layout = try VHDLayout(reading: file, options: inspectOptions)
            return InspectionReport(layout: layout, path: imagePath.string)
        }
        blackHole(report)
    }
}
