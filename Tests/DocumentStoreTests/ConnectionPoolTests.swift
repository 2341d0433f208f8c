import Foundation
import Testing

@testable import DocumentStore

@Suite("Connection pool")
struct ConnectionPoolTests {
    @Test("a caller gives up after the pool timeout with database_unavailable")
    func exhaustion() throws {
        let database = try TestDatabase.make(label: "pool", poolSize: 1, poolTimeout: .milliseconds(300))
        let held = try database.pool.lease()
        let started = Date()
        #expect(errorCode { _ = try database.ping() } == "database_unavailable")
        let waited = Date().timeIntervalSince(started)
        #expect(waited >= 0.25)
        database.pool.release(held)
        #expect(try !database.ping().isEmpty, "the pool serves again once the connection is back")
    }

    @Test("connections killed by the server are replaced without a failed request")
    func recovery() throws {
        let name = "pooltest_\(UUID().uuidString.prefix(8).lowercased())"
        let url = TestDatabase.url + "?application_name=\(name)"
        let database = try TestDatabase.make(label: "recover", url: url, poolSize: 4)
        let collection = database.collection(try CollectionName("sessions"), tablePrefix: "parlant_sessions_")
        _ = try collection.insert(.of(#"{"id": "before"}"#))
        DispatchQueue.concurrentPerform(iterations: 4) { _ in _ = try? collection.count(.everything) }
        let killed = try TestDatabase.sql(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = \(bind: name)"
        )
        #expect(Int(killed.first?.first.flatMap { $0 } ?? "0") ?? 0 >= 1)
        Thread.sleep(forTimeInterval: 0.2)
        for index in 0..<8 {
            _ = try collection.insert(.of(#"{"id": "after\#(index)"}"#))
        }
        #expect(try collection.count(.everything) == 9)
        #expect(database.pool.openConnections <= 4)
    }

    @Test("an unreachable server is database_unavailable, not a crash")
    func unreachable() throws {
        let database = try DocumentDatabase(
            settings: DatabaseSettings(conninfo: "postgresql://postgres@127.0.0.1:1/postgres", connectTimeoutSeconds: 2)
        )
        let collection = database.collection(try CollectionName("x"), tablePrefix: "p_")
        #expect(errorCode { _ = try collection.find(FindQuery()) } == "database_unavailable")
    }

    @Test("prepared statements only when enabled; both modes do every operation", arguments: [false, true])
    func preparedStatements(enabled: Bool) throws {
        let database = try TestDatabase.make(label: "prep", poolSize: 1, preparedStatements: enabled)
        let collection = database.collection(try CollectionName("sessions"), tablePrefix: "parlant_sessions_")
        _ = try collection.insert(.of(#"{"id": "a", "n": 1}"#))
        _ = try collection.replace(id: "a", with: .of(#"{"n": 2}"#))
        _ = try collection.merge(id: "a", patch: .of(#"{"m": 3}"#))
        #expect(try collection.get(id: "a")?.value()["m"] == .number("3"))
        let prepared = try database.pool.withConnection { connection in
            try connection.query("SELECT count(*) FROM pg_prepared_statements").rows.first?.first ?? nil
        }
        #expect((prepared != "0") == enabled, "prepared statements in the session: \(prepared ?? "none")")
    }

    @Test("a statement longer than the prepared-text bound runs unnamed: its plan is not kept")
    func longStatementsAreNotPrepared() throws {
        let database = try TestDatabase.make(label: "prep_long", poolSize: 1, preparedStatements: true)
        let collection = database.collection(try CollectionName("sessions"), tablePrefix: "parlant_sessions_")
        _ = try collection.insert(.of(#"{"id": "a"}"#))
        let preparedTexts = {
            try database.pool.withConnection { connection in
                try connection.query("SELECT statement FROM pg_prepared_statements").rows.compactMap { $0.first ?? nil }
            }
        }
        let before = try preparedTexts()
        // 200 conditions over as many fields: a statement text far over the bound.
        let conditions = (0..<200).map { #"{"f\#($0)": {"$eq": "v"}}"# }.joined(separator: ",")
        let wide = try Where.parse(json: #"{"$or": [\#(conditions)]}"#)
        _ = try collection.find(FindQuery(filter: wide, limit: 1))
        _ = try collection.find(FindQuery(filter: try Where.parse(json: #"{"kind": "short"}"#), limit: 1))
        let added = try preparedTexts().filter { !before.contains($0) }
        #expect(added.count == 1, "\(added.count) statements prepared")
        #expect(added.allSatisfy { $0.utf8.count <= SQLQuery.longestPreparedText })
    }
}

/// The code of the `DocumentStoreError` that `body` throws, or nil.
func errorCode(_ body: () throws -> Void) -> String? {
    do {
        try body()
        return nil
    } catch let error as DocumentStoreError {
        return error.code
    } catch {
        return "\(error)"
    }
}
