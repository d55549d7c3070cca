import Dispatch
import Synchronization
import Foundation
@testable import GalleryPostgres
import ImageGallery
import Testing

/// The PostgreSQL engine alone, on a real server (scripts/postgres): statements, values, errors,
/// and the guarantees of its transactions. Each test has a database of its own.
@Suite(.enabled(if: PostgresTestServer.isConfigured))
struct PostgresEngineTests {
    @Test func placeholdersOutsideLiteralsAndCommentsAreNumbered() {
        let (sql, count) = PostgresPlaceholders.numbered(
            "SELECT ?, '?', 'it''s ?', \"a?\" -- ?\n, ? /* ? */ FROM t WHERE x = ?")
        #expect(sql == "SELECT $1, '?', 'it''s ?', \"a?\" -- ?\n, $2 /* ? */ FROM t WHERE x = $3")
        #expect(count == 3)
    }

    @Test func valuesRoundTrip() throws {
        try PostgresTestServer.withCatalog { catalog, _ in
            let values: [[CatalogValue]] = [
                [.integer(1), .null, .null, .null],
                [.integer(2), .integer(.max), .real(0.1), .text("Zürich 東京 🚀 it's ? $1")],
                [.integer(3), .integer(.min), .real(-1e300), .text("")],
            ]
            try catalog.write { db in
                try db.execute("CREATE TABLE sample (id BIGINT PRIMARY KEY, someInteger BIGINT, someReal DOUBLE PRECISION, someText TEXT)", [])
                for row in values {
                    #expect(try db.execute("INSERT INTO sample (id, someInteger, someReal, someText) VALUES (?, ?, ?, ?)", row) == 1)
                }
            }
            let rows = try catalog.read { db in try db.query("SELECT id, someInteger, someReal, someText FROM sample ORDER BY id", []) }
            #expect(rows.map { [$0["id"], $0["someInteger"], $0["someReal"], $0["someText"]] } == values)
            // What aggregates and predicates give: numeric sums, bigint counts, booleans as 0/1.
            let summary = try catalog.read { db in
                try db.queryOne("""
                    SELECT count(*) AS rowCount, sum(id) AS idSum, avg(id) AS idMean,
                           EXISTS (SELECT 1 FROM sample WHERE someText = ?) AS hasEmpty, ? AS echoed
                    FROM sample
                    """, [.text(""), .text("?")])
            }
            #expect(summary?["rowCount"] == .integer(3))
            #expect(summary?["idSum"] == .integer(6))
            #expect(summary?["idMean"] == .integer(2))
            #expect(summary?["hasEmpty"] == .integer(1))
            #expect(summary?["echoed"] == .text("?"))
            #expect(try catalog.write { db in try db.execute("UPDATE sample SET someText = ? WHERE id > ?", [.text("x"), .integer(1)]) } == 2)
        }
    }

