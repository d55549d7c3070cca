import Foundation
import TestSupport
import Testing

/// vhdtool's gallery JSON read by Azure's own Python models (azure-mgmt-compute), so that
/// scripts written for `az sig` can read ours.
struct GalleryAzureModelTests {
    /// A Python that imports azure.mgmt.compute: $VHDTOOL_ORACLE_PYTHON, the virtual
    /// environment scripts/install-deps makes, or python3.
    static var python: String? {
        var candidates = [ProcessInfo.processInfo.environment["VHDTOOL_ORACLE_PYTHON"]].compactMap { $0 }
        candidates.append(NSHomeDirectory() + "/.cache/vhdtool-oracles/venv/bin/python3")
        if let python3 = ExternalTool.find("python3") { candidates.append(python3) }
        for candidate in candidates where FileManager.default.isExecutableFile(atPath: candidate) {
            if (try? ExternalTool.run(candidate, ["-c", "import azure.mgmt.compute"]))?.status == 0 { return candidate }
        }
        let message = "no python with azure-mgmt-compute (scripts/install-deps makes one in ~/.cache/vhdtool-oracles/venv)"
        if InspectInteropTests.requireOracles { Issue.record(Comment(rawValue: message)) } else { print("Skipped: \(message)") }
        return nil
    }

    @Test func definitionAndVersionJSONComeThroughAzureModels() throws {
        guard let python = Self.python else { return }
        let gallery = try GalleryFixture()
        guard let os = try gallery.qemuDisk("os.vhd", size: "4M", writes: ["write -P 0x5a 0 64k"]),
              let data = try gallery.qemuDisk("data.vhd", size: "2M", writes: ["write -P 0x11 0 4k"]) else { return }
        try gallery.ok(["gallery", "create", "g"])
        let definition = try gallery.ok([
            "definition", "create", "ubuntu", "--gallery", "g", "--publisher", "Canonical", "--offer", "Ubuntu", "--sku", "22_04",
            "--os-type", "linux", "--os-state", "generalized", "--hyper-v-generation", "V2", "--architecture", "arm64",
            "--description", "d", "--eula", "e", "--privacy-statement-uri", "https://example.org/p",
            "--release-note-uri", "https://example.org/r", "--end-of-life-date", "2099-12-31", "--tag", "a=b",
            "--min-vcpu", "1", "--max-vcpu", "4", "--min-memory", "1024", "--max-memory", "4G",
            "--disallowed-disk-type", "Premium_LRS", "--plan-name", "n", "--plan-publisher", "p", "--plan-product", "q", "--json",
        ])
        let created = try gallery.createVersion("1.2.3", os: os, [
            "--data-vhd", data + "=2", "--target-region", "westus=2", "--target-region", "eastus=1=Premium_LRS",
            "--region-exclude-from-latest", "eastus", "--end-of-life-date", "2098-01-01T00:00:00Z", "--tag", "build=7",
        ])
        #expect(created.status == 0, "\(created.stderr)")
        let version = try gallery.ok(["version", "show", "1.2.3", "--gallery", "g", "--definition", "ubuntu", "--json"])
        try definition.write(toFile: gallery.folder.file("definition.json"), atomically: true, encoding: .utf8)
        try version.write(toFile: gallery.folder.file("version.json"), atomically: true, encoding: .utf8)
        let script = TestPaths.repositoryRoot.appendingPathComponent("scripts/azure_models_check.py").path
        let checked = try ExternalTool.run(python, [script, gallery.folder.file("definition.json"), gallery.folder.file("version.json")])
        #expect(checked.status == 0 && checked.stdout == "ok\n", "\(checked.stdout)\(checked.stderr)")
    }
}
