import Foundation
import TestSupport
import Testing

/// `--tag KEY=VALUE` means the same in `vhdtool tag` and in the gallery's commands: one parser
/// (GalleryVocabulary's AzureTags), which refuses a key given twice and breaks no Azure rule; both
/// programs refuse a bad tag as a usage error (exit 64), before anything is written or recorded.
struct TagArgumentTests {
    static let repeated = ["--tag", "env=prod", "--tag", "env=test"]

    @Test func tagRefusesARepeatedKeyAndWritesNothing() throws {
        let folder = try TemporaryFolder()
        let image = folder.file("disk.img")
        #expect(FileManager.default.createFile(atPath: image, contents: Data(count: 1 << 20)))
        let output = try ConvertTests.vhdtool(["tag", image, "--os-state", "generalized"] + Self.repeated)
        #expect(output.status == 64, "\(output.stderr)")
        #expect(output.stderr.contains("the tag key 'env' is given twice"), "\(output.stderr)")
        #expect(!FileManager.default.fileExists(atPath: image + ".vhdtool.json"))
    }

    @Test func galleryRefusesARepeatedKeyAndRecordsNothing() throws {
        let gallery = try GalleryFixture(regions: ["westus"])
        try gallery.ok(["gallery", "create", "g"])
        let create = ["definition", "create", "ubuntu", "--gallery", "g", "--publisher", "Canonical", "--offer", "Ubuntu",
                      "--sku", "22_04", "--os-type", "linux", "--os-state", "generalized"]
        try gallery.refused(create + Self.repeated, status: 64, "the tag key 'env' is given twice")
        try gallery.refused(["definition", "show", "ubuntu", "--gallery", "g"], status: 2, "ubuntu")
        // Update: the same rule; the tags recorded stay as they were.
        try gallery.ok(create + ["--tag", "env=prod"])
        try gallery.refused(["definition", "update", "ubuntu", "--gallery", "g"] + Self.repeated, status: 64, "the tag key 'env' is given twice")
        let shown = try gallery.json(["definition", "show", "ubuntu", "--gallery", "g"])
        #expect(shown["tags"] as? [String: String] == ["env": "prod"])
    }

    /// Both commands word a broken Azure rule the same way.
    @Test(arguments: [(["--tag", "a/b=1"], "contains '/'"), (["--tag", "novalue"], "must be written KEY=VALUE")])
    func bothCommandsWordABrokenRuleAlike(tag: [String], message: String) throws {
        let folder = try TemporaryFolder()
        let image = folder.file("disk.img")
        #expect(FileManager.default.createFile(atPath: image, contents: Data(count: 1 << 20)))
        let tagged = try ConvertTests.vhdtool(["tag", image, "--os-state", "generalized"] + tag)
        #expect(tagged.status == 64 && tagged.stderr.contains(message), "\(tagged.stderr)")
        let gallery = try GalleryFixture(regions: ["westus"])
        try gallery.ok(["gallery", "create", "g"])
        try gallery.refused(["definition", "create", "d", "--gallery", "g", "--publisher", "p", "--offer", "o", "--sku", "s",
                             "--os-type", "linux", "--os-state", "generalized"] + tag, status: 64, message)
    }

    /// The gallery's other commands taking `--tag` (version create and update) refuse a bad one
    /// as a usage error too, naming the command's usage, and record nothing.
    @Test(arguments: [["--tag", "env=prod", "--tag", "ENV=test"], ["--tag", "a<b=1"], ["--tag", "=value"]])
    func versionCommandsRefuseABadTagAsUsage(tag: [String]) throws {
        let gallery = try GalleryFixture(regions: ["westus"])
        try gallery.ok(["gallery", "create", "g"])
        try gallery.ok(["definition", "create", "ubuntu", "--gallery", "g", "--publisher", "Canonical", "--offer", "Ubuntu",
                        "--sku", "22_04", "--os-type", "linux", "--os-state", "generalized"])
        let image = gallery.folder.file("os.img")
        #expect(FileManager.default.createFile(atPath: image, contents: Data(count: 1 << 20)))
        let create = try gallery.run(["version", "create", "1.0.0", "--gallery", "g", "--definition", "ubuntu",
                                      "--os-vhd", image, "-q"] + tag)
        #expect(create.status == 64, "\(create.stderr)")
        #expect(create.stderr.contains("--tag") && create.stderr.contains("Usage: vhdtool version create"), "\(create.stderr)")
        try gallery.refused(["version", "show", "1.0.0", "--gallery", "g", "--definition", "ubuntu"], status: 2, "1.0.0")
        let update = try gallery.run(["version", "update", "1.0.0", "--gallery", "g", "--definition", "ubuntu"] + tag)
        #expect(update.status == 64 && update.stderr.contains("Usage: vhdtool version update"), "\(update.stderr)")
    }
}
