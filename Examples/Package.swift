// swift-tools-version: 6.2
// Short programs that use the vhdtool libraries as other Swift code would: by path here, by URL
// in your own package. `.ci/run` builds and runs each on a test image (scripts/run-examples).
import PackageDescription

let package = Package(
    name: "vhdtool-examples",
    // Named: a path dependency's identity is otherwise its folder's name, which differs per clone.
    dependencies: [.package(name: "vhdtool", path: "../")],
    targets: [
        .executableTarget(name: "read-disk", dependencies: [.product(name: "VHD", package: "vhdtool")]),
        .executableTarget(name: "convert-for-azure", dependencies: [.product(name: "VHD", package: "vhdtool")]),
        .executableTarget(name: "occupied-and-cost", dependencies: [.product(name: "VHD", package: "vhdtool")]),
        .executableTarget(name: "tag-image", dependencies: [.product(name: "VHD", package: "vhdtool")]),
    ],
    swiftLanguageModes: [.v6]
)
