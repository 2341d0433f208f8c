import Foundation
import Testing

@testable import DocumentStore

@Suite("Verification report")
struct VerificationTests {
    /// Every check's name, in the order of SPEC section 8 and `Store.allCases`.
    static let expectedNames = [
        "connection", "schema",
        "sessions/sessions", "sessions/events", "sessions/metadata",
        "customers/customers", "customers/customer_tag_associations", "customers/metadata",
        "variables/variables", "variables/variable_tag_associations", "variables/values", "variables/metadata",
        "data_api", "probe", "storage",
    ]

    static let defaultPrefixes = Store.allCases.map { (store: $0, prefix: $0.defaultTablePrefix) }

    static func tables(in schema: String) throws -> [String] {
        try TestDatabase.sql(
            "SELECT tablename FROM pg_tables WHERE schemaname = \(bind: schema) ORDER BY tablename"
        ).compactMap { $0.first ?? nil }
    }

    static func check(_ report: VerificationReport, _ name: String) throws -> VerificationCheck {
        try #require(report.checks.first { $0.name == name }, "no check named \(name)")
    }

    @Test("a fresh schema passes every check: tables are created on first write, and nothing is left behind")
    func freshSchema() throws {
        let database = try TestDatabase.make(label: "verify_fresh")
        let report = database.verify(tablePrefixes: Self.defaultPrefixes)
        #expect(report.checks.map(\.name) == Self.expectedNames)
        for check in report.checks {
            #expect(check.ok, "\(check.name): \(check.detail)")
            #expect(check.milliseconds >= 0)
        }
        #expect(report.ok)
        #expect(try Self.check(report, "connection").detail.contains("PostgreSQL "))
        #expect(
            try Self.check(report, "sessions/events").detail
                == "not created yet; created on first write (CREATE privilege: yes)")
        #expect(try Self.check(report, "schema").detail.contains("does not exist yet"))
        #expect(try Self.check(report, "storage").detail.contains("no file or memory fallback"))
        #expect(try Self.tables(in: database.schema.name) == [], "the probe must leave no table behind")
    }

    @Test("a watched collection, with the change feed's column, deletions table and triggers, passes")
    func watchedCollection() throws {
        let database = try TestDatabase.make(label: "verify_watched")
        let events = database.collection(try CollectionName("events"), tablePrefix: Store.sessions.defaultTablePrefix)
        try events.trackChanges()
        let report = database.verify(tablePrefixes: Self.defaultPrefixes)
        for check in report.checks {
            #expect(check.ok, "\(check.name): \(check.detail)")
        }
        #expect(report.ok)
    }

    @Test("a database whose collections were all created by the store passes every check")
    func healthy() throws {
        let database = try TestDatabase.make(label: "verify_healthy")
        for store in Store.allCases {
            for name in store.knownCollections {
                try database.collection(name, tablePrefix: store.defaultTablePrefix).create()
            }
        }
        let before = try Self.tables(in: database.schema.name)
        #expect(before.count == 20, "ten collections, each with its failed-migrations table")
        let report = database.verify(tablePrefixes: Self.defaultPrefixes)
        #expect(report.checks.map(\.name) == Self.expectedNames)
        for check in report.checks {
            #expect(check.ok, "\(check.name): \(check.detail)")
        }
        #expect(report.ok)
        let events = try Self.check(report, "sessions/events").detail
        #expect(events.contains("parlant_sessions_events") && events.contains("all 10 indexes"), "\(events)")
        #expect(try Self.check(report, "schema").detail.contains("has USAGE and CREATE"))
        #expect(try Self.tables(in: database.schema.name) == before, "the probe must leave no table behind")
    }

    @Test("a table made with the seed's manual SQL but without its GIN index fails, naming the index")
    func seedTableWithoutGIN() throws {
        let schema = TestDatabase.uniqueSchema("verify_seed")
        let ginLine = "CREATE INDEX IF NOT EXISTS idx_parlant_sessions_data_gin ON parlant_sessions USING GIN (data);"
        let seed = SchemaTests.seedSQL(schema: schema)
        #expect(seed.contains(ginLine))
        let connection = try PostgresConnection(
            conninfo: TestDatabase.url, connectTimeoutSeconds: 5, usesPreparedStatements: false)
        try connection.execute(seed.replacingOccurrences(of: ginLine, with: ""))
        let database = try DocumentDatabase(settings: DatabaseSettings(conninfo: TestDatabase.url, schema: schema))
        let report = database.verify(tablePrefixes: Self.defaultPrefixes)
        #expect(!report.ok)
        #expect(report.checks.map(\.name) == Self.expectedNames)
        let sessions = try Self.check(report, "sessions/sessions")
        #expect(!sessions.ok)
        #expect(
            sessions.detail.contains("missing indexes idx_parlant_sessions_data_gin (gin (data))"), "\(sessions.detail)"
        )
        #expect(sessions.detail.contains("PUT /sessions/sessions"), "\(sessions.detail)")
        #expect(!sessions.detail.contains("idx_parlant_sessions_creation_utc "), "present indexes are not named")
        #expect(!sessions.detail.contains("columns"), "the seed's columns are right: \(sessions.detail)")
        for check in report.checks where check.name != "sessions/sessions" {
            #expect(check.ok, "\(check.name): \(check.detail)")
        }
    }

    /// The check `name` of a fresh report, once it passes, or after `seconds` if it does not.
    static func eventually(
        _ database: DocumentDatabase,
        _ name: String,
        seconds: Double = 15
    ) throws -> VerificationCheck {
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            let check = try Self.check(database.verify(tablePrefixes: Self.defaultPrefixes), name)
            if check.ok || Date() > deadline { return check }
            usleep(100_000)
        }
    }

    @Test("a dropped index fails the check until the next write creates it again")
    func droppedIndex() throws {
        let database = try TestDatabase.make(label: "verify_dropped")
        let events = database.collection(try CollectionName("events"), tablePrefix: "parlant_sessions_")
        try events.create()
        let schema = try #require(SQLIdentifier(database.schema.name))
        try TestDatabase.sql(
            "DROP INDEX \(schema).\(try #require(SQLIdentifier("idx_parlant_sessions_events_data_gin")))")
        let broken = try Self.check(database.verify(tablePrefixes: Self.defaultPrefixes), "sessions/events")
        #expect(!broken.ok)
        #expect(
            broken.detail.hasSuffix(
                "missing indexes idx_parlant_sessions_events_data_gin (gin (data)): they are built (without "
                    + "blocking writes) after the next write to the collection, or at once by PUT /sessions/events"),
            "only the dropped index is named: \(broken.detail)")
        // The same database object, which had already created the collection: the write must still repair it.
        _ = try events.insert(.of("{}"))
        let repaired = try Self.eventually(database, "sessions/events")
        #expect(repaired.ok, "\(repaired.detail)")
    }

    @Test("a table with a wrong column type or a foreign index under an expected name fails, saying what to do")
    func wrongShape() throws {
        let database = try TestDatabase.make(label: "verify_shape")
        let metadata = database.collection(try CollectionName("metadata"), tablePrefix: "parlant_customers_")
        try metadata.create()
        let schema = database.schema.name
        let table = "\(schema).parlant_customers_metadata"
        let index = "idx_parlant_customers_metadata_creation_utc"
        let connection = try PostgresConnection(
            conninfo: TestDatabase.url, connectTimeoutSeconds: 5, usesPreparedStatements: false)
        try connection.execute(
            """
            ALTER TABLE \(table) ALTER COLUMN version TYPE varchar(20), ADD COLUMN extra text;
            DROP INDEX \(schema).\(index);
            CREATE INDEX \(index) ON \(table) (creation_utc DESC);
            """
        )
        let check = try Self.check(database.verify(tablePrefixes: Self.defaultPrefixes), "customers/metadata")
        #expect(!check.ok)
        #expect(check.detail.contains("column version is character varying(20), not text"), "\(check.detail)")
        #expect(check.detail.contains("unexpected columns extra"), "\(check.detail)")
        #expect(check.detail.contains("ALTER TABLE \(table)"), "\(check.detail)")
        #expect(
            check.detail.contains(
                "index \(index) is btree (creation_utc DESC) instead of btree (creation_utc): DROP INDEX \(schema).\(index)"
            ), "\(check.detail)")
        #expect(!check.detail.contains("missing indexes"), "\(check.detail)")
    }

    @Test("a user without CREATE on the schema fails the schema check and the checks of missing tables")
    func missingPrivilege() throws {
        let database = try TestDatabase.make(label: "verify_priv")
        let schema = try #require(SQLIdentifier(database.schema.name))
        let role = try #require(SQLIdentifier("verify_role_\(UUID().uuidString.prefix(8).lowercased())"))
        try TestDatabase.sql("CREATE SCHEMA \(schema)")
        try TestDatabase.sql("CREATE ROLE \(role) LOGIN PASSWORD 'verify-test'")
        defer { _ = try? TestDatabase.sql("DROP ROLE \(role)") }
        try TestDatabase.sql("GRANT USAGE ON SCHEMA \(schema) TO \(role)")
        defer { _ = try? TestDatabase.sql("REVOKE USAGE ON SCHEMA \(schema) FROM \(role)") }
        let target = PostgresConnection.target(of: TestDatabase.url)
        let databaseName = try #require(try TestDatabase.sql("SELECT current_database()").first?.first ?? nil)
        var conninfo = "dbname=\(databaseName) user=\(role.name) password=verify-test"
        if let host = target.host { conninfo += " host=\(host)" }
        if let port = target.port { conninfo += " port=\(port)" }
        let limited = try DocumentDatabase(
            settings: DatabaseSettings(conninfo: conninfo, schema: schema.name, poolSize: 2))
        defer { limited.close() }
        let report = limited.verify(tablePrefixes: Self.defaultPrefixes)
        #expect(!report.ok)
        #expect(try Self.check(report, "connection").ok)
        let schemaCheck = try Self.check(report, "schema")
        #expect(!schemaCheck.ok)
        #expect(
            schemaCheck.detail == "user \(role.name) lacks CREATE on schema \(schema.name): "
                + "GRANT CREATE ON SCHEMA \(schema.name) TO \(role.name)")
        let events = try Self.check(report, "sessions/events")
        #expect(!events.ok && events.detail.contains("not created yet, and cannot be"), "\(events.detail)")
        #expect(!(try Self.check(report, "probe")).ok)
        #expect(try Self.check(report, "storage").ok)
    }

    @Test("an unreachable database fails the connection check quickly and skips the others")
    func unreachable() throws {
        let database = try DocumentDatabase(
            settings: DatabaseSettings(
                conninfo: "postgresql://postgres@127.0.0.1:1/postgres", schema: "public", poolTimeout: .seconds(1),
                connectTimeoutSeconds: 1))
        let clock = ContinuousClock()
        let start = clock.now
        let report = database.verify(tablePrefixes: Self.defaultPrefixes)
        #expect(clock.now - start < .seconds(3))
        #expect(!report.ok)
        #expect(report.checks.map(\.name) == Self.expectedNames)
        let connection = try Self.check(report, "connection")
        #expect(!connection.ok)
        #expect(connection.detail.hasPrefix("cannot connect to PostgreSQL at 127.0.0.1:1: "), "\(connection.detail)")
        for check in report.checks.dropFirst() {
            #expect(!check.ok && check.detail == "skipped: no database connection", "\(check.name): \(check.detail)")
        }
    }

    @Test("the JSON form parses and has the shape of SPEC section 8")
    func json() throws {
        let database = try TestDatabase.make(label: "verify_json")
        let report = database.verify(tablePrefixes: Self.defaultPrefixes)
        let object = try #require(try JSONValue.parse(report.json).objectValue)
        #expect(object.keys == ["ok", "checks"])
        #expect(object["ok"] == .bool(report.ok))
        let checks = try #require(object["checks"]?.arrayValue)
        #expect(checks.count == report.checks.count)
        for (value, check) in zip(checks, report.checks) {
            let entry = try #require(value.objectValue)
            #expect(entry.keys == ["name", "ok", "detail", "ms"])
            #expect(entry["name"] == .string(check.name))
            #expect(entry["ok"] == .bool(check.ok))
            #expect(entry["detail"] == .string(check.detail))
            let ms = try #require(entry["ms"]?.numberLiteral)
            #expect(ms.split(separator: ".").last?.count == 1, "ms is rounded to 0.1: \(ms)")
            #expect(abs((Double(ms) ?? -1) - check.milliseconds) <= 0.05 + 1e-9)
        }
    }

    @Test(
        "milliseconds are written rounded to one decimal",
        arguments: [
            (0.0, "0.0"), (0.04, "0.0"), (0.05, "0.1"), (12.345, "12.3"), (1234.56, "1234.6"), (-1.0, "0.0"),
            (Double.nan, "0.0"),
        ])
    func milliseconds(value: Double, literal: String) {
        #expect(VerificationCheck.tenthsLiteral(value) == literal)
    }

    @Test("the expected indexes are exactly those CollectionDDL creates")
    func expectedIndexesMatchDDL() throws {
        let names = TableNames(
            schema: SQLIdentifier("public")!, prefix: "parlant_sessions_", collection: try CollectionName("events"))
        let expected = ExpectedCollectionShape(names: names).indexes.map(\.name)
        let created = CollectionDDL(names: names).relationNames.filter {
            $0 != names.table.name && $0 != names.failedTable.name
        }
        #expect(Set(expected) == Set(created))
        #expect(expected.count == created.count)
    }
}
