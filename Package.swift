// swift-tools-version: 6.2
import PackageDescription

let package = Package(
    name: "vhdtool",
    products: [
        .library(name: "VHDFormat", targets: ["VHDFormat"]),
        .library(name: "VHDXFormat", targets: ["VHDXFormat"]),
        .library(name: "VHD", targets: ["VHD"]),
        .library(name: "ImageGallery", targets: ["ImageGallery"]),
        .library(name: "GalleryVocabulary", targets: ["GalleryVocabulary"]),
        .executable(name: "vhdtool", targets: ["vhdtool"]),
        .executable(name: "vhdtool-gallery", targets: ["vhdtool-gallery"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
        // 4.x: FoundationEssentials only (3.x imports Foundation, whose ICU doubles start-up time).
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        // The gallery's catalog on a PostgreSQL server many hosts share (vhdtool-gallery only).
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        // `swift package generate-documentation`: the DocC catalogs of the libraries.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        // The gallery's words, shared by both libraries and both programs: OS types and states,
        // Hyper-V generations, architectures, storage account types, target regions and snapshot
        // cost, Azure's tag rules and the KEY=VALUE parser. No Foundation, no dependencies.
        .target(name: "GalleryVocabulary"),
        // Bytes <-> values. No files, no Foundation, no dependencies.
        .target(name: "VHDFormat"),
        // The same for VHDX (MS-VHDX 1.0): headers, region tables, BAT, metadata, log, CRC-32C.
        .target(name: "VHDXFormat"),
        // zlib (Debian zlib1g-dev), for gzip-compressed images.
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // Files: opening, validating, reading and writing disks; what is inside them (partitions,
        // filesystems), their content digest and their metadata tags.
        .target(
            name: "VHD",
            dependencies: [
                "VHDFormat", "VHDXFormat", "CZlib", "GalleryVocabulary",
                .product(name: "SystemPackage", package: "swift-system"),
                // SHA-256 of the content digest.
                .product(name: "Crypto", package: "swift-crypto"),
            ]),
        // The image gallery: a SQLite catalog (Debian libsqlite3-dev) of galleries, image
        // definitions, versions, regions and replicas made by the VHD module.
        // ioctl FICLONE (a variadic C call) for reflinked replicas.
        .target(name: "CReflink"),
        .target(
            name: "ImageGallery",
            dependencies: [
                "VHD", "CReflink", "GalleryVocabulary",
                .product(name: "GRDB", package: "GRDB.swift"),
            ]),
        // The gallery's catalog on PostgreSQL: the CatalogDatabase engine over postgres-nio. Only
        // vhdtool-gallery links it, so that `vhdtool`'s start-up does not load SwiftNIO.
        .target(
            name: "GalleryPostgres",
            dependencies: [
                "ImageGallery",
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ]),
        // What both command-line programs share: --json output, sizes, progress, the terminal, the
        // wording of the library's errors.
        .target(
            name: "CommandLineSupport",
            dependencies: ["VHD", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        // The gallery commands' declarations (arguments, options, help, validation), Foundation-free:
        // `vhdtool` links them for a complete command tree (help, completion scripts, argument
        // errors) and execs `vhdtool-gallery`, which links them too and runs them.
        .target(
            name: "GalleryCommandLine",
            dependencies: [
                "GalleryVocabulary", "CommandLineSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        // Argument parsing and printing only. The gallery's commands (`vhdtool region|gallery|
        // definition|version`) run `vhdtool-gallery`, beside it: GRDB needs Foundation, whose
        // loading (ICU) would double the start-up time of every other command.
        .executableTarget(
            name: "vhdtool",
            dependencies: [
                "VHD", "VHDFormat", "CommandLineSupport", "GalleryCommandLine",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .executableTarget(
            name: "vhdtool-gallery",
            dependencies: [
                "VHD", "ImageGallery", "GalleryPostgres", "CommandLineSupport", "GalleryCommandLine",
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
            name: "GalleryVocabularyTests",
            dependencies: ["GalleryVocabulary", "TestSupport"]),
        .testTarget(
            name: "VHDXFormatTests",
            dependencies: ["VHDXFormat"]),
        .testTarget(
            name: "VHDTests",
            dependencies: [
                "VHD", "VHDXFormat", "TestSupport",
                .product(name: "PropertyBased", package: "swift-property-based"),
                // An independent computation of the content digest's documented form.
                .product(name: "Crypto", package: "swift-crypto"),
            ]),
        .testTarget(
            name: "ImageGalleryTests",
            dependencies: [
                "ImageGallery", "GalleryPostgres", "VHD", "TestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
            ]),
        .testTarget(
            name: "vhdtoolTests",
            dependencies: ["TestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
