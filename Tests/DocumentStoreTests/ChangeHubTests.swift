import Foundation
import Testing

@testable import DocumentStore

/// Watchers of one process share the hub's reads: each gets the committed changes that match its
/// filter, once, and nothing after it cancels.
@Suite struct ChangeHubTests {
    final class Received: @unchecked Sendable {
        // @unchecked: `items` is touched only while `lock` is held.
        private let lock = NSLock()
        private var items: [String] = []

        func append(_ changes: [Change]) {
            lock.withLock { items += changes.map { "\($0.kind == .upsert ? "upsert" : "delete") \($0.document.id)" } }
        }
        var all: [String] { lock.withLock { items } }

        /// Waits up to 10 s until `expected` arrived.
        func wait(for expected: [String]) -> Bool {
            let deadline = Date().addingTimeInterval(10)
            while Date() < deadline && all != expected { usleep(10_000) }
            return all == expected
        }
    }

    @Test func eachWatcherGetsTheMatchingChangesOnce() throws {
        let database = try TestDatabase.make(label: "hub")
        let collection = database.collection(try CollectionName("events"), tablePrefix: "parlant_sessions_")
        let hub = ChangeHub(database: database)
        defer { hub.stop() }
        let (first, second) = (Received(), Received())
        let ended = Received()
        let one = try hub.watch(
            collection, filter: try Where.parse(json: #"{"session_id": "s1"}"#),
            deliver: { changes, _ in first.append(changes) }, end: {})
        _ = try hub.watch(
            collection, filter: try Where.parse(json: #"{"session_id": {"$in": ["s1", "s2"]}}"#),
            deliver: { changes, _ in second.append(changes) },
            end: { ended.append([Change(kind: .delete, document: StoredDocument(json: "{}", id: "end", creationUTC: nil), transaction: 0)]) })
        #expect(hub.watcherCount == 2)

        // One write at a time: changes made between two reads of the hub come in their latest state only.
        _ = try collection.insert(.of(#"{"id": "e1", "session_id": "s1"}"#))
        #expect(first.wait(for: ["upsert e1"]), "\(first.all)")
        #expect(second.wait(for: ["upsert e1"]), "\(second.all)")
        _ = try collection.insertMany([.of(#"{"id": "e2", "session_id": "s2"}"#), .of(#"{"id": "e3", "session_id": "s3"}"#)])
        #expect(second.wait(for: ["upsert e1", "upsert e2"]), "\(second.all)")
        _ = try collection.merge(id: "e1", patch: .of(#"{"done": true}"#))
        #expect(first.wait(for: ["upsert e1", "upsert e1"]), "\(first.all)")
        #expect(second.wait(for: ["upsert e1", "upsert e2", "upsert e1"]), "\(second.all)")
        _ = try collection.delete(id: "e2")
        #expect(second.wait(for: ["upsert e1", "upsert e2", "upsert e1", "delete e2"]), "\(second.all)")
        #expect(first.all == ["upsert e1", "upsert e1"], "\(first.all)")

        hub.cancel(one.subscription)
        #expect(hub.watcherCount == 1)
        _ = try collection.insert(.of(#"{"id": "e4", "session_id": "s1"}"#))
        #expect(second.wait(for: ["upsert e1", "upsert e2", "upsert e1", "delete e2", "upsert e4"]), "\(second.all)")
        #expect(first.all == ["upsert e1", "upsert e1"], "a cancelled watcher still got changes")

        // Stopping the hub ends every watch still open, and no new one starts.
        hub.stop()
        #expect(ended.all == ["delete end"])
        #expect(throws: DocumentStoreError.self) {
            try hub.watch(collection, filter: .everything, deliver: { _, _ in }, end: {})
        }
    }
}
