import Foundation
import TestSupport
import Testing

/// A temporary store with three regions (folders), driven through the vhdtool command line.
/// The catalog is on the engine `VHDTOOL_TEST_GALLERY_ENGINE` names (``GalleryTestEngine``):
/// a store folder in the fixture's folder, or a new database on the PostgreSQL test server,
/// dropped when the fixture ends.
final class GalleryFixture {
    let folder: TemporaryFolder
    /// The `--store` of the fixture's commands: the store folder `store` in ``folder``, or the
    /// URL of the fixture's own PostgreSQL database.
    let store: String
    /// The catalog engine of ``store``.
    let engine: GalleryTestEngine

    init(regions: [String] = ["westus", "eastus", "northeu"]) throws {
        folder = try TemporaryFolder()
        engine = try GalleryTestEngine.current()
        switch engine {
        case .sqlite: store = folder.file("store")
        case .postgres: store = try GalleryTestServer.newDatabase()
        }
        for region in regions {
            let added = try run(["region", "add", region, folder.file("regions/" + region)])
            #expect(added.status == 0, "\(added.stderr)")
        }
    }

    deinit {
        // Background commands are waited for or killed before the test ends, so nothing else
        // uses the database by now (FORCE closes what a failed test left open).
        if engine == .postgres { try? GalleryTestServer.dropDatabase(store) }
    }

    /// Runs one SQL statement on the fixture's catalog, as a user with the catalog's own tool
    /// would (sqlite3 on catalog.sqlite, psql on the database): to damage it on purpose. False
    /// when the tool is not installed.
    func editCatalog(_ statement: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> Bool {
        switch engine {
        case .sqlite:
            guard let sqlite = ExternalTool.find("sqlite3") else { return false }
            let edited = try ExternalTool.run(sqlite, [store + "/catalog.sqlite", statement])
            #expect(edited.status == 0, "\(statement): \(edited.stderr)", sourceLocation: sourceLocation)
        case .postgres:
            try GalleryTestServer.psql(store, statement)
        }
        return true
    }

    func run(_ arguments: [String]) throws -> ExternalTool.Output {
        let vhdtool = try #require(ExternalTool.vhdtool, "vhdtool is not built")
        return try ExternalTool.run(vhdtool, arguments + ["--store", store])
    }

    /// Runs a command that takes no --store, expecting success.
    @discardableResult
    func plain(_ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let vhdtool = try #require(ExternalTool.vhdtool, "vhdtool is not built")
        let output = try ExternalTool.run(vhdtool, arguments)
        #expect(output.status == 0, "\(arguments.joined(separator: " ")): \(output.stderr)", sourceLocation: sourceLocation)
        return output.stdout
    }

    /// Runs and expects success.
    @discardableResult
    func ok(_ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let output = try run(arguments)
        #expect(output.status == 0, "\(arguments.joined(separator: " ")): \(output.stderr)", sourceLocation: sourceLocation)
        return output.stdout
    }

    /// Runs and expects exit `status` with `message` in the one-line error.
    func refused(_ arguments: [String], status: Int32, _ message: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let output = try run(arguments)
        #expect(output.status == status, "\(arguments.joined(separator: " ")) exited \(output.status): \(output.stderr)", sourceLocation: sourceLocation)
        #expect(output.stderr.contains(message), "\(arguments.joined(separator: " ")): \(output.stderr)", sourceLocation: sourceLocation)
    }

    func json(_ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
        let text = try ok(arguments + ["--json"], sourceLocation: sourceLocation)
        return try #require(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "\(text)")
    }

    func region(_ name: String) -> String { folder.file("regions/" + name) }

    /// A dynamic VHD made by qemu-img with `writes` (qemu-io commands); nil without qemu.
    func qemuDisk(_ name: String, size: String, writes: [String] = []) throws -> String? {
        guard let qemuImg = ExternalTool.find("qemu-img"), let qemuIO = ExternalTool.find("qemu-io") else {
            if InspectInteropTests.requireOracles { Issue.record("qemu-img/qemu-io are not installed") }
            return nil
        }
        let path = folder.file(name)
        #expect(try ExternalTool.run(qemuImg, ["create", "-f", "vpc", "-o", "subformat=dynamic", path, size]).status == 0)
        if !writes.isEmpty {
            #expect(try ExternalTool.run(qemuIO, ["-f", "vpc"] + writes.flatMap { ["-c", $0] } + [path]).status == 0)
        }
        return path
    }

    /// A definition `ubuntu` in gallery `g` (Linux, generalized).
    func standardDefinition(osState: String = "generalized") throws {
        try ok(["gallery", "create", "g"])
        try ok(["definition", "create", "ubuntu", "--gallery", "g", "--publisher", "Canonical", "--offer", "Ubuntu",
                "--sku", "22_04", "--os-type", "linux", "--os-state", osState])
    }

    func createVersion(_ version: String, os: String, _ extra: [String] = []) throws -> ExternalTool.Output {
        try run(["version", "create", version, "--gallery", "g", "--definition", "ubuntu", "--os-vhd", os,
                 "--os-state", "generalized", "-q"] + extra)
    }

    func files(under path: String) -> [String] {
        (FileManager.default.enumerator(atPath: path)?.allObjects as? [String] ?? []).filter {
            var isFolder: ObjCBool = false
            return FileManager.default.fileExists(atPath: path + "/" + $0, isDirectory: &isFolder) && !isFolder.boolValue
        }.sorted()
    }
}

struct GalleryTests {
    @Test func regionsHaveADefaultAndCannotGoWhileTheyHoldReplicas() throws {
        let gallery = try GalleryFixture()
        let list = try #require(JSONSerialization.jsonObject(with: Data(try gallery.ok(["region", "list", "--json"]).utf8)) as? [[String: Any]])
        #expect(list.map { $0["name"] as? String } == ["westus", "eastus", "northeu"])
        #expect(list.map { $0["isDefault"] as? Bool } == [true, false, false])
        try gallery.refused(["region", "add", "WESTUS", gallery.folder.file("x")], status: 3, "a region named 'WESTUS' already exists")
        try gallery.refused(["region", "add", "west us", gallery.folder.file("x")], status: 4, "contains ' '")
        try gallery.refused(["region", "remove", "nowhere"], status: 2, "there is no region named 'nowhere'")

        guard let os = try gallery.qemuDisk("os.vhd", size: "4M", writes: ["write -P 0x11 0 64k"]) else { return }
        try gallery.standardDefinition()
        // No --target-region: the default region only.
        #expect(try gallery.createVersion("1.0.0", os: os).status == 0)
        #expect(gallery.files(under: gallery.region("westus")) == ["g/ubuntu/1.0.0/os-1.vhd"])
        #expect(gallery.files(under: gallery.region("eastus")).isEmpty)
        try gallery.refused(["region", "remove", "westus"], status: 3, "cannot be removed while 1 image version keep")
        try gallery.ok(["region", "set-default", "eastus"])
        #expect(try gallery.createVersion("1.0.1", os: os).status == 0)
        #expect(gallery.files(under: gallery.region("eastus")) == ["g/ubuntu/1.0.1/os-1.vhd"])
        try gallery.ok(["version", "delete", "1.0.0", "--gallery", "g", "--definition", "ubuntu"])
        #expect(gallery.files(under: gallery.region("westus")).isEmpty)
        try gallery.ok(["region", "remove", "westus"])
    }

