import Foundation
import Testing

@testable import DocumentStore

/// The LISTEN connection hears committed writes to tracked collections, and after its connection is
/// killed it listens again and says so, so that readers make up for what it could not hear.
@Suite struct ChangeListenerTests {
    final class Heard: @unchecked Sendable {
        // @unchecked: `items` is touched only while `lock` is held.
        private let lock = NSLock()
        private var items: [String] = []

        func append(_ item: String) { lock.withLock { items.append(item) } }
        var all: [String] { lock.withLock { items } }

        /// Waits up to `seconds` until `item` has been heard `count` times.
        func wait(for item: String, count: Int = 1, seconds: Double = 10) -> Bool {
            let deadline = Date().addingTimeInterval(seconds)
            while Date() < deadline {
                if all.filter({ $0 == item }).count >= count { return true }
                usleep(20_000)
            }
            return false
        }
    }

    @Test func aCommittedWriteIsHeardAndABrokenConnectionIsReplaced() throws {
        let database = try TestDatabase.make(label: "listen")
        let collection = database.collection(try CollectionName("events"), tablePrefix: "parlant_sessions_")
        try collection.trackChanges()
        let payload = collection.changeNotificationPayload
        let heard = Heard()
        let listener = ChangeListener(database: database) { heard.append($0 ?? "(listening)") }
        #expect(listener.start())
        defer { listener.stop() }
        #expect(heard.wait(for: "(listening)"), "the listener never started listening")

        // Nothing is heard before the writing transaction commits.
        let writer = try PostgresConnection(conninfo: TestDatabase.url, connectTimeoutSeconds: 5, usesPreparedStatements: false)
        try writer.execute("BEGIN")
        try writer.query("INSERT INTO \(collection.table.name.sql) (id, data) VALUES ('w1', '{\"id\": \"w1\"}')")
        usleep(300_000)
        #expect(!heard.all.contains(payload), "heard before the commit")
        try writer.execute("COMMIT")
        #expect(heard.wait(for: payload), "the commit was not heard: \(heard.all)")

        // Its connection is killed: it listens again and hears the next write.
        let killed = try TestDatabase.sql(
            """
            SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
            WHERE query = 'LISTEN \(unsafeSQL: ChangeTrackingDDL.channel)' AND pid <> pg_backend_pid()
            """)
        #expect(!killed.isEmpty)
        // A write made before the new connection listens is not heard; the listener's "(listening)" tells
        // readers to read it. So keep writing until one is heard: only a new connection can hear it.
        var heardAgain = false
        for attempt in 0..<10 where !heardAgain {
            _ = try collection.insert(.of(#"{"id": "after-kill-\#(attempt)"}"#))
            heardAgain = heard.wait(for: payload, count: 2, seconds: 1)
        }
        #expect(heardAgain, "no write after the kill was heard: \(heard.all)")
    }
}
