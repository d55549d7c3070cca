// swift-tools-version: 6.2
import PackageDescription

let package = Package(
    name: "vhdtool",
    products: [
        .library(name: "VHDFormat", targets: ["VHDFormat"]),
        .library(name: "VHD", targets: ["VHD"]),
        .executable(name: "vhdtool", targets: ["vhdtool"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
    ],
    targets: [
        // Bytes <-> values. No files, no Foundation, no dependencies.
        .target(name: "VHDFormat"),
        // zlib (Debian zlib1g-dev), for gzip-compressed images.
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // Files: opening, validating, reading and writing disks; what is inside them (partitions,
        // filesystems), their content digest and their metadata tags.
        .target(
            name: "VHD",
            dependencies: [
                "VHDFormat", "CZlib",
                .product(name: "SystemPackage", package: "swift-system"),
                // SHA-256 of the content digest.
                .product(name: "Crypto", package: "swift-crypto"),
            ]),
        // Argument parsing and printing only.
        .executableTarget(
            name: "vhdtool",
            dependencies: [
                "VHD", "VHDFormat",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .target(
            name: "TestSupport",
            dependencies: ["VHDFormat", "VHD"],
            path: "Tests/TestSupport"),
        .testTarget(
            name: "VHDFormatTests",
            dependencies: [
                "VHDFormat", "TestSupport",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]),
        .testTarget(
            name: "VHDTests",
            dependencies: [
                "VHD", "TestSupport",
                .product(name: "PropertyBased", package: "swift-property-based"),
                // An independent computation of the content digest's documented form.
                .product(name: "Crypto", package: "swift-crypto"),
            ]),
        .testTarget(
            name: "vhdtoolTests",
            dependencies: ["TestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
