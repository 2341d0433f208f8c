import Foundation
import TestSupport
import Testing

@testable import DocumentStore

/// The stores' tables against Supabase's Data API roles, on a database set up like a Supabase project's
/// (`scripts/pg-supabase.sh`: default privileges grant `anon` and `authenticated` ALL on every new table).
@Suite("Supabase's Data API roles")
struct DataAPITests {
    /// Every table of the stores in `schema` of the Supabase-like database, quoted and qualified.
    static func storeTables(in schema: String) throws -> [String] {
        try TestDatabase.sql(
            """
            SELECT format('%I.%I', schemaname, tablename) FROM pg_tables WHERE schemaname = \(bind: schema) \
            AND tablename LIKE 'parlant%' ORDER BY tablename
            """,
            url: TestPostgres.supabaseAdminURL
        ).compactMap { $0.first ?? nil }
    }

    /// The service's database over `schema` of the Supabase-like database, and its `data_api` check.
    static func dataAPICheck(schema: String) throws -> (DocumentDatabase, VerificationCheck) {
        let database = try DocumentDatabase(
            settings: DatabaseSettings(conninfo: TestPostgres.supabaseURL, schema: schema))
        let check = try VerificationTests.check(
            database.verify(tablePrefixes: VerificationTests.defaultPrefixes), "data_api")
        return (database, check)
    }