    /// A `--store` URL that cannot be read is a command line to correct (64), as a bad option
    /// is, on `vhdtool` and on `vhdtool-gallery` alike, and so is one in `VHDTOOL_STORE`; the
    /// message says which part is wrong and never repeats the password.
    @Test func aMalformedStoreURLIsAUsageError() throws {
        let vhdtool = try #require(ExternalTool.vhdtool, "vhdtool is not built")
        let gallery = URL(fileURLWithPath: vhdtool).deletingLastPathComponent().appendingPathComponent("vhdtool-gallery").path
        let malformed = [
            ("postgres://u:secret@localhost:99999/db", "has the port '99999', which is not a number from 1 to 65535"),
            ("postgres://u:secret@localhost:5432/db?sslmode=verify-full", "has sslmode 'verify-full'"),
            ("postgresql://u:secret@localhost", "names no database"),
        ]
        for program in [vhdtool, gallery] {
            for (url, message) in malformed {
                let output = try ExternalTool.run(program, ["gallery", "list", "--store", url])
                #expect(output.status == 64, "\(program) \(url) exited \(output.status): \(output.stderr)")
                #expect(output.stderr.contains(message) && !output.stderr.contains("secret"), "\(output.stderr)")
            }
        }
        let fromEnvironment = try BackgroundCommand(["gallery", "list"], environment: ["VHDTOOL_STORE": malformed[0].0]).wait()
        #expect(fromEnvironment.status == 64 && fromEnvironment.stderr.contains(malformed[0].1), "\(fromEnvironment.stderr)")
    }

    @Test func galleryNamesAndLifecycle() throws {
        let gallery = try GalleryFixture(regions: [])
        try gallery.ok(["gallery", "create", String(repeating: "a", count: 80)])
        try gallery.ok(["gallery", "create", "my-gallery_1.x", "--description", "first"])
        try gallery.refused(["gallery", "create", String(repeating: "a", count: 81)], status: 4, "at most 80 are allowed")
        try gallery.refused(["gallery", "create", "bad-"], status: 4, "must not end with '.' or '-'")
        try gallery.refused(["gallery", "create", "bad."], status: 4, "must not end with '.' or '-'")
        try gallery.refused(["gallery", "create", "_bad"], status: 4, "must start with a letter or a digit")
        try gallery.refused(["gallery", "create", "b@d"], status: 4, "contains '@'")
        try gallery.refused(["gallery", "create", "MY-GALLERY_1.X"], status: 3, "already exists")
        try gallery.refused(["gallery", "show", "nope"], status: 2, "there is no gallery named 'nope'")
        let updated = try gallery.json(["gallery", "update", "my-gallery_1.x", "--description", "second"])
        #expect(updated["description"] as? String == "second")
        #expect(try gallery.json(["gallery", "show", "my-gallery_1.x"])["description"] as? String == "second")
        let refusedName = try gallery.run(["gallery", "update", "my-gallery_1.x", "--name", "other"])
        #expect(refusedName.status == 64)
        try gallery.ok(["definition", "create", "d", "--gallery", "my-gallery_1.x", "--publisher", "P", "--offer", "O",
                        "--sku", "S", "--os-type", "windows", "--os-state", "specialized"])
        try gallery.refused(["gallery", "delete", "my-gallery_1.x"], status: 3, "cannot be deleted while it holds 1 image definition")
        try gallery.ok(["definition", "delete", "d", "--gallery", "my-gallery_1.x"])
        try gallery.ok(["gallery", "delete", "my-gallery_1.x"])
        try gallery.refused(["gallery", "show", "my-gallery_1.x"], status: 2, "there is no gallery")
    }