    @Test func aWrongCountOfValuesIsAnError() throws {
        try PostgresTestServer.withCatalog { catalog, _ in
            #expect { try catalog.read { db in try db.query("SELECT ?, ?", [.integer(1)]) } } throws: { error in
                (error as? CatalogEngineError)?.kind == .other
            }
        }
    }

    @Test func constraintsAreConstraintErrorsAndTheTransactionGoesOn() throws {
        try PostgresTestServer.withCatalog(migrated: true) { catalog, _ throws in
            try catalog.write { db in
                try db.execute("INSERT INTO region (name, path, isDefault) VALUES (?, ?, 0)", [.text("West"), .text("/r/west")])
                // The same name in another case: the unique index on lower(name) refuses it.
                #expect { try db.execute("INSERT INTO region (name, path, isDefault) VALUES (?, ?, 0)", [.text("WEST"), .text("/r/w2")]) } throws: { error in
                    let error = error as? CatalogEngineError
                    return error?.kind == .constraint && error?.message.contains("23505") == true
                }
                // A foreign key to no gallery.
                #expect { try db.execute("""
                    INSERT INTO definition (galleryId, name, publisher, offer, sku, osType, osState, hyperVGeneration,
                        architecture, tags, disallowedDiskTypes, createdDate)
                    VALUES (999, 'd', 'p', 'o', 's', 'Linux', 'Generalized', 'V2', 'x64', '{}', '[]', '2026-01-01')
                    """, []) } throws: { error in
                    (error as? CatalogEngineError)?.kind == .constraint && (error as? CatalogEngineError)?.message.contains("23503") == true
                }
                // Still usable, as a SQLite transaction would be.
                try db.execute("INSERT INTO region (name, path, isDefault) VALUES (?, ?, 0)", [.text("East"), .text("/r/east")])
            }
            let names = try catalog.read { db in try db.query("SELECT name FROM region ORDER BY name", []).map { $0["name"] } }
            #expect(names == [.text("East"), .text("West")])
        }
    }

    @Test func anErrorOfTheBodyRollsEverythingBack() throws {
        struct Refused: Error {}
        try PostgresTestServer.withCatalog(migrated: true) { catalog, _ throws in
            #expect(throws: Refused.self) {
                try catalog.write { db in
                    try db.execute("INSERT INTO gallery (name, createdDate) VALUES ('g', '2026-01-01')", [])
                    throw Refused()
                }
            }
            #expect(try catalog.read { db in try db.queryOne("SELECT count(*) AS n FROM gallery", [])?["n"] } == .integer(0))
        }
    }

    @Test func writersOnTwoConnectionsTakeTurns() throws {
        try PostgresTestServer.withCatalog(migrated: true) { observer, url in
            let first = try PostgresCatalog(url: url)
            let second = try PostgresCatalog(url: url)
            defer { first.close(); second.close() }
            let firstHolds = DispatchSemaphore(value: 0)
            let firstMayCommit = DispatchSemaphore(value: 0)
            let writer = BackgroundWork {
                try first.write { db in
                    try db.execute("INSERT INTO gallery (name, createdDate) VALUES ('first', '2026-01-01')", [])
                    firstHolds.signal()
                    firstMayCommit.wait()
                }
            }
            firstHolds.wait()
            // The second writer waits for the first's advisory lock...
            let waiter = BackgroundWork {
                try second.write { db in try db.queryOne("SELECT count(*) AS n FROM gallery", [])?["n"] }
            }
            let waits = try eventually {
                try observer.read { db in
                    try db.queryOne("SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted", [])?["n"]
                } == .integer(1)
            }
            #expect(waits)
            #expect(!waiter.isFinished(within: 0.2))
            firstMayCommit.signal()
            try writer.wait()
            // ...and then sees what the first committed.
            #expect(try waiter.wait() == .integer(1))
        }
    }

    @Test func rowWritersClaimDifferentRowsWithoutTheWritersLock() throws {
        try PostgresTestServer.withCatalog { setup, url in
            try setup.write { db in
                try db.execute("CREATE TABLE job (id BIGINT PRIMARY KEY, owner TEXT)", [])
                try db.execute("INSERT INTO job (id) VALUES (1), (2)", [])
            }
            let first = try PostgresCatalog(url: url)
            let second = try PostgresCatalog(url: url)
            defer { first.close(); second.close() }
            let claim = "SELECT id FROM job WHERE owner IS NULL ORDER BY id LIMIT 1" + CatalogDialect.postgres.skipLocked
            let firstClaimed = DispatchSemaphore(value: 0)
            let firstMayCommit = DispatchSemaphore(value: 0)
            // The first holds a claimed row, and the writers' advisory lock too (a write).
            let holder = BackgroundWork {
                try first.write { db -> CatalogValue? in
                    let id = try db.queryOne(claim, [])?["id"]
                    try db.execute("UPDATE job SET owner = 'first' WHERE id = ?", [id ?? .null])
                    firstClaimed.signal()
                    firstMayCommit.wait()
                    return id
                }
            }
            firstClaimed.wait()
            let claimer = BackgroundWork {
                try second.writeRows { db -> CatalogValue? in
                    let id = try db.queryOne(claim, [])?["id"]
                    try db.execute("UPDATE job SET owner = 'second' WHERE id = ?", [id ?? .null])
                    return id
                }
            }
            // The second claims the other row while the first still holds both of its locks.
            #expect(claimer.isFinished(within: 30))
            firstMayCommit.signal()
            #expect(try holder.wait() == .integer(1))
            #expect(try claimer.wait() == .integer(2))
        }
    }

    @Test func aDeadlockRunsTheBodyAgain() throws {
        try PostgresTestServer.withCatalog { setup, url in
            try setup.write { db in
                try db.execute("CREATE TABLE counter (id BIGINT PRIMARY KEY, value BIGINT NOT NULL)", [])
                try db.execute("INSERT INTO counter VALUES (1, 0), (2, 0)", [])
            }
            let first = try PostgresCatalog(url: url)
            let second = try PostgresCatalog(url: url)
            defer { first.close(); second.close() }
            let attempts = Mutex(0)
            let bothHoldOne = DispatchGroup()
            bothHoldOne.enter()
            bothHoldOne.enter()
            @Sendable func crossing(_ catalog: PostgresCatalog, _ mine: Int64, _ theirs: Int64) throws {
                try catalog.writeRows { db in
                    let attempt = attempts.withLock { $0 += 1; return $0 }
                    try db.execute("UPDATE counter SET value = value + 1 WHERE id = ?", [.integer(mine)])
                    if attempt <= 2 {
                        bothHoldOne.leave()
                        bothHoldOne.wait()
                    }
                    try db.execute("UPDATE counter SET value = value + 1 WHERE id = ?", [.integer(theirs)])
                }
            }
            let one = BackgroundWork { try crossing(first, 1, 2) }
            let two = BackgroundWork { try crossing(second, 2, 1) }
            try one.wait()
            try two.wait()
            // One of them was chosen as the deadlock's victim and ran again (usually once; under
            // load the server has been seen to choose a victim twice).
            #expect(attempts.withLock { $0 } >= 3)
            let values = try setup.read { db in try db.query("SELECT value FROM counter ORDER BY id", []).map { $0["value"] } }
            #expect(values == [.integer(2), .integer(2)])
        }
    }

    @Test func aConnectionKilledMidTransactionCommitsNothing() throws {
        try PostgresTestServer.withCatalog(migrated: true) { observer, url in
            let victim = try PostgresCatalog(url: url)
            defer { victim.close() }
            #expect { try victim.write { db in
                try db.execute("INSERT INTO gallery (name, createdDate) VALUES ('half', '2026-01-01')", [])
                let pid = try db.queryOne("SELECT pg_backend_pid() AS pid", [])?["pid"] ?? .null
                try observer.writeRows { admin in
                    _ = try admin.query("SELECT pg_terminate_backend(CAST(? AS integer))", [pid])
                }
                try db.execute("INSERT INTO gallery (name, createdDate) VALUES ('other half', '2026-01-01')", [])
            } } throws: { error in
                (error as? CatalogEngineError)?.kind == .connection
            }
            #expect(try observer.read { db in try db.queryOne("SELECT count(*) AS n FROM gallery", [])?["n"] } == .integer(0))
            // The next transaction connects again.
            _ = try victim.write { db in try db.execute("INSERT INTO gallery (name, createdDate) VALUES ('later', '2026-01-01')", []) }
            #expect(try observer.read { db in try db.queryOne("SELECT count(*) AS n FROM gallery", [])?["n"] } == .integer(1))
        }
    }

    @Test func migrationsRunOnceFromManyConnectionsAtOnce() throws {
        try PostgresTestServer.withDatabase { url in
            let catalogs = try (0..<4).map { _ in try PostgresCatalog(url: url) }
            defer { catalogs.forEach { $0.close() } }
            let work = catalogs.map { catalog in BackgroundWork { try catalog.migrate() } }
            for item in work { try item.wait() }
            try catalogs[0].migrate()
            let versions = try catalogs[0].read { db in
                try db.query("SELECT version, name FROM schema_migrations ORDER BY version", []).map { $0["version"] }
            }
            #expect(versions == PostgresSchema.migrations.map { .integer(Int64($0.version)) })
            #expect(try catalogs[1].read { db in try db.queryOne("SELECT count(*) AS n FROM replicationJob", [])?["n"] } == .integer(0))
        }
    }

    @Test func aNewerSchemaIsRefused() throws {
        try PostgresTestServer.withCatalog(migrated: true) { catalog, _ throws in
            try catalog.write { db in
                try db.execute("INSERT INTO schema_migrations (version, name, applied_at) VALUES (99, 'future', '2030-01-01')", [])
            }
            #expect { try catalog.migrate() } throws: { error in
                (error as? CatalogEngineError)?.message.contains("newer") == true
            }
        }
    }

    @Test func aWrongPasswordIsAConnectionErrorThatDoesNotShowIt() throws {
        var url = try PostgresTestServer.serverURL()
        url.password = "not-the-password-\(UUID().uuidString)"
        #expect { _ = try PostgresCatalog(url: url) } throws: { error in
            guard let error = error as? CatalogEngineError else { return false }
            return error.kind == .connection && error.message.contains("28P01") && !error.message.contains(url.password!)
        }
    }

    @Test func noServerIsAConnectionError() throws {
        var url = try PostgresTestServer.serverURL()
        url.port = 1  // nothing listens on port 1
        #expect { _ = try PostgresCatalog(url: url) } throws: { error in
            (error as? CatalogEngineError)?.kind == .connection
        }
    }
}
