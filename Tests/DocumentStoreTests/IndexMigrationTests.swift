import Foundation
import TestSupport
import Testing

@testable import DocumentStore

/// Tables made by earlier versions, or by hand, get the indexes they lack without blocking writes
/// (SPEC sections 3 and 6: keyset indexes in code-point order).
@Suite("Index migration")
struct IndexMigrationTests {
    /// Notices the database reported, for the tests to read.
    final class Notices: @unchecked Sendable {
        private let lock = NSLock()
        private var messages: [String] = []

        func record(_ notice: DatabaseNotice) {
            lock.withLock { messages.append(notice.message) }
        }

        var all: [String] { lock.withLock { messages } }
    }

    /// A database on `url` over a fresh schema, reporting to `notices`.
    static func database(_ label: String, url: String, notices: Notices) throws -> DocumentDatabase {
        try DocumentDatabase(
            settings: DatabaseSettings(conninfo: url, schema: TestDatabase.uniqueSchema(label)),
            notify: notices.record)
    }

    /// The events table as an earlier version made it: the seed's columns and indexes, and keyset indexes
    /// in the database's collation under their old names; with `count` documents.
    static func earlierTable(_ database: DocumentDatabase, count: Int, url: String) throws -> TableNames {
        let names = TableNames(
            schema: database.schema, prefix: "parlant_sessions_", collection: try CollectionName("events"))
        let table = names.qualifiedTable.sql.text
        let old = names.replacedIndexes.map(\.quoted)
        try TestDatabase.execute(
            """
            CREATE SCHEMA \(names.schema.quoted);
            CREATE TABLE \(table) (id TEXT NOT NULL PRIMARY KEY, version TEXT, creation_utc TEXT, session_id TEXT,
                customer_id TEXT, agent_id TEXT, data JSONB NOT NULL DEFAULT '{}'::jsonb);
            CREATE INDEX \(names.index("creation_utc").quoted) ON \(table) (creation_utc);
            CREATE INDEX \(names.index("session_id").quoted) ON \(table) (session_id) WHERE session_id IS NOT NULL;
            CREATE INDEX \(names.index("customer_id").quoted) ON \(table) (customer_id) WHERE customer_id IS NOT NULL;
            CREATE INDEX \(names.index("agent_id").quoted) ON \(table) (agent_id) WHERE agent_id IS NOT NULL;
            CREATE INDEX \(names.index("data_gin").quoted) ON \(table) USING GIN (data);
            CREATE INDEX \(old[0]) ON \(table) (creation_utc, id);
            CREATE INDEX \(old[1]) ON \(table) (session_id, creation_utc, id) WHERE session_id IS NOT NULL;
            CREATE INDEX \(old[2]) ON \(table) (customer_id, creation_utc, id) WHERE customer_id IS NOT NULL;
            CREATE INDEX \(old[3]) ON \(table) (agent_id, creation_utc, id) WHERE agent_id IS NOT NULL;
            CREATE TABLE \(names.qualifiedFailedTable.sql.text) (id TEXT, data JSONB NOT NULL DEFAULT '{}'::jsonb,
                reason TEXT, failed_utc TEXT);
            INSERT INTO \(table) (id, creation_utc, customer_id, data)
            SELECT 'e' || n, '2025-01-01T00:00:00+00:00', 'c' || (n % 10),
                jsonb_build_object('id', 'e' || n, 'creation_utc', '2025-01-01T00:00:00+00:00', 'customer_id', 'c' || (n % 10))
            FROM generate_series(1, \(count)) n;
            """,
            url: url
        )
        return names
    }

    /// The table's valid indexes, by name.
    static func validIndexes(_ names: TableNames, url: String) throws -> Set<String> {
        Set(
            try TestDatabase.sql(
                """
                SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
                WHERE i.indrelid = to_regclass(\(bind: names.qualifiedTable.sql.text)) AND i.indisvalid
                """,
                url: url
            ).compactMap { $0.first ?? nil })
    }

    static func expected(_ names: TableNames) -> Set<String> {
        Set(names.indexes.map(\.name.name) + ["\(names.table.name)_pkey"])
    }

