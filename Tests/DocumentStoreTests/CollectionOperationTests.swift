import Foundation
import Testing

@testable import DocumentStore

@Suite("Collection operations")
struct CollectionOperationTests {
    let database: DocumentDatabase
    let collection: DocumentCollection

    init() throws {
        database = try TestDatabase.make(label: "ops")
        collection = database.collection(try CollectionName("customers"), tablePrefix: "parlant_customers_")
    }

    func columns(_ id: String) throws -> [String?] {
        try TestDatabase.sql(
            """
            SELECT version, creation_utc, session_id, customer_id, agent_id FROM \(collection.table.name.sql) \
            WHERE id = \(bind: id)
            """
        ).first ?? []
    }

    @Test("insert generates id and creation_utc, keeps the columns in step, and rejects a duplicate id")
    func insert() throws {
        let stored = try collection.insert(.of(#"{"name": "Ada", "customer_id": 42, "version": "0.7.0"}"#))
        let value = try stored.value()
        #expect(value["id"]?.stringValue?.count == 16)
        let creation = try #require(value["creation_utc"]?.stringValue)
        #expect(Timestamp.isValid(creation) && creation.hasSuffix("+00:00"))
        #expect(try columns(stored.id) == ["0.7.0", creation, nil, "42", nil])
        #expect(try collection.get(id: stored.id)?.json == stored.json)

        let again = JSONValue.of(#"{"id": "\#(stored.id)", "name": "Other"}"#)
        #expect(throws: DocumentStoreError.duplicateID()) { try collection.insert(again) }
        #expect(try collection.get(id: stored.id)?.value()["name"] == .string("Ada"))
    }

    @Test("documents come back equal: numbers, nesting and Unicode intact")
    func fidelity() throws {
        let text = #"""
            {"id": "f1", "creation_utc": "2024-05-01T12:00:00+00:00", "big": 123456789012345678901234567890,
             "precise": 0.1000000000000000055511151231257827, "one": 1.0, "neg": -0, "exp": 1.5e300,
             "nested": {"a": [1, [2, {"b": null}], "x"], "e": {}}, "text": "héllo \"quoted\" \\ 😀 \u2028 ①",
             "flag": false, "nothing": null, "list": []}
            """#
        let stored = try collection.insert(.of(text))
        let back = try stored.value()
        let original = try #require(JSONValue.of(text).objectValue)
        for key in original.keys where !["big", "precise", "one", "neg", "exp"].contains(key) {
            #expect(back[key] == original[key], "\(key)")
        }
        for key in ["big", "precise", "one", "neg", "exp"] {
            let sent = try #require(original[key]?.numberLiteral)
            let got = try #require(back[key]?.numberLiteral)
            #expect(Decimal(string: sent) == Decimal(string: got), "\(key): \(sent) vs \(got)")
        }
    }

    @Test("insertMany is all or nothing")
    func insertMany() throws {
        let stored = try collection.insertMany([.of(#"{"id": "m1"}"#), .of(#"{"id": "m2"}"#), .of(#"{"x": 1}"#)])
        #expect(stored.map(\.id).prefix(2) == ["m1", "m2"])
        #expect(throws: DocumentStoreError.self) {
            try collection.insertMany([.of(#"{"id": "m3"}"#), .of(#"{"id": "m1"}"#)])
        }
        #expect(try collection.get(id: "m3") == nil)
        #expect(throws: DocumentStoreError.self) {
            try collection.insertMany([.of(#"{"id": "m4"}"#), .of(#"[1]"#)])
        }
        #expect(try collection.get(id: "m4") == nil)
    }

    @Test("replace creates then replaces, keeping creation_utc when the new body has none")
    func replace() throws {
        let first = try collection.replace(id: "r1", with: .of(#"{"a": 1, "session_id": "s"}"#))
        #expect(first.created)
        let creation = try #require(try first.document.value()["creation_utc"])
        let second = try collection.replace(id: "r1", with: .of(#"{"b": 2}"#))
        #expect(!second.created)
        let value = try second.document.value()
        #expect(value["a"] == nil && value["b"] == .number("2") && value["creation_utc"] == creation)
        #expect(try columns("r1")[2] == nil, "session_id column follows the replaced document")
        #expect(throws: DocumentStoreError.self) { try collection.replace(id: "r1", with: .of(#"{"id": "r2"}"#)) }
    }

    @Test("merge changes only the given fields; a missing document is nil")
    func merge() throws {
        _ = try collection.insert(.of(#"{"id": "p1", "a": 1, "b": {"x": 1}, "customer_id": "c1"}"#))
        let merged = try #require(try collection.merge(id: "p1", patch: .of(#"{"b": {"y": 2}, "customer_id": "c2"}"#)))
        let value = try merged.value()
        #expect(value["a"] == .number("1"))
        #expect(value["b"] == .of(#"{"y": 2}"#))
        #expect(try columns("p1")[3] == "c2")
        #expect(try collection.merge(id: "absent", patch: .of("{}")) == nil)
        #expect(throws: DocumentStoreError.self) { try collection.merge(id: "p1", patch: .of(#"{"id": "other"}"#)) }
        #expect(throws: DocumentStoreError.self) { try collection.merge(id: "p1", patch: .of("[]")) }
    }

    @Test("updateOne merges into the first match, upserts the filter's equalities, reports counts")
    func updateOne() throws {
        _ = try collection.insertMany([
            .of(#"{"id": "u1", "creation_utc": "2024-01-02T00:00:00+00:00", "kind": "x"}"#),
            .of(#"{"id": "u2", "creation_utc": "2024-01-01T00:00:00+00:00", "kind": "x"}"#),
        ])
        let outcome = try collection.updateOne(
            try Where.parse(json: #"{"kind": "x"}"#), params: .of(#"{"seen": true}"#))
        #expect(outcome.matchedCount == 1 && outcome.modifiedCount == 1)
        #expect(outcome.document?.id == "u2", "the earliest match is updated")
        let none = try collection.updateOne(try Where.parse(json: #"{"kind": "y"}"#), params: .of(#"{"a": 1}"#))
        #expect(none.matchedCount == 0 && none.document == nil)
        let upserted = try collection.updateOne(
            try Where.parse(json: #"{"kind": "y", "tag_id": "t1"}"#), params: .of(#"{"a": 1}"#), upsert: true)
        #expect(upserted.matchedCount == 0)
        let value = try #require(try upserted.document?.value())
        #expect(value["kind"] == .string("y") && value["tag_id"] == .string("t1") && value["a"] == .number("1"))
        #expect(value["id"]?.stringValue != nil && value["creation_utc"]?.stringValue != nil)
    }

    @Test("deleteOne and delete return the removed document")
    func delete() throws {
        _ = try collection.insertMany([.of(#"{"id": "d1", "k": 1}"#), .of(#"{"id": "d2", "k": 1}"#)])
        let first = try collection.deleteOne(try Where.parse(json: #"{"k": 1}"#))
        #expect(first != nil)
        #expect(try collection.count(try Where.parse(json: #"{"k": 1}"#)) == 1)
        #expect(try collection.delete(id: "d2")?.id == "d2" || collection.delete(id: "d1")?.id == "d1")
        #expect(try collection.deleteOne(try Where.parse(json: #"{"k": 1}"#)) == nil)
        #expect(try collection.delete(id: "d9") == nil)
    }

    @Test("findOne sorts over any field: numbers numerically, strings by code point, missing last")
    func findOneSort() throws {
        _ = try collection.insertMany([
            .of(#"{"id": "o1", "rank": 9, "name": "b"}"#),
            .of(#"{"id": "o2", "rank": 10, "name": "B"}"#),
            .of(#"{"id": "o3", "name": "a"}"#),
            .of(#"{"id": "o4", "rank": 9.5, "name": "é"}"#),
        ])
        let rank = try FieldPath("rank")
        let name = try FieldPath("name")
        #expect(try collection.findOne(.everything, sort: [SortKey(field: rank)])?.id == "o1")
        #expect(try collection.findOne(.everything, sort: [SortKey(field: rank, descending: true)])?.id == "o2")
        #expect(try collection.findOne(.everything, sort: [SortKey(field: name)])?.id == "o2")
        #expect(try collection.findOne(.everything, sort: [SortKey(field: name, descending: true)])?.id == "o4")
        let filtered = try Where.parse(json: #"{"rank": {"$lt": 10}}"#)
        #expect(try collection.findOne(filtered, sort: [SortKey(field: rank, descending: true)])?.id == "o4")
        #expect(try collection.findOne(try Where.parse(json: #"{"rank": 1}"#)) == nil)
    }

    @Test("ensureIndexes is idempotent and unique indexes are enforced")
    func indexes() throws {
        let spec = IndexSpec(
            fields: [SortKey(field: try FieldPath("tag_id")), SortKey(field: try FieldPath("customer_id"))],
            unique: true)
        try collection.ensureIndexes([spec])
        try collection.ensureIndexes([
            spec, IndexSpec(fields: [SortKey(field: try FieldPath("extra.tier"), descending: true)]),
        ])
        let count = try TestDatabase.sql(
            """
            SELECT count(*) FROM pg_indexes WHERE schemaname = \(bind: database.schema.name) \
            AND tablename = \(bind: collection.tableName) AND indexdef LIKE '%tag_id%'
            """
        )
        #expect(count.first?.first == "1")
        _ = try collection.insert(.of(#"{"tag_id": "t", "customer_id": "c"}"#))
        #expect(
            throws: DocumentStoreError(.uniqueViolation, "The write would break a unique index of this collection.")
        ) {
            try collection.insert(.of(#"{"tag_id": "t", "customer_id": "c"}"#))
        }
        #expect(throws: DocumentStoreError.self) {
            try collection.ensureIndexes([IndexSpec(fields: [SortKey(field: try FieldPath("bad'name"))])])
        }
    }

    @Test("quarantine moves documents to the failed-migrations table in one step")
    func quarantine() throws {
        _ = try collection.insertMany([.of(#"{"id": "q1", "v": 1}"#), .of(#"{"id": "q2"}"#), .of(#"{"id": "q3"}"#)])
        #expect(try collection.quarantine(ids: ["q1", "q2", "absent"], reason: "schema v0.1 unsupported") == 2)
        #expect(try collection.all().map { $0["id"] } == [.string("q3")])
        let failed = try collection.findFailedMigrations(FindQuery())
        #expect(Set(failed.items.map(\.id)) == ["q1", "q2"])
        #expect(try failed.items.first { $0.id == "q1" }?.value()["v"] == .number("1"))
        let reasons = try TestDatabase.sql("SELECT DISTINCT reason FROM \(collection.failedTable.name.sql)")
        #expect(reasons == [["schema v0.1 unsupported"]])
    }

    @Test("a collection that does not exist reads empty and is not created by reads")
    func missingCollection() throws {
        let ghost = database.collection(try CollectionName("ghost"), tablePrefix: "parlant_customers_")
        #expect(try ghost.find(FindQuery(limit: 10)).items.isEmpty)
        #expect(try ghost.findOne(.everything) == nil)
        #expect(try ghost.get(id: "x") == nil)
        #expect(try ghost.count(.everything) == 0)
        #expect(try ghost.merge(id: "x", patch: .of("{}")) == nil)
        #expect(try ghost.deleteOne(.everything) == nil)
        let stream = try ghost.stream(.everything)
        #expect(try stream.next() == nil)
        #expect(try ghost.exists() == false)
    }

    @Test("create reports whether it created; drop removes both tables")
    func createAndDrop() throws {
        let fresh = database.collection(try CollectionName("fresh"), tablePrefix: "parlant_customers_")
        #expect(try fresh.create())
        #expect(try fresh.create() == false)
        _ = try fresh.insert(.of(#"{"id": "x"}"#))
        try fresh.drop()
        #expect(try fresh.exists() == false)
        let tables = try TestDatabase.sql(
            """
            SELECT count(*) FROM pg_tables WHERE schemaname = \(bind: database.schema.name) \
            AND tablename IN (\(bind: fresh.tableName), \(bind: fresh.failedTableName))
            """
        )
        #expect(tables.first?.first == "0")
        _ = try fresh.insert(.of(#"{"id": "y"}"#))
        #expect(try fresh.get(id: "y") != nil, "a write after a drop creates the tables again")
    }

    @Test("stream delivers every match in order and can stop early")
    func stream() throws {
        let documents = (0..<500).map {
            JSONValue.of(#"{"id": "s\#(String(format: "%04d", $0))", "even": \#($0 % 2 == 0)}"#)
        }
        _ = try collection.insertMany(documents)
        let stream = try collection.stream(try Where.parse(json: #"{"even": true}"#), descending: true)
        var ids: [String] = []
        while let document = try stream.next() { ids.append(document.id) }
        let expected = (0..<500).filter { $0 % 2 == 0 }.map { String(format: "s%04d", $0) }
        #expect(Set(ids) == Set(expected) && ids.count == expected.count)
        let ordered = try collection.all(try Where.parse(json: #"{"even": true}"#), descending: true)
        #expect(ids == ordered.compactMap { $0["id"]?.stringValue }, "newest first, ties by id")
        let early = try collection.stream(.everything)
        _ = try early.next()
        early.close()
        #expect(try collection.count(.everything) == 500, "the connection is usable after an early close")
    }
}
