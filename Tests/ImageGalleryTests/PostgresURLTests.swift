import ImageGallery
import SystemPackage
import Testing

/// Store locations as users write them: folders, and PostgreSQL URLs good and hostile.
struct PostgresURLTests {
    @Test func anythingButAPostgresURLIsAFolder() throws {
        #expect(try CatalogLocation(parsing: "/srv/gallery") == .folder("/srv/gallery"))
        #expect(try CatalogLocation(parsing: "relative/postgres://x") == .folder("relative/postgres://x"))
        #expect(try CatalogLocation(parsing: "http://host/db") == .folder("http://host/db"))
    }

    @Test func aFullURLIsRead() throws {
        let location = try CatalogLocation(parsing: "postgres://builder:s3cret@db.example.org:6543/gallery?sslmode=require")
        #expect(location == .postgres(PostgresURL(
            user: "builder", password: "s3cret", host: "db.example.org", port: 6543, database: "gallery", sslMode: .require)))
        #expect(location.description == "postgres://builder@db.example.org:6543/gallery?sslmode=require")
    }

    @Test func defaultsAndTheOtherScheme() throws {
        let url = try PostgresURL(parsing: "POSTGRESQL://me@localhost/db")
        #expect(url == PostgresURL(user: "me", password: nil, host: "localhost", port: 5432, database: "db", sslMode: .prefer))
        #expect(url.description == "postgres://me@localhost/db")
    }

    @Test func percentEncodedPartsAreDecoded() throws {
        let url = try PostgresURL(parsing: "postgres://us%40er:p%40ss%3Aw%2Frd%25@h/my%20db")
        #expect(url.user == "us@er")
        #expect(url.password == "p@ss:w/rd%")
        #expect(url.database == "my db")
        #expect(url.description == "postgres://us%40er@h/my%20db")
    }

    @Test func anIPv6HostIsInBrackets() throws {
        let url = try PostgresURL(parsing: "postgres://u@[::1]:5433/db")
        #expect(url.host == "::1" && url.port == 5433)
        #expect(url.description == "postgres://u@[::1]:5433/db")
        #expect(try PostgresURL(parsing: "postgres://u@[fe80::1]/db").port == 5432)
    }

    @Test(arguments: [
        ("postgres://u@h:0/db", "port"),
        ("postgres://u@h:65536/db", "port"),
        ("postgres://u@h:54x/db", "port"),
        ("postgres://u@h:/db", "port"),
        ("postgres://u@h:-1/db", "port"),
        ("postgres://u@h:99999999999999999999/db", "port"),
        ("postgres://u@h", "no database"),
        ("postgres://u@h/", "no database"),
        ("postgres://u@h/a/b", "several parts"),
        ("postgres://h/db", "no user"),
        ("postgres://@h/db", "no user"),
        ("postgres://:pw@h/db", "no user"),
        ("postgres://u@/db", "no host"),
        ("postgres://u@h/db?sslmode=verify-full", "sslmode"),
        ("postgres://u@h/db?sslmode=", "sslmode"),
        ("postgres://u@h/db?application_name=x", "only parameter"),
        ("postgres://u@h/db?sslmode", "name=value"),
        ("postgres://u@[::1/db", "closing"),
        ("postgres://u@[::1]x/db", "port"),
        ("postgres://u@[zz]/db", "IPv6"),
        ("postgres://u@h%20x/db", "host name"),
        ("postgres://u%zz@h/db", "percent"),
        ("postgres://u%00@h/db", "percent"),
        ("postgres://u@h/d%ff", "percent"),
    ])
    func hostileURLsAreRefusedSayingWhy(_ text: String, _ reason: String) {
        #expect { try PostgresURL(parsing: text) } throws: { error in
            guard let error = error as? GalleryError else { return false }
            return error.category == .rule && error.description.contains(reason)
        }
    }

    @Test(arguments: [
        "postgres://u:hunter2@h:0/db",
        "postgres://u:hunter2@h",
        "postgres://u:hun/ter2@h/db?x=1",
        "postgres://u:hunter2@h/db?sslmode=verify-full",
        "postgres://u:hun@ter2@h:x/db",
    ])
    func messagesNeverShowThePassword(_ text: String) {
        #expect { try PostgresURL(parsing: text) } throws: { error in
            let description = (error as? GalleryError)?.description ?? ""
            return !description.isEmpty && !description.contains("hunter2") && !description.contains("ter2")
        }
    }

    @Test func theLocationComesFromTheCallerThenTheEnvironment() throws {
        let url = "postgres://team@db/gallery"
        #expect(try CatalogLocation.resolve(explicit: "/here", environment: ["VHDTOOL_STORE": url]) == .folder("/here"))
        #expect(try CatalogLocation.resolve(explicit: nil, environment: ["VHDTOOL_STORE": url])
            == .postgres(PostgresURL(user: "team", host: "db", database: "gallery")))
        #expect(try CatalogLocation.resolve(explicit: nil, environment: ["HOME": "/home/u"]) == .folder("/home/u/.local/share/vhdtool"))
        #expect(throws: GalleryError.self) { try CatalogLocation.resolve(explicit: nil, environment: [:]) }
    }

    @Test func thePasswordComesFromTheURLThenTheEnvironment() throws {
        func password(_ text: String, _ environment: [String: String]) throws -> String? {
            guard case .postgres(let url) = try CatalogLocation.resolve(explicit: text, environment: environment) else { return "not a URL" }
            return url.password
        }
        let both = ["VHDTOOL_STORE_PASSWORD": "store", "PGPASSWORD": "pg"]
        #expect(try password("postgres://u:inline@h/db", both) == "inline")
        #expect(try password("postgres://u@h/db", both) == "store")
        #expect(try password("postgres://u@h/db", ["PGPASSWORD": "pg"]) == "pg")
        #expect(try password("postgres://u@h/db", [:]) == nil)
        // Shown nowhere.
        #expect(!(try CatalogLocation.resolve(explicit: "postgres://u@h/db", environment: both)).description.contains("store"))
    }
}