    @Test("tables the service creates show anon and authenticated no row and let them change none")
    func createdTablesAreClosed() throws {
        let database = try TestDatabase.make(label: "supabase", url: TestPostgres.supabaseURL)
        var collections: [DocumentCollection] = []
        for store in Store.allCases {
            for name in store.knownCollections {
                let collection = database.collection(name, tablePrefix: store.defaultTablePrefix)
                _ = try collection.insert(.of(#"{"id": "kept", "customer_id": "c1", "secret": "private"}"#))
                _ = try collection.insert(.of(#"{"id": "moved", "customer_id": "c1"}"#))
                #expect(try collection.quarantine(ids: ["moved"], reason: "test") == 1)
                collections.append(collection)
            }
        }
        let tables = try Self.storeTables(in: database.schema.name)
        #expect(tables.count == 20, "ten collections and their failed-migrations tables: \(tables)")

        for table in tables {
            for role in DataAPIRoles.names {
                let reach = try DataAPIProbe.reach(of: role, table: table)
                #expect(reach.isClosed, "\(role) on \(table): \(reach)")
            }
        }
        // The service's user, which owns the tables, still sees and changes everything.
        for collection in collections {
            #expect(try collection.all().map { $0["secret"] } == [.string("private")])
            #expect(try collection.merge(id: "kept", patch: .of(#"{"seen": true}"#)) != nil)
            let failed = try collection.findFailedMigrations(FindQuery()).items.map(\.id)
            #expect(failed == ["moved"])
        }
        let report = database.verify(tablePrefixes: VerificationTests.defaultPrefixes)
        let check = try VerificationTests.check(report, "data_api")
        #expect(check.ok, "\(check.detail)")
        #expect(check.detail.contains("none of the stores' 20 tables"), "\(check.detail)")
    }

    @Test("a table made by hand with the seed's SQL is open to anon, verify names it, and --fix closes it")
    func handMadeTablesAreReportedAndClosed() throws {
        let schema = TestDatabase.uniqueSchema("supabase_seed")
        // As the service's user, as a Supabase user pasting the seed's SQL into the SQL editor would.
        try PostgresConnection(
            conninfo: TestPostgres.supabaseURL, connectTimeoutSeconds: 5, usesPreparedStatements: false
        ).execute(SchemaTests.seedSQL(schema: schema))
        let table = "\"\(schema)\".\"parlant_sessions\""
        let open = try DataAPIProbe.reach(of: "anon", table: table)
        #expect(open.visible == 1 && open.updated == 1, "the default privileges open the table: \(open)")

        let database = try DocumentDatabase(
            settings: DatabaseSettings(conninfo: TestPostgres.supabaseURL, schema: schema))
        let before = try VerificationTests.check(
            database.verify(tablePrefixes: VerificationTests.defaultPrefixes), "data_api")
        #expect(!before.ok)
        #expect(before.detail.contains("\(schema).parlant_sessions (anon and authenticated can read or write it"))
        #expect(before.detail.contains("row-level security is off"))
        #expect(
            before.detail.contains(
                "ALTER TABLE \(table) ENABLE ROW LEVEL SECURITY; REVOKE ALL ON TABLE \(table) FROM anon, authenticated;"
            ), "\(before.detail)")
        #expect(before.detail.contains("docstore verify --fix"))

        let closure = try database.closeStoreTablesToDataAPI(tablePrefixes: VerificationTests.defaultPrefixes)
        #expect(closure.closed == ["\(schema).parlant_sessions"])
        #expect(closure.notOwned.isEmpty)
        for role in DataAPIRoles.names {
            let reach = try DataAPIProbe.reach(of: role, table: table)
            #expect(reach.isClosed, "\(role): \(reach)")
        }
        let after = try VerificationTests.check(
            database.verify(tablePrefixes: VerificationTests.defaultPrefixes), "data_api")
        #expect(after.ok, "\(after.detail)")
        let sessions = database.collection(Store.sessions.primaryCollection, tablePrefix: "parlant_sessions_")
        #expect(try sessions.all().map { $0["id"] } == [.string("handmade")], "the service still reads it")
    }

    @Test("an open table the service's user does not own is named with its owner and left for the owner")
    func foreignTableIsLeftForItsOwner() throws {
        let schema = TestDatabase.uniqueSchema("supabase_foreign")
        try TestDatabase.execute(
            """
            CREATE SCHEMA \(schema);
            GRANT USAGE, CREATE ON SCHEMA \(schema) TO docstore_owner, anon, authenticated;
            CREATE TABLE \(schema).parlant_customers_metadata (id text PRIMARY KEY, data jsonb);
            INSERT INTO \(schema).parlant_customers_metadata VALUES ('m1', '{"id": "m1"}');
            GRANT ALL ON \(schema).parlant_customers_metadata TO docstore_owner;
            GRANT SELECT ON \(schema).parlant_customers_metadata TO anon;
            """,
            url: TestPostgres.supabaseAdminURL
        )
        let (database, check) = try Self.dataAPICheck(schema: schema)
        #expect(!check.ok)
        #expect(check.detail.contains("anon can read or write it; row-level security is off; owned by postgres"))
        let closure = try database.closeStoreTablesToDataAPI(tablePrefixes: VerificationTests.defaultPrefixes)
        #expect(closure.closed.isEmpty)
        #expect(closure.notOwned.map(\.table) == ["\(schema).parlant_customers_metadata"])
        #expect(closure.notOwned.first?.owner == "postgres")
        #expect(closure.notOwned.first?.sql.contains("REVOKE ALL ON TABLE") == true)
        #expect(
            try DataAPIProbe.reach(of: "anon", table: "\(schema).parlant_customers_metadata").visible == 1,
            "left as it was for its owner to close")
    }

    @Test("row-level security on a table the service's user neither owns nor bypasses fails the check")
    func rowSecurityHidingRowsFromTheServiceFails() throws {
        let schema = TestDatabase.uniqueSchema("supabase_hidden")
        try TestDatabase.execute(
            """
            CREATE SCHEMA \(schema);
            GRANT USAGE ON SCHEMA \(schema) TO docstore_owner;
            CREATE TABLE \(schema).parlant_sessions_events (id text PRIMARY KEY, data jsonb);
            ALTER TABLE \(schema).parlant_sessions_events ENABLE ROW LEVEL SECURITY;
            GRANT ALL ON \(schema).parlant_sessions_events TO docstore_owner;
            """,
            url: TestPostgres.supabaseAdminURL
        )
        let (_, check) = try Self.dataAPICheck(schema: schema)
        #expect(!check.ok)
        #expect(check.detail.contains("hides every row of \(schema).parlant_sessions_events (owned by postgres)"))
    }

    @Test("outside a Supabase-like schema the check passes and says why")
    func plainSchemaPasses() throws {
        let database = try TestDatabase.make(label: "plain_api")
        try database.collection(try CollectionName("events"), tablePrefix: "parlant_sessions_").create()
        let check = try VerificationTests.check(
            database.verify(tablePrefixes: VerificationTests.defaultPrefixes), "data_api")
        #expect(check.ok, "\(check.detail)")
        #expect(check.detail.contains("may not use schema") || check.detail.contains("no Data API roles"))
    }
}
