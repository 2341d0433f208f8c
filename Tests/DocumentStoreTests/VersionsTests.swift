import Foundation
import Testing

@testable import DocumentStore

@Suite("Versions of a collection")
struct VersionsTests {
    @Test("every version once, in code-point order, with its count; documents without one last, as nil")
    func versionsAndCounts() throws {
        let database = try TestDatabase.make(label: "versions")
        let events = database.collection(try CollectionName("events"), tablePrefix: "parlant_sessions_")
        #expect(try events.versions(counting: true) == [], "a collection that does not exist has none")
        _ = try events.insertMany(
            [
                #"{"version": "0.9.0"}"#, #"{"version": "0.9.0"}"#, #"{"version": "0.9.0"}"#,
                #"{"version": "0.8.0"}"#, #"{"version": "0.8.0"}"#, #"{"version": "0.10.0"}"#,
                #"{"version": 1}"#, #"{"version": null}"#, "{}", #"{"version": "B"}"#, #"{"version": "a"}"#,
            ].map(JSONValue.of))
        #expect(
            try events.versions(counting: true) == [
                VersionCount(version: "0.10.0", count: 1), VersionCount(version: "0.8.0", count: 2),
                VersionCount(version: "0.9.0", count: 3), VersionCount(version: "1", count: 1),
                VersionCount(version: "B", count: 1), VersionCount(version: "a", count: 1),
                VersionCount(version: nil, count: 2),
            ])
        #expect(try events.versions(counting: false).map(\.count).allSatisfy { $0 == nil })
        #expect(try events.versions(counting: false).map(\.version) == ["0.10.0", "0.8.0", "0.9.0", "1", "B", "a", nil])
    }

    @Test("uncounted, the versions are found through the index alone, without reading the table")
    func skipsThroughTheIndex() throws {
        let database = try TestDatabase.make(label: "versions_plan")
        let events = database.collection(try CollectionName("events"), tablePrefix: "parlant_sessions_")
        try events.create()
        try TestDatabase.sql(
            """
            INSERT INTO \(events.table.name.sql) (id, version, creation_utc, data) \
            SELECT 'e' || n, CASE WHEN n % 1000 = 0 THEN '0.8.0' ELSE '0.9.0' END, '2025', '{}'::jsonb \
            FROM generate_series(1, 50000) n
            """)
        try TestDatabase.sql("VACUUM ANALYZE \(events.table.name.sql)")
        let plan = try TestDatabase.sql("EXPLAIN \(events.versionsQuery(counting: false))")
            .compactMap { $0.first ?? nil }.joined(separator: "\n")
        #expect(!plan.contains("Seq Scan"), "\(plan)")
        #expect(plan.contains("version_keyset"), "\(plan)")
        #expect(try events.versions(counting: false).map(\.version) == ["0.8.0", "0.9.0"])
        #expect(
            try events.versions(counting: true)
                == [VersionCount(version: "0.8.0", count: 50), VersionCount(version: "0.9.0", count: 49950)])
    }
}
