import Foundation
import TestSupport
import Testing

@testable import DocumentStore

#if canImport(Glibc)
    import Glibc
#endif

/// How the HTTP server treats connections: a slow request never holds up others, idle and surplus
/// connections are closed, keep-alive works, and an oversized body is refused before it is read.
@Suite struct ServerBehaviourTests {
    @Test func oneBlockedRequestNeverStallsUnrelatedClients() throws {
        let service = TestService.shared
        let collection = TestService.uniqueCollection("slow")
        let other = TestService.uniqueCollection("other")
        let client = service.client()
        #expect(
            try client.call("POST", "/sessions/\(collection)", json: #"{"id": "held", "title": "before"}"#).status
                == 201)
        #expect(try client.call("POST", "/sessions/\(other)", json: #"{"id": "known", "n": 1}"#).status == 201)

        let lock = try RowLock(schema: service.schema, table: "parlant_sessions_\(collection)", id: "held")
        defer { lock.release() }
        let blocked = try #require(RawSocket.connect(port: service.port))
        try blocked.send(
            RawSocket.request(
                "PATCH", "/sessions/\(collection)/held", port: service.port,
                json: #"{"title": "after"}"#))
        try #require(
            RowLock.waitUntilBlocked(schema: service.schema, table: "parlant_sessions_\(collection)"),
            "the PATCH never started waiting for the row lock")

        // Many other requests, each on a connection of its own, all at once, while the PATCH waits.
        let outcomes = ConcurrentResults()
        let done = DispatchSemaphore(value: 0)
        let port = service.port
        DispatchQueue.global().async {
            DispatchQueue.concurrentPerform(iterations: 24) { index in
                let client = HTTPClient(port: port)
                let outcome: String
                do {
                    switch index % 4 {
                    case 0:
                        let response = try client.call("GET", "/sessions/\(other)/known")
                        outcome = "get \(response.status)"
                    case 1:
                        let response = try client.call("POST", "/customers/\(other)", json: #"{"index": \#(index)}"#)
                        outcome = "insert \(response.status)"
                    case 2:
                        let response = try client.call("GET", "/sessions/\(other)?limit=5")
                        outcome = "find \(response.status)"
                    default:
                        let response = try client.call("GET", "/healthz", key: nil)
                        outcome = "health \(response.status)"
                    }
                } catch {
                    outcome = "failed: \(error)"
                }
                outcomes.append(outcome)
            }
            done.signal()
        }
        let finished = done.wait(timeout: .now() + 60) == .success
        #expect(finished, "other clients were still waiting after 60 s while one request was blocked")
        if !finished {
            lock.release()
            _ = done.wait(timeout: .now() + 120)
        }
        let results = outcomes.all
        #expect(results.count == 24)
        for result in results {
            #expect(result.hasSuffix(" 200") || result == "insert 201", "\(result)")
        }
        #expect(results.filter { $0 == "insert 201" }.count == 6)

        // The PATCH is still pending: nothing came back on its connection, and it still waits for the lock.
        if finished {
            #expect(!blocked.waitReadable(seconds: 0), "the blocked PATCH answered while the row was locked")
            #expect(RowLock.waitingBackends(schema: service.schema, table: "parlant_sessions_\(collection)") >= 1)
        }

        lock.release()
        let response = try blocked.readResponse(timeout: 60)
        #expect(response.status == 200)
        #expect(response.object["title"] as? String == "after")
        #expect(try client.call("GET", "/customers/\(other)?count=exact").object["total_count"] as? Int == 6)
    }

    /// Reads of one collection that arrive together share a statement (point reads are coalesced): each
    /// still gets its own document, a missing one its own 404, and a repeated id the same document twice.
    @Test func readsArrivingTogetherEachGetTheirOwnDocument() throws {
        let service = TestService.shared
        let first = TestService.uniqueCollection("together")
        let second = TestService.uniqueCollection("together")
        let client = service.client()
        for collection in [first, second] {
            let documents = (0..<40).map { #"{"id": "d\#($0)", "in": "\#(collection)", "n": \#($0)}"# }
            #expect(
                try client.call("POST", "/sessions/\(collection)", json: "[\(documents.joined(separator: ","))]").status
                    == 201)
        }
        // 40 present ids, 8 missing ones, a repeated one, over two collections, all sent before any is read.
        var targets: [(collection: String, id: String)] = []
        for index in 0..<40 { targets.append((index % 2 == 0 ? first : second, "d\(index)")) }
        for index in 0..<8 { targets.append((first, "missing\(index)")) }
        targets.append((second, "d1"))
        targets.append((second, "d1"))
        var sockets: [RawSocket] = []
        for _ in targets {
            sockets.append(try #require(RawSocket.connect(port: service.port)))
        }
        for (socket, target) in zip(sockets, targets) {
            try socket.send(RawSocket.request("GET", "/sessions/\(target.collection)/\(target.id)", port: service.port))
        }
        for (socket, target) in zip(sockets, targets) {
            let response = try socket.readResponse(timeout: 30)
            if target.id.hasPrefix("missing") {
                #expect(response.status == 404, "\(target): \(response.text)")
            } else {
                #expect(response.status == 200, "\(target): \(response.text)")
                #expect(response.object["id"] as? String == target.id)
                #expect(response.object["in"] as? String == target.collection)
            }
        }
    }

    @Test func idleConnectionIsClosedAfterConnectionTimeout() throws {
        let (process, port) = try ServiceProcess.serve(
            schema: TestPostgres.uniqueSchema("idle"), extra: ["CONNECTION_TIMEOUT": "1"])
        let socket = try #require(RawSocket.connect(port: port))
        try socket.send(RawSocket.request("GET", "/healthz", port: port))
        #expect(try socket.readResponse(timeout: 30).status == 200)
        // Idle from now on: the server must hang up by itself. The bound is generous, not a timing test.
        let outcome = socket.receive(timeout: 30)
        #expect(outcome == .closed || outcome == .failed, "idle connection was not closed: \(outcome)")
        process.signal(SIGTERM)
        #expect(process.waitForExit() == 0)
    }

    @Test func aSlowRequestIsNotCutOffByTheIdleConnectionTimeout() throws {
        let schema = TestPostgres.uniqueSchema("slowidle")
        defer { _ = try? TestPostgres.sql("DROP SCHEMA IF EXISTS \(unsafeSQL: "\"\(schema)\"") CASCADE") }
        let (process, port) = try ServiceProcess.serve(schema: schema, extra: ["CONNECTION_TIMEOUT": "1"])
        let client = HTTPClient(port: port)
        #expect(try client.call("POST", "/sessions/sessions", json: #"{"id": "w1"}"#).status == 201)
        let lock = try RowLock(schema: schema, table: "parlant_sessions", id: "w1")
        defer { lock.release() }
        let waiting = try #require(RawSocket.connect(port: port))
        try waiting.send(RawSocket.request("PATCH", "/sessions/sessions/w1", port: port, json: #"{"x": 1}"#))
        try #require(RowLock.waitUntilBlocked(schema: schema, table: "parlant_sessions"))
        // The client waits for its answer well past CONNECTION_TIMEOUT; waiting is not being idle.
        sleep(3)
        lock.release()
        let response = try waiting.readResponse(timeout: 30)
        #expect(response.status == 200)
        #expect(response.object["x"] as? Int == 1)
        process.signal(SIGTERM)
        #expect(process.waitForExit() == 0)
    }

    @Test func connectionLimitRefusesSurplusConnectionsUntilOneCloses() throws {
        let (process, port) = try ServiceProcess.serve(
            schema: TestPostgres.uniqueSchema("limit"),
            extra: ["CONNECTION_LIMIT": "2", "CONNECTION_TIMEOUT": "120"])
        let first = try #require(RawSocket.connect(port: port))
        let second = try #require(RawSocket.connect(port: port))
        for socket in [first, second] {
            try socket.send(RawSocket.request("GET", "/healthz", port: port))
            #expect(try socket.readResponse(timeout: 30).status == 200)
        }

        // A third connection, while two are open, is not served: refused, closed, or left unanswered.
        if let third = RawSocket.connect(port: port) {
            try? third.send(RawSocket.request("GET", "/healthz", port: port))
            let outcome = third.receive(timeout: 3)
            #expect(outcome != .data, "a third connection was served beyond CONNECTION_LIMIT=2: \(third.received)")
            third.close()
        }
        // The two admitted connections still work.
        try second.send(RawSocket.request("GET", "/healthz", port: port))
        #expect(try second.readResponse(timeout: 30).status == 200)

        // Once one closes, a new connection is served (the server may take a moment to notice the close).
        first.close()
        var served = false
        let deadline = Date().addingTimeInterval(20)
        while !served && Date() < deadline {
            if let next = RawSocket.connect(port: port) {
                try? next.send(RawSocket.request("GET", "/healthz", port: port))
                served = (try? next.readResponse(timeout: 2).status) == 200
            }
            if !served { usleep(100_000) }
        }
        #expect(served, "no new connection was served after one of the two closed")
        process.signal(SIGTERM)
        #expect(process.waitForExit() == 0)
    }

    @Test func keepAliveServesSeveralRequestsOnOneConnection() throws {
        let service = TestService.shared
        let collection = TestService.uniqueCollection("keep")
        let socket = try #require(RawSocket.connect(port: service.port))
        let requests = [
            RawSocket.request("GET", "/healthz", port: service.port),
            RawSocket.request("POST", "/sessions/\(collection)", port: service.port, json: #"{"id": "k1"}"#),
            RawSocket.request("GET", "/sessions/\(collection)/k1", port: service.port),
            RawSocket.request(
                "PATCH", "/sessions/\(collection)/k1", port: service.port, json: #"{"a": 1}"#),
            RawSocket.request("GET", "/sessions/\(collection)", port: service.port),
            RawSocket.request("DELETE", "/sessions/\(collection)/k1", port: service.port),
        ]
        var statuses: [Int] = []
        for bytes in requests {
            try socket.send(bytes)
            let response = try socket.readResponse(timeout: 30)
            statuses.append(response.status)
            #expect(response.header("connection")?.lowercased() != "close")
        }
        // `RawSocket` never reconnects, so one socket served all of them.
        #expect(statuses == [200, 201, 200, 200, 200, 200])

        // Two requests sent back to back (pipelined) on the same connection are both answered, in order.
        let pipelined = RawSocket.connect(port: service.port)
        let both = try #require(pipelined)
        try both.send(
            RawSocket.request("GET", "/sessions/\(collection)/k1", port: service.port)
                + RawSocket.request("GET", "/healthz", port: service.port))
        #expect(try both.readResponse(timeout: 30).status == 404)
        #expect(try both.readResponse(timeout: 30).status == 200)
    }

    @Test func oversizedBodyIsRefusedFromContentLengthBeforeItIsSent() throws {
        let service = TestService.shared
        let socket = try #require(RawSocket.connect(port: service.port))
        let head =
            "POST /sessions/\(TestService.uniqueCollection("big")) HTTP/1.1\r\nHost: 127.0.0.1:\(service.port)\r\n"
            + "Authorization: Bearer \(TestService.key)\r\nContent-Type: application/json\r\n"
            + "Content-Length: 100000000\r\n\r\n"
        try socket.send(Array(head.utf8))
        // Not one byte of the body is sent; the answer must come anyway.
        let response = try socket.readResponse(timeout: 30)
        #expect(response.status == 413)
        #expect(response.header("content-type")?.hasPrefix("application/json") == true)
        #expect(response.errorCode == "payload_too_large")
    }

    @Test func aLongFilterInTheURLIsServedAndAnOverlongRequestLineIsRefused() throws {
        let service = TestService.shared
        let collection = TestService.uniqueCollection("longurl")
        let client = service.client()
        let value = String(repeating: "v", count: 6_000)
        #expect(
            try client.call("POST", "/sessions/\(collection)", json: #"{"id": "long", "tag": "\#(value)"}"#).status
                == 201)

        let found = try client.call("GET", "/sessions/\(collection)?tag=eq.\(value)")
        #expect(found.status == 200)
        #expect(found.object["total_count"] as? Int == 1)

        let overlong = try service.client().call("GET", "/sessions/\(collection)?tag=eq.\(value + value)")
        #expect([414, 431].contains(overlong.status), "got \(overlong.status)")
        #expect(try service.client().call("GET", "/healthz", key: nil).status == 200)
    }
}

// MARK: Helpers

/// Results collected from several threads.
final class ConcurrentResults: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [String] = []

    func append(_ item: String) {
        lock.withLock { items.append(item) }
    }

    var all: [String] { lock.withLock { items } }
}

/// A transaction, on a connection of its own, that holds `SELECT ... FOR UPDATE` on one document's row
/// so that a request writing that document blocks until `release()`.
final class RowLock {
    private var connection: PostgresConnection?

    init(schema: String, table: String, id: String) throws {
        let connection = try PostgresConnection(
            conninfo: TestPostgres.url, connectTimeoutSeconds: 5, usesPreparedStatements: false)
        try connection.execute("BEGIN")
        let rows = try connection.query(
            "SELECT id FROM \(unsafeSQL: "\"\(schema)\".\"\(table)\"") WHERE id = \(bind: id) FOR UPDATE"
        ).rows
        guard rows.count == 1 else { throw HTTPClient.Failure(description: "no row \(id) in \(schema).\(table)") }
        self.connection = connection
    }

    /// Ends the transaction (idempotent).
    func release() {
        if let connection { try? connection.execute("ROLLBACK") }
        connection = nil
    }

    deinit {
        release()
    }

    /// How many of the service's database sessions are waiting for a lock in a statement on `table`.
    static func waitingBackends(schema: String, table: String) -> Int {
        let rows = try? TestPostgres.sql(
            """
            SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' \
            AND application_name = 'parlant-docstore' AND position(\(bind: schema) in query) > 0 \
            AND position(\(bind: table) in query) > 0
            """)
        return rows?.first?.first.flatMap { $0 }.flatMap { Int($0) } ?? 0
    }

    /// Waits (up to `timeout` seconds) until a service session waits for a lock on `table`.
    static func waitUntilBlocked(schema: String, table: String, timeout: Double = 30) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if waitingBackends(schema: schema, table: table) > 0 { return true }
            usleep(50_000)
        }
        return false
    }
}
