import Foundation
import TestSupport
import Testing

@testable import DocumentStore

/// The `docstore` executable on a database set up like a Supabase project's (`scripts/pg-supabase.sh`),
/// where default privileges open every new table to the Data API's `anon` and `authenticated` roles.
@Suite("Data API exposure, through the executable")
struct DataAPIExposureTests {
    static func environment(schema: String) -> [String: String] {
        ["DATABASE_URL": TestPostgres.supabaseURL, "SERVICE_KEY": TestService.key, "SUPABASE_SCHEMA": schema]
    }

    static func storeTables(in schema: String) throws -> [String] {
        let connection = try PostgresConnection(
            conninfo: TestPostgres.supabaseAdminURL, connectTimeoutSeconds: 5, usesPreparedStatements: false)
        return try connection.query(
            """
            SELECT format('%I.%I', schemaname, tablename) FROM pg_tables \
            WHERE schemaname = \(bind: schema) ORDER BY tablename
            """
        ).rows.compactMap { $0.first ?? nil }
    }

    @Test func schemaSQLRunByTheUserLeavesEveryTableClosedAndTheServiceServesIt() throws {
        let schema = TestPostgres.uniqueSchema("api_ddl")
        let printed = try DocstoreCommand.run(["schema"], environment: ["SUPABASE_SCHEMA": schema])
        #expect(printed.status == 0, "\(printed.stderr)")
        #expect(printed.stdout.components(separatedBy: "ENABLE ROW LEVEL SECURITY").count - 1 == 20)
        let connection = try PostgresConnection(
            conninfo: TestPostgres.supabaseURL, connectTimeoutSeconds: 5, usesPreparedStatements: false)
        try connection.execute(printed.stdout)

        let (process, port) = try ServiceProcess.serve(schema: schema, extra: Self.environment(schema: schema))
        defer { process.signal(SIGKILL) }
        let client = HTTPClient(port: port)
        for store in Store.allCases {
            for collection in store.knownCollections {
                let path = "/\(store.rawValue)/\(collection)"
                #expect(try client.call("POST", path, json: #"{"id": "a", "secret": "s"}"#).status == 201)
                #expect(try client.call("POST", path, json: #"{"id": "b"}"#).status == 201)
                let moved = try client.call("POST", "\(path):quarantine", json: #"{"ids": ["b"], "reason": "r"}"#)
                #expect(moved.status == 200, "\(moved.text)")
                #expect(try client.call("GET", "\(path)/a").object["secret"] as? String == "s")
            }
        }
        let tables = try Self.storeTables(in: schema)
        #expect(tables.count == 20)
        for table in tables {
            for role in ["anon", "authenticated"] {
                let reach = try DataAPIProbe.reach(of: role, table: table)
                #expect(reach.isClosed, "\(role) on \(table): \(reach)")
            }
        }
        let verify = try client.call("GET", "/verify")
        #expect(verify.status == 200, "\(verify.text)")
    }

    @Test func verifyFailsOnHandMadeTablesAndFixClosesThem() throws {
        let schema = TestPostgres.uniqueSchema("api_fix")
        let connection = try PostgresConnection(
            conninfo: TestPostgres.supabaseURL, connectTimeoutSeconds: 5, usesPreparedStatements: false)
        try connection.execute(
            """
            CREATE SCHEMA \(schema);
            CREATE TABLE \(schema).parlant_sessions (
                id TEXT NOT NULL PRIMARY KEY, version TEXT, creation_utc TEXT, session_id TEXT,
                customer_id TEXT, agent_id TEXT, data JSONB NOT NULL DEFAULT '{}'::jsonb);
            CREATE TABLE \(schema).parlant_sessions_events (LIKE \(schema).parlant_sessions INCLUDING ALL);
            INSERT INTO \(schema).parlant_sessions (id, data) VALUES ('private', '{"id": "private"}');
            """
        )
        let table = "\"\(schema)\".\"parlant_sessions\""
        #expect(try DataAPIProbe.reach(of: "anon", table: table).visible == 1, "the default privileges open it")

        let failing = try DocstoreCommand.run(["verify"], environment: Self.environment(schema: schema))
        #expect(failing.status == 1, "\(failing.output)")
        let line = failing.stdout.split(separator: "\n").first { $0.hasPrefix("data_api ") } ?? ""
        #expect(line.contains("FAILED"), "\(line)")
        #expect(line.contains("\(schema).parlant_sessions (anon and authenticated can read or write it"), "\(line)")
        #expect(line.contains("REVOKE ALL ON TABLE \(table) FROM anon, authenticated;"), "\(line)")

        let fixed = try DocstoreCommand.run(["verify", "--fix"], environment: Self.environment(schema: schema))
        #expect(
            fixed.stdout.contains(
                "fix: closed to the Data API roles (row-level security on, privileges of anon and authenticated "
                    + "revoked): \(schema).parlant_sessions, \(schema).parlant_sessions_events"),
            "\(fixed.output)")
        let fixedLine = fixed.stdout.split(separator: "\n").first { $0.hasPrefix("data_api ") } ?? ""
        #expect(fixedLine.contains(" ok "), "\(fixedLine)")
        for role in ["anon", "authenticated"] {
            for name in ["parlant_sessions", "parlant_sessions_events"] {
                let reach = try DataAPIProbe.reach(of: role, table: "\"\(schema)\".\"\(name)\"")
                #expect(reach.isClosed, "\(role) on \(name): \(reach)")
            }
        }
    }
}
