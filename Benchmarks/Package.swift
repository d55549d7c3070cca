// swift-tools-version: 6.1
// Benchmarks of vhdtool, kept in their own package so that the main package does not depend on
// ordo-one/benchmark. Run with `Benchmarks/run-inspect` and `Benchmarks/run-convert-raw` from the
// repository root, or `swift package --package-path Benchmarks benchmark --target InspectBenchmark`.
import PackageDescription

let package = Package(
    name: "vhdtool-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        // Named: a path dependency's identity is otherwise its folder's name ("main" here, anything
        // in another clone), and the target below refers to it as "vhdtool".
        .package(name: "vhdtool", path: "../"),
        // On Swift 6.3 the MallocInterposer trait gives malloc counts with no system library.
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "InspectBenchmark",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "VHD", package: "vhdtool"),
            ],
            path: "Benchmarks/InspectBenchmark",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]),
        .executableTarget(
            name: "RawExportBenchmark",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "VHD", package: "vhdtool"),
            ],
            path: "Benchmarks/RawExportBenchmark",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]),
    ]
)