    @Test func definitionRulesAndUpdates() throws {
        let gallery = try GalleryFixture(regions: [])
        try gallery.ok(["gallery", "create", "g"])
        let base = ["--gallery", "g", "--os-type", "linux", "--os-state", "generalized"]
        let created = try gallery.json(["definition", "create", "web", "--publisher", "Contoso", "--offer", "Web", "--sku", "1-lts"] + base + [
            "--hyper-v-generation", "v2", "--architecture", "arm64", "--description", "web servers", "--eula", "none",
            "--privacy-statement-uri", "https://example.org/privacy", "--release-note-uri", "https://example.org/notes",
            "--end-of-life-date", "2099-01-01", "--tag", "team=web", "--tag", "tier=1", "--min-vcpu", "2", "--max-vcpu", "16",
            "--min-memory", "2G", "--max-memory", "65536", "--disallowed-disk-type", "standard_lrs",
            "--plan-name", "p", "--plan-publisher", "pp", "--plan-product", "pr",
        ])
        #expect(created["osType"] as? String == "Linux")
        #expect(created["osState"] as? String == "Generalized")
        #expect(created["hyperVGeneration"] as? String == "V2")
        #expect(created["architecture"] as? String == "Arm64")
        #expect(created["endOfLifeDate"] as? String == "2099-01-01T12:59:59Z")
        #expect((created["identifier"] as? [String: String]) == ["publisher": "Contoso", "offer": "Web", "sku": "1-lts"])
        let recommended = try #require(created["recommended"] as? [String: [String: Int]])
        #expect(recommended["vCPUs"] == ["min": 2, "max": 16] && recommended["memory"] == ["min": 2048, "max": 65536])
        #expect((created["disallowed"] as? [String: [String]]) == ["diskTypes": ["Standard_LRS"]])
        #expect((created["purchasePlan"] as? [String: String]) == ["name": "p", "publisher": "pp", "product": "pr"])
        #expect((created["tags"] as? [String: String]) == ["team": "web", "tier": "1"])

        try gallery.refused(["definition", "create", "web2", "--publisher", "contoso", "--offer", "WEB", "--sku", "1-LTS"] + base,
                            status: 3, "identified by (publisher:contoso, offer:WEB, sku:1-LTS) already exists")
        try gallery.refused(["definition", "create", "WEB", "--publisher", "a", "--offer", "b", "--sku", "c"] + base,
                            status: 3, "an image definition named 'WEB' already exists")
        try gallery.refused(["definition", "create", "x", "--publisher", "a", "--offer", "b", "--sku", "c", "--min-vcpu", "8", "--max-vcpu", "4"] + base,
                            status: 4, "The minimum value of recommended.vCPUs must not be greater than the maximum value")
        try gallery.refused(["definition", "create", "x", "--publisher", "a", "--offer", "b", "--sku", "c", "--min-memory", "8G", "--max-memory", "4G"] + base,
                            status: 4, "The minimum value of recommended.memory must not be greater than the maximum value")
        try gallery.refused(["definition", "create", "x", "--publisher", "a", "--offer", "b", "--sku", "c", "--end-of-life-date", "2001-01-01"] + base,
                            status: 4, "EndOfLifeDate must be set to a future date")
        try gallery.refused(["definition", "create", "x", "--publisher", "a", "--offer", "b.", "--sku", "c"] + base,
                            status: 4, "the offer 'b.' must not end with '.'")
        try gallery.refused(["definition", "create", "x", "--publisher", String(repeating: "p", count: 129), "--offer", "b", "--sku", "c"] + base,
                            status: 4, "at most 128 are allowed")
        try gallery.refused(["definition", "create", "x", "--publisher", "a", "--offer", "b", "--sku", "c", "--disallowed-disk-type", "floppy"] + base,
                            status: 4, "'floppy' is not a disk type")
        try gallery.refused(["definition", "create", "x", "--publisher", "a", "--offer", "b", "--sku", "c", "--gallery", "nope",
                             "--os-type", "linux", "--os-state", "generalized"], status: 2, "there is no gallery named 'nope'")
        #expect(try gallery.run(["definition", "create", "x", "--publisher", "a", "--offer", "b", "--sku", "c", "--gallery", "g",
                                 "--os-type", "beos", "--os-state", "generalized"]).status == 64)

        // Updates: what may change changes, min <= max still holds, the rest is refused.
        let updated = try gallery.json(["definition", "update", "web", "--gallery", "g", "--description", "new", "--max-vcpu", "32",
                                        "--end-of-life-date", "2100-06-30T00:00:00Z", "--release-note-uri", "https://example.org/v2",
                                        "--tag", "tier=2", "--max-memory", "128G"])
        #expect(updated["description"] as? String == "new")
        #expect(updated["endOfLifeDate"] as? String == "2100-06-30T00:00:00Z")
        #expect((updated["tags"] as? [String: String]) == ["team": "web", "tier": "2"])
        #expect((updated["recommended"] as? [String: [String: Int]])?["memory"] == ["min": 2048, "max": 131072])
        try gallery.refused(["definition", "update", "web", "--gallery", "g", "--min-vcpu", "64"], status: 4,
                            "The minimum value of recommended.vCPUs must not be greater than the maximum value")
        try gallery.refused(["definition", "update", "web", "--gallery", "g", "--end-of-life-date", "2000-01-01"], status: 4,
                            "EndOfLifeDate must be set to a future date")
        for (option, value, field) in [("--publisher", "X", "publisher"), ("--offer", "X", "offer"), ("--sku", "X", "SKU"),
                                       ("--os-type", "windows", "OS type"), ("--os-state", "specialized", "OS state"),
                                       ("--hyper-v-generation", "V1", "Hyper-V generation"), ("--architecture", "x64", "architecture"),
                                       ("--eula", "x", "EULA"), ("--plan-name", "x", "purchase plan")] {
            try gallery.refused(["definition", "update", "web", "--gallery", "g", option, value], status: 4,
                                "the \(field) of an image definition cannot be changed after it is created")
        }
        let shown = try gallery.json(["definition", "show", "web", "--gallery", "g"])
        #expect(shown["osState"] as? String == "Generalized" && shown["hyperVGeneration"] as? String == "V2")
        #expect((shown["identifier"] as? [String: String])?["publisher"] == "Contoso")
    }

    @Test func versionsAreReplicatedToEveryRegionAndReadLikeTheirSource() throws {
        let gallery = try GalleryFixture()
        guard let os = try gallery.qemuDisk("os.vhd", size: "24M", writes: ["write -P 0x5a 0 1M", "write -P 0x11 9M 64k", "write -P 0x7f 23M 4k"]),
              let qemuImg = ExternalTool.find("qemu-img") else { return }
        try gallery.standardDefinition()
        // A data disk made by our own writer, and a fixed test image.
        let ours = gallery.folder.file("ours.vhd")
        try gallery.plain(["convert", TestPaths.testImage("dynamic-8M.vhd"), ours, "-q"])
        let fixed = TestPaths.testImage("fixed-1M.vhd")
        let created = try gallery.createVersion("1.0.0", os: os, [
            "--data-vhd", ours + "=3", "--data-vhd", fixed, "--target-region", "westus=2", "--target-region", "eastus=1=Premium_LRS",
            "--target-region", "northeu=standard_zrs", "--tag", "build=42", "--json",
        ])
        #expect(created.status == 0, "\(created.stderr)")
        let version = try #require(JSONSerialization.jsonObject(with: Data(created.stdout.utf8)) as? [String: Any])
        #expect(version["provisioningState"] as? String == "Succeeded")
        let status = try #require(version["replicationStatus"] as? [String: Any])
        #expect(status["aggregatedState"] as? String == "Completed")
        #expect((status["summary"] as? [[String: Any]])?.map { $0["state"] as? String } == ["Completed", "Completed", "Completed"])
        #expect((status["summary"] as? [[String: Any]])?.map { $0["progress"] as? Int } == [100, 100, 100])
        let profile = try #require(version["publishingProfile"] as? [String: Any])
        let targets = try #require(profile["targetRegions"] as? [[String: Any]])
        #expect(targets.map { $0["regionalReplicaCount"] as? Int } == [2, 1, 1])
        #expect(targets.map { $0["storageAccountType"] as? String } == ["Standard_LRS", "Premium_LRS", "Standard_ZRS"])
        let storage = try #require(version["storageProfile"] as? [String: Any])
        #expect((storage["dataDiskImages"] as? [[String: Any]])?.map { $0["lun"] as? Int } == [1, 3])

        #expect(gallery.files(under: gallery.region("westus")) == [
            "g/ubuntu/1.0.0/lun1-1.vhd", "g/ubuntu/1.0.0/lun1-2.vhd", "g/ubuntu/1.0.0/lun3-1.vhd", "g/ubuntu/1.0.0/lun3-2.vhd",
            "g/ubuntu/1.0.0/os-1.vhd", "g/ubuntu/1.0.0/os-2.vhd",
        ])
        #expect(gallery.files(under: gallery.region("northeu")).count == 3)
        // Every replica reads as its source, for qemu-img.
        for region in ["westus", "eastus", "northeu"] {
            let folder = gallery.region(region) + "/g/ubuntu/1.0.0/"
            for (source, stem) in [(os, "os"), (ours, "lun3"), (fixed, "lun1")] {
                let compared = try ExternalTool.run(qemuImg, ["compare", "-f", "vpc", "-F", "vpc", source, folder + stem + "-1.vhd"])
                #expect(compared.status == 0, "\(region) \(stem): \(compared.stdout) \(compared.stderr)")
            }
        }
        let verified = try gallery.run(["version", "show", "1.0.0", "--gallery", "g", "--definition", "ubuntu", "--verify"])
        #expect(verified.status == 0, "\(verified.stderr)")
        #expect(verified.stdout.contains("westus:") && verified.stdout.contains("Completed 100%, 2 x Standard_LRS"))
    }

    /// The OS-state tag (vhdtool tag) stands in for --os-state, only while it is bound to the
    /// disk's content; a stale tag counts as none, and the refusal says it is stale and why.
    @Test func theOSStateTagDecidesUntilTheDiskChanges() throws {
        let gallery = try GalleryFixture()
        guard let os = try gallery.qemuDisk("os.vhd", size: "4M", writes: ["write -P 0x11 0 64k"]) else { return }
        try gallery.standardDefinition()
        func create(_ version: String) throws -> ExternalTool.Output {
            try gallery.run(["version", "create", version, "--gallery", "g", "--definition", "ubuntu", "--os-vhd", os, "-q"])
        }
        try gallery.plain(["tag", os, "--os-state", "specialized"])
        let specialized = try create("1.0.0")
        #expect(specialized.status == 4 && specialized.stderr.contains("is not Specialized"), "\(specialized.stderr)")
        let contradicted = try gallery.run(["version", "create", "1.0.0", "--gallery", "g", "--definition", "ubuntu", "--os-vhd", os,
                                            "--os-state", "generalized", "-q"])
        #expect(contradicted.status == 4 && contradicted.stderr.contains("is tagged Specialized but --os-state says Generalized"),
                "\(contradicted.stderr)")

        try gallery.plain(["tag", os, "--os-state", "generalized", "--os-type", "linux"])
        let tagged = try create("1.0.0")
        #expect(tagged.status == 0, "\(tagged.stderr)")
        let shown = try gallery.json(["version", "show", "1.0.0", "--gallery", "g", "--definition", "ubuntu"])
        let digest = try #require(((shown["storageProfile"] as? [String: Any])?["osDiskImage"] as? [String: Any])?["digest"] as? String)
        #expect(digest.hasPrefix("sha256:") && digest.count == 7 + 64, "\(digest)")

        // The disk changes after tagging: the tag no longer describes it.
        try gallery.plain(["write", os, "--offset", "1M", "--input", TestPaths.testImage("raw-1M.img")])
        let stale = try create("1.0.1")
        #expect(stale.status == 4 && stale.stderr.contains("has a stale OS-state tag: the content changed since it was tagged"), "\(stale.stderr)")
    }

    @Test func createRefusesBeforeCopyingAnything() throws {
        let gallery = try GalleryFixture()
        guard let os = try gallery.qemuDisk("os.vhd", size: "4M", writes: ["write -P 0x11 0 64k"]),
              let data = try gallery.qemuDisk("data.vhd", size: "2M") else { return }
        try gallery.standardDefinition()
        func create(_ version: String, _ extra: [String]) throws -> ExternalTool.Output {
            try gallery.createVersion(version, os: os, extra)
        }
        func refused(_ version: String, _ extra: [String], status: Int32, _ message: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
            let output = try create(version, extra)
            #expect(output.status == status, "\(version) \(extra) exited \(output.status): \(output.stderr)", sourceLocation: sourceLocation)
            #expect(output.stderr.contains(message), "\(output.stderr)", sourceLocation: sourceLocation)
        }
        let format = "should follow Major(int).Minor(int).Patch(int) format"
        for name in ["1.0", "1.0.0.0", "1.a.0", "1.-1.0", "1..0", "v1.0.0", "1.0.0 "] { try refused(name, [], status: 4, format) }
        try refused("01.0.0", [], status: 4, "leading zero")
        try refused("2147483648.0.0", [], status: 4, "larger than 2147483647")
        try refused("1.0.0", ["--target-region", "mars"], status: 2, "there is no region named 'mars'")
        try refused("1.0.0", ["--target-region", "westus", "--target-region", "WestUS=2"], status: 4, "duplicate target region")
        try refused("1.0.0", ["--target-region", "westus=0"], status: 4, "a replica count of 0 is out of range")
        try refused("1.0.0", ["--target-region", "westus=101"], status: 4, "a replica count of 101 is out of range")
        try refused("1.0.0", ["--replica-count", "101"], status: 4, "out of range")
        try refused("1.0.0", ["--target-region", "westus=Cheap_LRS"], status: 4, "neither a replica count nor a storage account type")
        try refused("1.0.0", ["--data-vhd", data + "=1", "--data-vhd", os + "=5"], status: 4, "OSDiskImage and DataDiskImage cannot point to the same file")
        try FileManager.default.createSymbolicLink(atPath: gallery.folder.file("alias.vhd"), withDestinationPath: data)
        try refused("1.0.0", ["--data-vhd", data + "=2", "--data-vhd", gallery.folder.file("alias.vhd") + "=3"], status: 4,
                    "Duplicated source files are found")
        let other = try #require(try gallery.qemuDisk("other.vhd", size: "1M"))
        try refused("1.0.0", ["--data-vhd", data + "=2", "--data-vhd", other + "=2"], status: 4, "Duplicated lun numbers")
        try refused("1.0.0", ["--end-of-life-date", "2020-02-02"], status: 4, "EndOfLifeDate must be set to a future date")
        try refused("1.0.0", ["--region-exclude-from-latest", "eastus"], status: 4, "not a target region")
        try refused("1.0.0", ["--data-vhd", TestPaths.testImage("broken-bad-footer-checksum.vhd")], status: 1, "cannot be used")
        try refused("1.0.0", ["--data-vhd", gallery.folder.file("missing.vhd")], status: 1, "cannot be used")
        // Disks of 2 TiB and more are refused (a sparse raw file of 3 TiB).
        let huge = gallery.folder.file("huge.raw")
        #expect(FileManager.default.createFile(atPath: huge, contents: nil))
        let handle = try #require(FileHandle(forWritingAtPath: huge))
        try handle.truncate(atOffset: 3 << 40)
        try handle.close()
        try refused("1.0.0", ["--data-vhd", huge], status: 4, "image disks must be smaller than 2 TiB")
        // OS state: needed for an untagged disk, and must match the definition.
        let untagged = try gallery.run(["version", "create", "1.0.0", "--gallery", "g", "--definition", "ubuntu", "--os-vhd", os, "-q"])
        #expect(untagged.status == 4 && untagged.stderr.contains("has no OS-state tag"), "\(untagged.stderr)")
        let specialized = try gallery.run(["version", "create", "1.0.0", "--gallery", "g", "--definition", "ubuntu", "--os-vhd", os,
                                           "--os-state", "specialized", "-q"])
        #expect(specialized.status == 4, "\(specialized.stderr)")
        #expect(specialized.stderr.contains("since the OS State in the parent gallery image (Generalized) is not Specialized"))
        try gallery.refused(["version", "create", "1.0.0", "--gallery", "g", "--definition", "nope", "--os-vhd", os, "--os-state", "generalized"],
                            status: 2, "there is no image definition named 'nope'")
        // Nothing was recorded or copied.
        #expect(try gallery.ok(["version", "list", "--gallery", "g", "--definition", "ubuntu"]).isEmpty)
        for region in ["westus", "eastus", "northeu"] { #expect(gallery.files(under: gallery.region(region)).isEmpty) }
        // And then it works, once; the same number again is taken.
        #expect(try create("1.0.0", []).status == 0)
        try refused("1.0.0", [], status: 3, "the image version '1.0.0' already exists")
    }

    @Test func latestFollowsNumbersExclusionsAndReplicationState() throws {
        let gallery = try GalleryFixture()
        guard let os = try gallery.qemuDisk("os.vhd", size: "2M", writes: ["write -P 0x22 0 4k"]) else { return }
        try gallery.standardDefinition()
        func latest(_ region: String? = nil) throws -> String? {
            let output = try gallery.run(["version", "latest", "--gallery", "g", "--definition", "ubuntu", "--json"] + (region.map { ["--region", $0] } ?? []))
            guard output.status == 0 else { return nil }
            return (try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any])?["name"] as? String
        }
        try gallery.refused(["version", "latest", "--gallery", "g", "--definition", "ubuntu"], status: 2, "There is no latest image version exists")
        let all = ["--target-region", "westus", "--target-region", "eastus"]
        for version in ["1.2.0", "1.10.0", "1.9.9"] { #expect(try gallery.createVersion(version, os: os, all).status == 0) }
        // Numeric per part: 1.10.0 beats 1.9.9 and 1.2.0; the end of life does not exclude.
        #expect(try latest() == "1.10.0")
        try gallery.ok(["version", "update", "1.10.0", "--gallery", "g", "--definition", "ubuntu", "--end-of-life-date", "2030-01-01", "-q"])
        #expect(try latest("westus") == "1.10.0")
        // Excluded globally: the next highest; a region's own flag overrides the global one.
        try gallery.ok(["version", "update", "1.10.0", "--gallery", "g", "--definition", "ubuntu", "--exclude-from-latest",
                        "--region-exclude-from-latest", "eastus=false", "-q"])
        #expect(try latest() == "1.9.9")
        #expect(try latest("westus") == "1.9.9")
        #expect(try latest("eastus") == "1.10.0")
        // A version not replicated to a region is not latest there.
        #expect(try latest("northeu") == nil)
        try gallery.refused(["version", "latest", "--gallery", "g", "--definition", "ubuntu", "--region", "northeu"], status: 2,
                            "is available in the 'northeu' region")
        // A failed region: its folder is a file, so nothing can be written there.
        let northeu = gallery.region("northeu")
        try FileManager.default.removeItem(atPath: northeu)
        #expect(FileManager.default.createFile(atPath: northeu, contents: Data("not a folder".utf8)))
        let failed = try gallery.createVersion("2.0.0", os: os, all + ["--target-region", "northeu"])
        #expect(failed.status == 5, "\(failed.stderr)")
        #expect(failed.stderr.contains("replication failed in 'northeu'"))
        let shown = try gallery.json(["version", "show", "2.0.0", "--gallery", "g", "--definition", "ubuntu"])
        let summary = try #require((shown["replicationStatus"] as? [String: Any])?["summary"] as? [[String: Any]])
        #expect(summary.map { $0["state"] as? String } == ["Completed", "Completed", "Failed"])
        #expect((summary[2]["details"] as? String)?.isEmpty == false)
        #expect((shown["replicationStatus"] as? [String: Any])?["aggregatedState"] as? String == "Failed")
        #expect(try latest("westus") == "2.0.0")
        #expect(try latest("northeu") == nil)
        #expect(try latest() == "2.0.0")
        // replicate resumes the failed region once it can be written.
        try FileManager.default.removeItem(atPath: northeu)
        try FileManager.default.createDirectory(atPath: northeu, withIntermediateDirectories: true)
        try gallery.ok(["version", "replicate", "2.0.0", "--gallery", "g", "--definition", "ubuntu", "-q"])
        #expect(try latest("northeu") == "2.0.0")
        #expect(gallery.files(under: northeu) == ["g/ubuntu/2.0.0/os-1.vhd"])
    }

    @Test func updatesChangeOnlyWhatMayChange() throws {
        let gallery = try GalleryFixture()
        guard let os = try gallery.qemuDisk("os.vhd", size: "2M", writes: ["write -P 0x33 0 4k"]) else { return }
        try gallery.standardDefinition()
        #expect(try gallery.createVersion("1.0.0", os: os, ["--target-region", "westus=3", "--target-region", "eastus=1=Premium_LRS"]).status == 0)
        let update = ["version", "update", "1.0.0", "--gallery", "g", "--definition", "ubuntu", "-q"]
        // Fewer replicas in westus, eastus left out, northeu added.
        try gallery.refused(update + ["--target-region", "westus=1", "--target-region", "northeu=2"], status: 4,
                            "removing 'eastus' deletes 1 replica file")
        var version = try gallery.json(update + ["--target-region", "westus=1", "--target-region", "northeu=2", "--tag", "a=b",
                                                 "--allow-replica-deletion"])
        #expect(((version["publishingProfile"] as? [String: Any])?["targetRegions"] as? [[String: Any]])?.map { $0["name"] as? String } == ["westus", "northeu"])
        #expect(gallery.files(under: gallery.region("westus")) == ["g/ubuntu/1.0.0/os-1.vhd"])
        #expect(gallery.files(under: gallery.region("eastus")).isEmpty)
        #expect(gallery.files(under: gallery.region("northeu")) == ["g/ubuntu/1.0.0/os-1.vhd", "g/ubuntu/1.0.0/os-2.vhd"])
        #expect((version["tags"] as? [String: String]) == ["a": "b"])
        // --replica-count alone: every region.
        version = try gallery.json(update + ["--replica-count", "2"])
        #expect(((version["publishingProfile"] as? [String: Any])?["targetRegions"] as? [[String: Any]])?.map { $0["regionalReplicaCount"] as? Int } == [2, 2])
        #expect(gallery.files(under: gallery.region("westus")).count == 2)
        version = try gallery.json(update + ["--exclude-from-latest"])
        #expect((version["publishingProfile"] as? [String: Any])?["excludeFromLatest"] as? Bool == true)
        version = try gallery.json(update + ["--no-exclude-from-latest"])
        #expect((version["publishingProfile"] as? [String: Any])?["excludeFromLatest"] as? Bool == false)
        // Refused: disks, storage types, past end of life, counts out of range.
        try gallery.refused(update + ["--os-vhd", os], status: 4, "the disks of a published image version cannot change")
        try gallery.refused(update + ["--data-vhd", os], status: 4, "the disks of a published image version cannot change")
        try gallery.refused(update + ["--storage-account-type", "Premium_LRS"], status: 4, "not updatable")
        try gallery.refused(update + ["--target-region", "westus=2=Premium_LRS"], status: 4, "the storage account type of region 'westus' is not updatable")
        try gallery.refused(update + ["--end-of-life-date", "1999-12-31"], status: 4, "EndOfLifeDate must be set to a future date")
        try gallery.refused(update + ["--target-region", "westus=200"], status: 4, "out of range")
        try gallery.refused(["version", "update", "9.9.9", "--gallery", "g", "--definition", "ubuntu"], status: 2, "there is no image version '9.9.9'")
        // The definition cannot go while it has versions.
        try gallery.refused(["definition", "delete", "ubuntu", "--gallery", "g"], status: 3, "cannot be deleted while it has 1 image version")
    }

    @Test func verifyFindsMissingAndChangedReplicasAndReplicateRemakesThem() throws {
        let gallery = try GalleryFixture()
        guard let os = try gallery.qemuDisk("os.vhd", size: "4M", writes: ["write -P 0x44 0 128k"]),
              let qemuIO = ExternalTool.find("qemu-io") else { return }
        try gallery.standardDefinition()
        #expect(try gallery.createVersion("1.0.0", os: os, ["--target-region", "westus=2", "--target-region", "eastus"]).status == 0)
        let show = ["version", "show", "1.0.0", "--gallery", "g", "--definition", "ubuntu", "--verify"]
        try FileManager.default.removeItem(atPath: gallery.region("westus") + "/g/ubuntu/1.0.0/os-2.vhd")
        #expect(try ExternalTool.run(qemuIO, ["-f", "vpc", "-c", "write -P 0x99 1M 4k", gallery.region("eastus") + "/g/ubuntu/1.0.0/os-1.vhd"]).status == 0)
        let verified = try gallery.run(show)
        #expect(verified.status == 5, "\(verified.stderr)")
        #expect(verified.stderr.contains("os-2.vhd: is missing"))
        #expect(verified.stderr.contains("os-1.vhd: holds different content"))
        try gallery.refused(["version", "latest", "--gallery", "g", "--definition", "ubuntu"], status: 2, "There is no latest image version")
        // The source itself changed too: replicate copies from a good replica... there is none left
        // in eastus, but westus' first replica is intact.
        #expect(try ExternalTool.run(qemuIO, ["-f", "vpc", "-c", "write -P 0x98 2M 4k", os]).status == 0)
        try gallery.ok(["version", "replicate", "1.0.0", "--gallery", "g", "--definition", "ubuntu", "-q"])
        #expect(try gallery.run(show).status == 0)
        #expect(try gallery.json(["version", "latest", "--gallery", "g", "--definition", "ubuntu"])["name"] as? String == "1.0.0")
    }

    /// The gallery documentation's billing example, at 1/1024 scale: a 127 MiB OS disk
    /// occupying 10 MiB and an empty 32 MiB data disk, 3 regions x 2 replicas: 6 snapshots,
    /// 60 MiB stored, 20 MiB egress.
    @Test func costMatchesTheBillingExample() throws {
        let gallery = try GalleryFixture()
        guard let os = try gallery.qemuDisk("os.vhd", size: "127M", writes: ["write -P 0x5a 0 6M", "write -P 0xa5 100M 4M"]),
              let data = try gallery.qemuDisk("data.vhd", size: "32M") else { return }
        try gallery.standardDefinition()
        let created = try gallery.createVersion("1.0.0", os: os, [
            "--data-vhd", data, "--target-region", "westus=2", "--target-region", "eastus=2", "--target-region", "northeu=2",
        ])
        #expect(created.status == 0, "\(created.stderr)")
        let cost = try gallery.json(["version", "cost", "1.0.0", "--gallery", "g", "--definition", "ubuntu"])
        let mib = 1 << 20
        #expect(cost["occupiedBytes"] as? Int == 10 * mib)
        let block = try #require(cost["cost"] as? [String: Any])
        #expect(block["snapshots"] as? Int == 6)
        #expect(block["storedBytes"] as? Int == 60 * mib)
        #expect(block["egressBytes"] as? Int == 20 * mib)
        #expect((block["regions"] as? [[String: Any]])?.map { $0["egressBytes"] as? Int } == [0, 10 * mib, 10 * mib])
        #expect((cost["disks"] as? [[String: Any]])?.map { $0["occupiedBytes"] as? Int } == [10 * mib, 0])
        // The same figures as `vhdtool occupied` gives for the disks.
        let occupied = try gallery.plain(["occupied", os, data, "--target-region", "westus=2", "--target-region", "eastus=2",
                                       "--target-region", "northeu=2", "--json", "-q"])
        let occupiedCost = try #require((try JSONSerialization.jsonObject(with: Data(occupied.utf8)) as? [String: Any])?["cost"] as? [String: Any])
        #expect(occupiedCost["storedBytes"] as? Int == 60 * mib && occupiedCost["snapshots"] as? Int == 6)
    }

    /// Two creates at once: different versions both succeed; the same version once.
    @Test func concurrentCreatesSucceedOrFailCleanly() async throws {
        let gallery = try GalleryFixture()
        guard let os = try gallery.qemuDisk("os.vhd", size: "8M", writes: ["write -P 0x12 0 2M"]) else { return }
        try gallery.standardDefinition()
        let regions = ["--target-region", "westus=2", "--target-region", "eastus"]
        async let first = Task.detached { try gallery.createVersion("1.0.0", os: os, regions) }.value
        async let second = Task.detached { try gallery.createVersion("1.0.1", os: os, regions) }.value
        async let third = Task.detached { try gallery.createVersion("1.0.1", os: os, regions) }.value
        let outputs = try await [first, second, third]
        #expect(outputs[0].status == 0, "\(outputs[0].stderr)")
        let same = outputs[1...].map(\.status).sorted()
        #expect(same == [0, 3], "\(outputs.map(\.stderr))")
        let list = try gallery.ok(["version", "list", "--gallery", "g", "--definition", "ubuntu"])
        #expect(list.split(separator: "\n").count == 2)
        for version in ["1.0.0", "1.0.1"] {
            #expect(try gallery.run(["version", "show", version, "--gallery", "g", "--definition", "ubuntu", "--verify"]).status == 0)
        }
    }
}

extension GalleryFixture: @unchecked Sendable {}
