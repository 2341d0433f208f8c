import Foundation
import Testing

@testable import DocumentStore

@Suite("Tables and schema")
struct SchemaTests {
    /// The seed document's "Manual Table Creation" SQL, verbatim but for the schema.
    static func seedSQL(schema: String) -> String {
        """
        CREATE SCHEMA \(schema);
        SET search_path TO \(schema);
        CREATE TABLE IF NOT EXISTS parlant_sessions (
            id TEXT NOT NULL PRIMARY KEY,
            version TEXT,
            creation_utc TEXT,
            session_id TEXT,
            customer_id TEXT,
            agent_id TEXT,
            data JSONB NOT NULL DEFAULT '{}'::jsonb
        );
        CREATE INDEX IF NOT EXISTS idx_parlant_sessions_creation_utc ON parlant_sessions(creation_utc);
        CREATE INDEX IF NOT EXISTS idx_parlant_sessions_session_id
        ON parlant_sessions(session_id) WHERE session_id IS NOT NULL;
        CREATE INDEX IF NOT EXISTS idx_parlant_sessions_customer_id
        ON parlant_sessions(customer_id) WHERE customer_id IS NOT NULL;
        CREATE INDEX IF NOT EXISTS idx_parlant_sessions_agent_id
        ON parlant_sessions(agent_id) WHERE agent_id IS NOT NULL;
        CREATE INDEX IF NOT EXISTS idx_parlant_sessions_data_gin ON parlant_sessions USING GIN (data);
        INSERT INTO parlant_sessions (id, creation_utc, customer_id, data)
        VALUES ('handmade', '2020-01-01T00:00:00+00:00', 'c1',
                '{"id": "handmade", "creation_utc": "2020-01-01T00:00:00+00:00", "customer_id": "c1"}');
        """
    }

    @Test("a table created with the seed's manual SQL works unchanged")
    func seedTable() throws {
        let schema = TestDatabase.uniqueSchema("seed")
        let connection = try PostgresConnection(
            conninfo: TestDatabase.url, connectTimeoutSeconds: 5, usesPreparedStatements: false)
        try connection.execute(Self.seedSQL(schema: schema))
        let database = try DocumentDatabase(settings: DatabaseSettings(conninfo: TestDatabase.url, schema: schema))
        let sessions = database.collection(Store.sessions.primaryCollection, tablePrefix: "parlant_sessions_")
        #expect(sessions.tableName == "parlant_sessions")
        #expect(try sessions.ids(matching: #"{"customer_id": "c1"}"#) == ["handmade"])
        _ = try sessions.insert(.of(#"{"id": "new", "customer_id": "c1"}"#))
        #expect(
            try sessions.find(FindQuery(filter: try Where.parse(json: #"{"customer_id": "c1"}"#))).items.map(\.id)
                == ["handmade", "new"])
        _ = try sessions.merge(id: "handmade", patch: .of(#"{"title": "kept"}"#))
        #expect(try sessions.get(id: "handmade")?.value()["title"] == .string("kept"))
        #expect(try sessions.quarantine(ids: ["handmade"], reason: "test") == 1)
        let columns = try TestDatabase.sql(
            """
            SELECT column_name FROM information_schema.columns WHERE table_schema = \(bind: schema) \
            AND table_name = 'parlant_sessions' ORDER BY ordinal_position
            """
        ).compactMap { $0.first ?? nil }
        #expect(columns == ["id", "version", "creation_utc", "session_id", "customer_id", "agent_id", "data"])
    }

    @Test("collections whose derived names collide after 63 bytes get different tables")
    func longNames() throws {
        let prefix = String(repeating: "p", count: 40) + "_"
        let database = try TestDatabase.make(label: "long")
        let first = database.collection(
            try CollectionName(String(repeating: "c", count: 30) + "_one"), tablePrefix: prefix)
        let second = database.collection(
            try CollectionName(String(repeating: "c", count: 30) + "_two"), tablePrefix: prefix)
        #expect(first.tableName != second.tableName)
        #expect(first.tableName.utf8.count <= 63 && second.tableName.utf8.count <= 63)
        #expect(first.failedTableName != second.failedTableName && first.failedTableName != first.tableName)
        _ = try first.insert(.of(#"{"id": "a"}"#))
        _ = try second.insert(.of(#"{"id": "b"}"#))
        #expect(try first.all().map { $0["id"] } == [.string("a")])
        #expect(try second.all().map { $0["id"] } == [.string("b")])
        let tables = try TestDatabase.sql(
            "SELECT count(*) FROM pg_tables WHERE schemaname = \(bind: database.schema.name)"
        )
        #expect(tables.first?.first == "4")
    }

    @Test("many replicas creating one collection at once all succeed, and the schema is created")
    func concurrentCreation() throws {
        let schema = TestDatabase.uniqueSchema("replicas")
        let replicas = try (0..<8).map { _ in
            try DocumentDatabase(settings: DatabaseSettings(conninfo: TestDatabase.url, schema: schema, poolSize: 2))
        }
        let failures = Failures()
        DispatchQueue.concurrentPerform(iterations: 8) { index in
            do {
                let collection = replicas[index].collection(
                    try CollectionName("events"), tablePrefix: "parlant_sessions_")
                _ = try collection.insert(.of(#"{"id": "r\#(index)"}"#))
            } catch {
                failures.add("replica \(index): \(String(reflecting: error))")
            }
        }
        #expect(failures.all.isEmpty, "\(failures.all)")
        let collection = replicas[0].collection(try CollectionName("events"), tablePrefix: "parlant_sessions_")
        #expect(try collection.count(.everything) == 8)
        let indexes = try TestDatabase.sql("SELECT count(*) FROM pg_indexes WHERE schemaname = \(bind: schema)")
        #expect(indexes.first?.first == "11", "the primary key plus the ten indexes of SPEC section 3")
    }

    @Test("the schema script is the seed's manual SQL plus the keyset indexes")
    func script() throws {
        let database = try TestDatabase.make(label: "script")
        let script = database.schemaScript(for: Store.sessions.primaryCollection, tablePrefix: "parlant_sessions_")
        #expect(script.contains("CREATE TABLE IF NOT EXISTS \"\(database.schema.name)\".\"parlant_sessions\""))
        #expect(
            script.contains(
                "\"idx_parlant_sessions_data_gin\" ON \"\(database.schema.name)\".\"parlant_sessions\" USING GIN (data)"
            ))
        #expect(script.contains(#"(customer_id, creation_utc COLLATE "C", id COLLATE "C") WHERE customer_id IS NOT NULL"#))
        try TestDatabase.sql("CREATE SCHEMA \(SQLIdentifier(database.schema.name)!)")
        let connection = try PostgresConnection(
            conninfo: TestDatabase.url, connectTimeoutSeconds: 5, usesPreparedStatements: false)
        try connection.execute(script)
        try connection.execute(script)
    }
}