    @Test("after the next write, a table of an earlier version gets code-point keyset indexes and loses its old ones")
    func nextWriteMigrates() throws {
        let url = TestDatabase.englishCollationURL
        let notices = Notices()
        let database = try Self.database("migrate_write", url: url, notices: notices)
        let names = try Self.earlierTable(database, count: 2000, url: url)
        let events = database.collection(try CollectionName("events"), tablePrefix: "parlant_sessions_")
        #expect(try Self.validIndexes(names, url: url) != Self.expected(names))

        _ = try events.insert(.of(#"{"id": "new", "customer_id": "c1"}"#))
        let deadline = Date().addingTimeInterval(30)
        while try Self.validIndexes(names, url: url) != Self.expected(names) && Date() < deadline {
            usleep(100_000)
        }
        #expect(try Self.validIndexes(names, url: url) == Self.expected(names), "\(notices.all)")
        #expect(notices.all.contains { $0.hasPrefix("building index \(names.ownIndex("keyset").name) of ") })
        #expect(notices.all.contains { $0.contains(" kB) without blocking writes") }, "\(notices.all)")
        #expect(notices.all.contains { $0.hasPrefix("dropped index \(names.replacedIndexes[0].name) of ") })
        let check = try VerificationTests.check(
            database.verify(tablePrefixes: VerificationTests.defaultPrefixes), "sessions/events")
        #expect(check.ok, "\(check.detail)")
        let page = try events.find(
            FindQuery(filter: try Where.parse(json: #"{"customer_id": "c1"}"#), limit: 3))
        let codePointOrder = stride(from: 1, through: 2000, by: 10).map { "e\($0)" }.sorted {
            $0.unicodeScalars.map(\.value).lexicographicallyPrecedes($1.unicodeScalars.map(\.value))
        }
        #expect(page.items.map(\.id) == Array(codePointOrder.prefix(3)))
    }

    @Test("PUT (create) builds what an earlier table lacks before it returns")
    func createWaits() throws {
        let url = TestDatabase.url
        let database = try Self.database("migrate_put", url: url, notices: Notices())
        let names = try Self.earlierTable(database, count: 500, url: url)
        let events = database.collection(try CollectionName("events"), tablePrefix: "parlant_sessions_")
        #expect(try events.create() == false)
        #expect(try Self.validIndexes(names, url: url) == Self.expected(names))
    }

    @Test("an index left invalid by a build that was cut off is dropped and built again")
    func invalidIndexIsRebuilt() throws {
        let url = TestDatabase.url
        let notices = Notices()
        let database = try Self.database("migrate_invalid", url: url, notices: notices)
        let events = database.collection(try CollectionName("events"), tablePrefix: "parlant_sessions_")
        try events.create()
        let names = events.names
        let keyset = names.ownIndex("keyset")
        try TestDatabase.sql(
            "UPDATE pg_index SET indisvalid = false WHERE indexrelid = to_regclass(\(bind: "\(names.schema.quoted).\(keyset.quoted)"))"
        )
        #expect(!(try Self.validIndexes(names, url: url).contains(keyset.name)))
        let check = try VerificationTests.check(
            database.verify(tablePrefixes: VerificationTests.defaultPrefixes), "sessions/events")
        #expect(check.detail.contains("index \(keyset.name) is not valid (it is being built now, or its build was cut off)"))
        try events.create()
        #expect(try Self.validIndexes(names, url: url) == Self.expected(names))
        #expect(notices.all.contains { $0.contains("an earlier build of it was cut off") }, "\(notices.all)")
    }

    @Test("on a table the user does not own, writes still work and the owner is told what to run")
    func foreignTable() throws {
        let notices = Notices()
        let schema = TestDatabase.uniqueSchema("migrate_foreign")
        try TestDatabase.execute(
            """
            CREATE SCHEMA \(schema);
            GRANT USAGE ON SCHEMA \(schema) TO docstore_owner;
            CREATE TABLE \(schema).parlant_sessions_events (id TEXT NOT NULL PRIMARY KEY, version TEXT,
                creation_utc TEXT, session_id TEXT, customer_id TEXT, agent_id TEXT,
                data JSONB NOT NULL DEFAULT '{}'::jsonb);
            CREATE TABLE \(schema).parlant_sessions_events_failed_migrations (id TEXT, data JSONB NOT NULL
                DEFAULT '{}'::jsonb, reason TEXT, failed_utc TEXT);
            GRANT ALL ON ALL TABLES IN SCHEMA \(schema) TO docstore_owner;
            """,
            url: TestPostgres.supabaseAdminURL
        )
        let database = try DocumentDatabase(
            settings: DatabaseSettings(conninfo: TestPostgres.supabaseURL, schema: schema), notify: notices.record)
        let events = database.collection(try CollectionName("events"), tablePrefix: "parlant_sessions_")
        _ = try events.insert(.of(#"{"id": "kept"}"#))
        #expect(try events.get(id: "kept") != nil)
        let deadline = Date().addingTimeInterval(15)
        while !notices.all.contains(where: { $0.contains("its owner must run") }) && Date() < deadline {
            usleep(50_000)
        }
        #expect(
            notices.all.contains { $0.contains("the database user does not own the table, so its owner must run: CREATE INDEX CONCURRENTLY") },
            "\(notices.all)")
    }
}
