import Foundation
import TestSupport
import Testing

/// resize, compact, create a child, write into it, move the parent, reparent, merge: one flow
/// through the command line, the content checked with qemu-img and vhdiinfo after each step.
struct InPlaceFlowTests {
    @Test func resizeCompactReparentMergeKeepTheContent() throws {
        guard let qemuImg = ExternalTool.find("qemu-img"), let qemuIO = ExternalTool.find("qemu-io") else {
            if InspectInteropTests.requireOracles { Issue.record("qemu-img/qemu-io are not installed") }
            return
        }
        let folder = try TemporaryFolder()
        func vhdtool(_ arguments: [String]) throws {
            let run = try ConvertTests.vhdtool(arguments)
            #expect(run.status == 0, "vhdtool \(arguments.joined(separator: " ")): \(run.stderr)")
        }
        func sameContent(_ image: String, _ raw: [UInt8], _ step: String) throws {
            try Data(raw).write(to: URL(fileURLWithPath: folder.file("expected.raw")))
            let compare = try ExternalTool.run(qemuImg, ["compare", "-f", "vpc", "-F", "raw", image, folder.file("expected.raw")])
            #expect(compare.status == 0, "\(step): \(compare.stdout)")
            if let vhdiinfo = ExternalTool.find("vhdiinfo") {
                #expect(try ExternalTool.run(vhdiinfo, [image]).status == 0, "\(step): vhdiinfo refuses \(image)")
            }
        }
        let disk = folder.file("disk.vhd")
        #expect(try ExternalTool.run(qemuImg, ["create", "-f", "vpc", "-o", "subformat=dynamic", disk, "8M"]).status == 0)
        #expect(try ExternalTool.run(qemuIO, ["-f", "vpc", "-c", "write -P 0x11 0 1M", "-c", "write -P 0 3M 2M", disk]).status == 0)
        let virtualSize8M = 8_390_656  // qemu-img's CHS-rounded 8M
        var content = [UInt8](repeating: 0, count: virtualSize8M)
        content.replaceSubrange(0..<(1 << 20), with: repeatElement(0x11, count: 1 << 20))

        try vhdtool(["resize", disk, "--size", "20M"])
        content += [UInt8](repeating: 0, count: (20 << 20) - virtualSize8M)
        try sameContent(disk, content, "resize")

        let before = try FileManager.default.attributesOfItem(atPath: disk)[.size] as? Int ?? 0
        try vhdtool(["compact", disk])
        let after = try FileManager.default.attributesOfItem(atPath: disk)[.size] as? Int ?? 0
        #expect(after < before, "compact dropped the all-zero blocks: \(before) -> \(after)")
        try sameContent(disk, content, "compact")

        let child = folder.file("child.vhd")
        try vhdtool(["create", child, "--parent", disk])
        let patch = (0..<(3 << 20)).map { UInt8(truncatingIfNeeded: $0 / 512 &+ 1) }
        try Data(patch).write(to: URL(fileURLWithPath: folder.file("patch.bin")))
        try vhdtool(["write", child, "--offset", "5M", "--input", folder.file("patch.bin")])
        content.replaceSubrange((5 << 20)..<(8 << 20), with: patch)

        try FileManager.default.createDirectory(atPath: folder.file("moved"), withIntermediateDirectories: false)
        let moved = folder.file("moved/disk.vhd")
        try FileManager.default.moveItem(atPath: disk, toPath: moved)
        try vhdtool(["reparent", child, "--parent", moved])
        let flat = folder.file("flat.raw")
        try vhdtool(["convert", child, flat, "--to", "raw", "-q"])
        #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: flat))) == content, "the child reads through its moved parent")

        try vhdtool(["merge", child])
        try sameContent(moved, content, "merge")
    }
}
