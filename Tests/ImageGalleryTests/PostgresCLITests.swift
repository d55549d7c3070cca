import Foundation
import GalleryPostgres
import ImageGallery
import TestSupport
import Testing

/// The gallery's commands with `--store postgres://...`: the built vhdtool against a database of
/// its own on the test server.
@Suite(.enabled(if: PostgresTestServer.isConfigured))
struct PostgresCLITests {
    /// Runs vhdtool with `arguments` and `--store store`.
    func vhdtool(_ arguments: [String], store: String) throws -> ExternalTool.Output {
        let vhdtool = try #require(ExternalTool.vhdtool, "vhdtool is not built")
        return try ExternalTool.run(vhdtool, arguments + ["--store", store])
    }

    @Test func aStoreOnPostgreSQLKeepsTheGallerysRules() throws {
        try PostgresTestServer.withDatabase { url in
            let folder = try TemporaryFolder()
            let store = "postgres://\(PostgresURL.percentEncoded(url.user)):\(PostgresURL.percentEncoded(url.password ?? ""))@\(url.host):\(url.port)/\(url.database)"
            func ok(_ arguments: [String]) throws -> String {
                let output = try vhdtool(arguments, store: store)
                #expect(output.status == 0, "\(arguments.joined(separator: " ")): \(output.stderr)")
                return output.stdout
            }
            _ = try ok(["region", "add", "westus", folder.file("westus")])
            _ = try ok(["region", "add", "eastus", folder.file("eastus")])
            _ = try ok(["gallery", "create", "g"])
            let taken = try vhdtool(["gallery", "create", "G"], store: store)
            #expect(taken.status == 3 && taken.stderr.contains("already exists"), "\(taken.stderr)")
            _ = try ok(["definition", "create", "ubuntu", "--gallery", "g", "--publisher", "Canonical", "--offer", "Ubuntu",
                        "--sku", "22_04", "--os-type", "linux", "--os-state", "generalized"])
            let disk = TestPaths.testImage("dynamic-8M.vhd")
            // Two creates of the same version at once: one records it, the other is refused.
            let vhdtoolPath = try #require(ExternalTool.vhdtool)
            let create = ["version", "create", "1.0.0", "--gallery", "g", "--definition", "ubuntu", "--os-vhd", disk,
                          "--os-state", "generalized", "--target-region", "westus=2", "--target-region", "eastus", "-q", "--store", store]
            let both = [BackgroundWork { try ExternalTool.run(vhdtoolPath, create) }, BackgroundWork { try ExternalTool.run(vhdtoolPath, create) }]
            let outputs = try both.map { try $0.wait() }
            #expect(outputs.map(\.status).sorted() == [0, 3], "\(outputs.map(\.stderr))")
            let shown = try ok(["version", "show", "1.0.0", "--gallery", "g", "--definition", "ubuntu", "--verify", "--json"])
            #expect(shown.contains("\"aggregatedState\" : \"Completed\""), "\(shown)")
            #expect(try ok(["version", "latest", "--gallery", "g", "--definition", "ubuntu", "--region", "eastus"]).contains("1.0.0"))
            #expect(FileManager.default.fileExists(atPath: folder.file("westus/g/ubuntu/1.0.0/os-2.vhd")))
            _ = try ok(["store", "check", "--deep"])
        }
    }

    @Test func aWrongPasswordIsOneSentenceWithoutThePassword() throws {
        let url = try PostgresTestServer.serverURL()
        let secret = "wrong-\(UUID().uuidString)"
        let output = try vhdtool(["gallery", "list"], store: "postgres://\(url.user):\(secret)@\(url.host):\(url.port)/\(url.database)")
        #expect(output.status == 1)
        #expect(output.stderr.contains("28P01") && !output.stderr.contains(secret), "\(output.stderr)")
    }
}
