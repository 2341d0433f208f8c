import Foundation
import Testing

@testable import DocumentStore

/// A tracked collection's changes, read by transaction watermark from real PostgreSQL: every insert,
/// merge, replace and delete comes out once, also when transactions commit out of order.
@Suite struct ChangeTrackingTests {
    static func trackedCollection(_ label: String) throws -> DocumentCollection {
        let database = try TestDatabase.make(label: label)
        let collection = database.collection(try CollectionName("events"), tablePrefix: "parlant_sessions_")
        try collection.trackChanges()
        return collection
    }

    static func read(_ collection: DocumentCollection, _ position: inout ChangePosition) throws -> [String] {
        let batch = try collection.changesOperation(since: position.watermark).performBlocking()
        return position.take(batch).map { change in
            "\(change.kind == .upsert ? "upsert" : "delete") \(change.document.id)"
        }
    }

    @Test func everyKindOfWriteComesOutOnceInTransactionOrder() throws {
        let collection = try Self.trackedCollection("changes")
        try collection.trackChanges()  // idempotent
        var position = ChangePosition(watermark: try collection.watermarkOperation().performBlocking())
        #expect(try Self.read(collection, &position).isEmpty)

        _ = try collection.insert(.of(#"{"id": "a", "n": 1}"#))
        _ = try collection.insertMany([.of(#"{"id": "b"}"#), .of(#"{"id": "c"}"#)])
        #expect(try Self.read(collection, &position) == ["upsert a", "upsert b", "upsert c"])
        #expect(try Self.read(collection, &position).isEmpty, "a change came out twice")

        _ = try collection.merge(id: "a", patch: .of(#"{"n": 2}"#))
        _ = try collection.delete(id: "b")
        _ = try collection.quarantine(ids: ["c"], reason: "test")
        let changes = try collection.changesOperation(since: position.watermark).performBlocking()
        let fresh = position.take(changes)
        #expect(fresh.map(\.document.id) == ["a", "b", "c"])
        #expect(fresh.map(\.kind) == [.upsert, .delete, .delete])
        #expect(try fresh[0].document.value()["n"] == .number("2"), "the merge's change holds the merged document")
        #expect(try fresh[1].document.value()["id"] == .string("b"), "a deletion holds the deleted document")
        #expect(fresh[1].document.creationUTC != nil)
    }

    @Test func aTransactionThatCommitsLateIsNotSkipped() throws {
        let collection = try Self.trackedCollection("late")
        var position = ChangePosition(watermark: try collection.watermarkOperation().performBlocking())
        let table = "\"\(collection.database.schema.name)\".\"\(collection.tableName)\""

        // A transaction writes first and commits last.
        let late = try PostgresConnection(conninfo: TestDatabase.url, connectTimeoutSeconds: 5, usesPreparedStatements: false)
        try late.execute("BEGIN")
        try late.execute(
            "INSERT INTO \(table) (id, creation_utc, data) VALUES ('late', '2025-01-01T00:00:00+00:00', "
                + #"'{"id": "late", "creation_utc": "2025-01-01T00:00:00+00:00"}')"#)
        _ = try collection.insert(.of(#"{"id": "early"}"#))
        #expect(try Self.read(collection, &position) == ["upsert early"])
        try late.execute("COMMIT")
        #expect(try Self.read(collection, &position) == ["upsert late"], "the late commit was skipped or early repeated")
        #expect(try Self.read(collection, &position).isEmpty)
    }

    @Test func deletionsAreForgottenAfterADay() throws {
        let collection = try Self.trackedCollection("prune")
        _ = try collection.insertMany([.of(#"{"id": "old"}"#), .of(#"{"id": "new"}"#)])
        _ = try collection.delete(id: "old")
        _ = try collection.delete(id: "new")
        let deletions = "\"\(collection.database.schema.name)\".\"\(collection.tableName)_deletions\""
        try TestDatabase.sql("UPDATE \(unsafeSQL: deletions) SET deleted_at = now() - interval '25 hours' WHERE id = 'old'")
        #expect(try collection.pruneDeletions() == 1)
        #expect(try TestDatabase.sql("SELECT id FROM \(unsafeSQL: deletions)").map { $0.first ?? nil } == ["new"])
    }

    @Test func onlyWatchedCollectionsCarryTheTriggers() throws {
        let database = try TestDatabase.make(label: "untracked")
        let plain = database.collection(try CollectionName("customers"), tablePrefix: "parlant_customers_")
        _ = try plain.insert(.of(#"{"id": "x"}"#))
        let triggers = try TestDatabase.sql(
            "SELECT count(*) FROM pg_trigger WHERE tgrelid = to_regclass(\(bind: "\"\(database.schema.name)\".\"\(plain.tableName)\""))")
        #expect(triggers.first?.first == "0")
        try plain.trackChanges()
        let tracked = try TestDatabase.sql(
            "SELECT count(*) FROM pg_trigger WHERE tgrelid = to_regclass(\(bind: "\"\(database.schema.name)\".\"\(plain.tableName)\""))")
        #expect(tracked.first?.first == "3")
        // The deletions table is closed to the Data API's roles like the collection's own tables.
        let security = try TestDatabase.sql(
            """
            SELECT relrowsecurity FROM pg_class \
            WHERE oid = to_regclass(\(bind: "\"\(database.schema.name)\".\"\(plain.tableName)_deletions\""))
            """)
        #expect(security.first?.first == "t")
        try plain.drop()
        let left = try TestDatabase.sql(
            "SELECT to_regclass(\(bind: "\"\(database.schema.name)\".\"\(plain.tableName)_deletions\"")) IS NULL")
        #expect(left.first?.first == "t", "drop left the deletions table")
    }
}
