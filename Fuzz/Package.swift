// swift-tools-version: 6.2
// The libFuzzer target for vhdtool's readers: a separate package, so that the main package's
// builds never carry sanitizer flags. Built and run by scripts/fuzz.
import PackageDescription

let package = Package(
    name: "VHDFuzz",
    dependencies: [
        .package(name: "vhdtool", path: "../"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
    ],
    targets: [
        .executableTarget(
            name: "VHDFuzz",
            dependencies: [
                .product(name: "VHD", package: "vhdtool"),
                .product(name: "VHDFormat", package: "vhdtool"),
                .product(name: "VHDXFormat", package: "vhdtool"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            path: "Sources/VHDFuzz"
        )
    ]
)
