import Foundation
import TestSupport
import Testing

@testable import DocumentService
@testable import DocumentStore

#if canImport(Glibc)
    import Glibc
#endif

/// Faults under load (issue 5, points 1 to 3): PostgreSQL restarted under steady writes, the service killed
/// with SIGKILL under writes, and many clients merging into one document at once.
@Suite(.serialized) struct FaultTests {
    // MARK: 1. PostgreSQL restarted under a steady write load

    @Test func postgresRestartUnderWriteLoadGives503ThenRecoversAndKeepsEveryAcknowledgedWrite() throws {
        let url = try PrivatePostgres.run("pg-start.sh")
        defer { _ = try? PrivatePostgres.run("pg-stop.sh") }
        try #require(url.hasPrefix("postgresql://"), "pg-start.sh printed '\(url)'")
        try #require(url != TestPostgres.url, "the private instance is the shared one")
        let schema = TestPostgres.uniqueSchema("fault")
        defer { _ = try? PrivatePostgres.sql(url, "DROP SCHEMA IF EXISTS \(unsafeSQL: "\"\(schema)\"") CASCADE") }
        let (service, port) = try ServiceProcess.serve(
            schema: schema,
            extra: [
                "DATABASE_URL": url, "DB_CONNECT_TIMEOUT": "1", "DB_POOL_TIMEOUT_MS": "1000", "DB_POOL_SIZE": "8",
            ])
        defer {
            if service.isRunning { service.signal(SIGKILL) }
            _ = service.waitForExit()
        }
        let created = try HTTPClient(port: port).call("PUT", "/sessions/writes")
        try #require(created.status == 201, "\(created.text)")

        let log = WriteLog()
        let stop = Flag()
        let writers = Writers.start(count: 6) { writer in
            let client = HTTPClient(port: port)
            var sequence = 0
            while !stop.isSet {
                let id = "w\(writer)-\(sequence)"
                let body = RouteCheck.json([
                    "id": id, "writer": writer, "seq": sequence, "customer_id": "c\(writer)",
                    "payload": ["text": "héllo ✓ \(sequence)", "list": [1, 2.5, true, NSNull(), "x"] as [Any]],
                ])
                sequence += 1
                do {
                    let response = try client.call("POST", "/sessions/writes", json: body)
                    log.record(id: id, sent: body, response: response)
                } catch {
                    log.recordFailure("\(id): \(error)")
                    usleep(50_000)
                }
                usleep(5_000)
            }
        }
        defer {
            stop.set()
            _ = writers.wait(timeout: 150)
        }

        try #require(log.waitForSuccesses(30, after: .distantPast), "no steady writes before the restart")
        let restartStarted = Date()
        let restarted = try PrivatePostgres.run("pg-restart.sh", ["--down-seconds", "2"])
        let restartFinished = Date()
        #expect(restarted == url, "pg-restart.sh printed '\(restarted)'")
        let resumed = log.waitForSuccesses(30, after: restartFinished)
        stop.set()
        #expect(writers.wait(timeout: 150), "a writer hung")

        let outcomes = log.outcomes
        #expect(resumed, "writes did not resume after the restart without restarting the service")
        #expect(service.isRunning, "the service died: \(service.output.suffix(2000))")
        #expect(log.failures.isEmpty, "requests without an answer: \(log.failures.prefix(10))")
        let unexpected = outcomes.filter { $0.status != 201 && $0.status != 503 }
        #expect(unexpected.isEmpty, "statuses other than 201 and 503: \(unexpected.prefix(10).map(\.summary))")
        let unavailable = outcomes.filter { $0.status == 503 }
        #expect(!unavailable.isEmpty, "no 503 while PostgreSQL was down (\(outcomes.count) writes)")
        for outcome in unavailable {
            #expect(outcome.code == "database_unavailable", "\(outcome.summary)")
            #expect(
                outcome.retryAfter.flatMap(Int.init).map { $0 > 0 } == true,
                "503 without Retry-After: \(outcome.summary)")
            #expect(outcome.hasErrorShape, "\(outcome.summary)")
        }
        let early = unavailable.filter { $0.time < restartStarted }
        #expect(early.isEmpty, "503s before PostgreSQL went down: \(early.prefix(5).map(\.summary))")
        let ready = try HTTPClient(port: port).call("GET", "/readyz", key: nil)
        #expect(ready.status == 200, "\(ready.text)")

        // Every acknowledged insert is stored with exactly the body acknowledged (and sent).
        let stored = try PrivatePostgres.documents(url, schema: schema, table: "parlant_sessions_writes")
        let acknowledged = outcomes.filter { $0.status == 201 }
        #expect(acknowledged.count >= 60)
        let attempted = Set(outcomes.map(\.id))
        for outcome in acknowledged {
            guard let row = stored[outcome.id] else {
                Issue.record("acknowledged write \(outcome.id) is not in the database")
                continue
            }
            #expect(
                RouteCheck.equal(row, outcome.responseJSON),
                "\(outcome.id): stored \(row), acknowledged \(outcome.body)")
            let sent = RouteCheck.parse(outcome.sent) as? [String: Any] ?? [:]
            for (key, value) in sent {
                #expect(
                    RouteCheck.equal((row as? [String: Any])?[key], value),
                    "\(outcome.id).\(key) differs from what was sent")
            }
        }
        let strangers = Set(stored.keys).subtracting(attempted)
        #expect(strangers.isEmpty, "rows nobody wrote: \(strangers.prefix(5))")
        print(
            "fault restart: \(outcomes.count) writes, \(acknowledged.count) acknowledged, \(unavailable.count) got 503, "
                + "restart took \(String(format: "%.1f", restartFinished.timeIntervalSince(restartStarted))) s")
    }

    // MARK: 2. The service killed with SIGKILL under write load

    /// A watcher's stream lives in the service, not in PostgreSQL: across a restart it stays open, and a
    /// write made right after it, whose notification nobody could hear, still reaches it.
    @Test func aWatcherMissesNothingAcrossAPostgresRestart() throws {
        let url = try PrivatePostgres.run("pg-start.sh")
        defer { _ = try? PrivatePostgres.run("pg-stop.sh") }
        let schema = TestPostgres.uniqueSchema("feed")
        defer { _ = try? PrivatePostgres.sql(url, "DROP SCHEMA IF EXISTS \(unsafeSQL: "\"\(schema)\"") CASCADE") }
        let (service, port) = try ServiceProcess.serve(
            schema: schema, extra: ["DATABASE_URL": url, "DB_CONNECT_TIMEOUT": "1", "DB_POOL_TIMEOUT_MS": "1000"])
        defer {
            if service.isRunning { service.signal(SIGKILL) }
            _ = service.waitForExit()
        }
        let client = HTTPClient(port: port)
        #expect(try client.call("POST", "/sessions/events", json: #"{"id": "w1"}"#).status == 201)
        let stream = try EventStream(port: port, target: "/sessions/events:watch")
        defer { stream.close() }
        #expect(stream.next()?.description == "upsert w1")

        _ = try PrivatePostgres.run("pg-restart.sh", ["--down-seconds", "2"])
        // Written straight after the restart, before the service listens again.
        try PrivatePostgres.sql(
            url,
            """
            INSERT INTO \(unsafeSQL: "\"\(schema)\".parlant_sessions_events") (id, creation_utc, data) \
            VALUES ('w2', '2030-01-01T00:00:00+00:00', '{"id": "w2", "creation_utc": "2030-01-01T00:00:00+00:00"}')
            """)
        #expect(stream.next(timeout: 20)?.description == "upsert w2", "the write made during the outage")
        var status = 0
        for _ in 0..<100 where status != 201 {
            status = (try? client.call("POST", "/sessions/events", json: #"{"id": "w3"}"#).status) ?? 0
            if status != 201 { usleep(100_000) }
        }
        #expect(status == 201)
        #expect(stream.next(timeout: 20)?.description == "upsert w3", "a write through the service after it")
    }

    @Test func sigkillUnderWriteLoadLosesNoAcknowledgedWriteAndHalfWritesNothing() throws {
        let schema = TestPostgres.uniqueSchema("kill")
        defer { DocstoreCommand.dropSchema(schema) }
        let (first, port) = try ServiceProcess.serve(schema: schema)
        defer { if first.isRunning { first.signal(SIGKILL) } }
        let created = try HTTPClient(port: port).call("PUT", "/sessions/crash")
        try #require(created.status == 201, "\(created.text)")

        let killed = Flag()
        let states = (0..<6).map { _ in CrashWriter() }
        let writers = Writers.start(count: states.count) { writer in
            states[writer].run(writer: writer, port: port, killed: killed)
        }
        defer { _ = writers.wait(timeout: 150) }
        let deadline = Date().addingTimeInterval(30)
        while states.map(\.acknowledgedCount).reduce(0, +) < 500 && Date() < deadline { usleep(10_000) }
        killed.set()
        first.signal(SIGKILL)
        #expect(first.waitForExit() != nil, "docstore survived SIGKILL")
        #expect(writers.wait(timeout: 150), "a writer hung after the kill")
        for state in states {
            #expect(state.problems.isEmpty, "\(state.problems.prefix(5))")
        }
        let total = states.map(\.acknowledgedCount).reduce(0, +)
        #expect(total >= 300, "only \(total) documents were acknowledged before the kill")
        let inFlight = states.compactMap(\.snapshot.pending).count
        print("fault kill: \(total) documents acknowledged, \(inFlight) writes in flight at the kill")

        let (second, secondPort) = try ServiceProcess.serve(schema: schema)
        defer {
            if second.isRunning { second.signal(SIGTERM) }
            _ = second.waitForExit()
        }
        let table = "\"\(schema)\".\"parlant_sessions_crash\""
        let stored = try PrivatePostgres.documents(TestPostgres.url, schema: schema, table: "parlant_sessions_crash")
        var expected: Set<String> = []
        for state in states {
            let (acknowledged, pending) = state.snapshot
            for (id, document) in acknowledged where id != pending?.id {
                expected.insert(id)
                #expect(
                    RouteCheck.equal(stored[id], document),
                    "\(id): stored \(stored[id].map(RouteCheck.json) ?? "nothing"), acknowledged \(RouteCheck.json(document))"
                )
            }
            if let pending {
                // The write in flight at the kill: either wholly there or wholly not.
                expected.insert(pending.id)
                let matches = pending.outcomes.contains { RouteCheck.equal(stored[pending.id], $0) }
                let now = stored[pending.id].map(RouteCheck.json) ?? "absent"
                let allowed = pending.outcomes.map { $0.map(RouteCheck.json) ?? "absent" }
                #expect(matches, "\(pending.id) in flight at the kill is \(now), neither of \(allowed)")
            }
        }
        let strangers = Set(stored.keys).subtracting(expected)
        #expect(strangers.isEmpty, "rows nobody wrote: \(strangers.prefix(5))")
        // No row is half-written: every column equals its top-level field in data.
        let torn = try TestPostgres.sql(
            """
            SELECT id FROM \(unsafeSQL: table) WHERE id IS DISTINCT FROM data ->> 'id' \
            OR version IS DISTINCT FROM data ->> 'version' OR creation_utc IS DISTINCT FROM data ->> 'creation_utc' \
            OR session_id IS DISTINCT FROM data ->> 'session_id' OR customer_id IS DISTINCT FROM data ->> 'customer_id' \
            OR agent_id IS DISTINCT FROM data ->> 'agent_id' OR data ->> 'seq' IS NULL OR data -> 'body' IS NULL
            """)
        #expect(torn.isEmpty, "rows whose columns disagree with data: \(torn.prefix(5))")

        // The new process serves them.
        let client = HTTPClient(port: secondPort)
        let everything = try client.call("GET", "/sessions/crash")
        #expect(everything.status == 200, "\(everything.text.prefix(500))")
        let items = (everything.object["items"] as? [[String: Any]]) ?? []
        #expect(items.count == stored.count)
        for item in items {
            let id = item["id"] as? String ?? ""
            #expect(RouteCheck.equal(item, stored[id]), "\(id) served differently from what is stored")
        }
        for state in states {
            for (id, document) in state.snapshot.acknowledged.prefix(3) where id != state.snapshot.pending?.id {
                let one = try client.call("GET", "/sessions/crash/\(id)")
                #expect(one.status == 200 && RouteCheck.equal(one.json, document), "GET \(id): \(one.text)")
            }
        }
    }

    // MARK: 3. Many clients merging different fields into one document at once

    @Test func concurrentMergesIntoOneDocumentLoseNoField() throws {
        let service = TestService.shared
        let collection = TestService.uniqueCollection("merge")
        let created = try service.client().call("PUT", "/sessions/\(collection)/doc", json: #"{"base": true}"#)
        try #require(created.status == 201, "\(created.text)")
        let clients = 64
        let gate = Gate()
        let problems = ConcurrentResults()
        let threads = Writers.start(count: clients) { index in
            let client = service.client()
            do {
                // Connect before the gate, so the requests race on the document, not on connecting.
                _ = try client.call("GET", "/healthz", key: nil)
                gate.wait()
                let patch = {
                    let response = try client.call(
                        "PATCH", "/sessions/\(collection)/doc", json: #"{"p\#(index)": \#(index)}"#)
                    if response.status != 200 {
                        problems.append("PATCH p\(index): \(response.status) \(response.text)")
                    }
                }
                let update = {
                    let response = try client.call(
                        "POST", "/sessions/\(collection):updateOne",
                        json: #"{"where": {"id": "doc"}, "params": {"u\#(index)": \#(index)}}"#)
                    if response.status != 200 || response.object["matched_count"] as? Int != 1 {
                        problems.append("updateOne u\(index): \(response.status) \(response.text)")
                    }
                }
                if index.isMultiple(of: 2) {
                    try patch()
                    try update()
                } else {
                    try update()
                    try patch()
                }
            } catch {
                problems.append("client \(index): \(error)")
            }
        }
        gate.open()
        #expect(threads.wait(timeout: 120), "the merges did not finish")
        #expect(problems.all.isEmpty, "\(problems.all.prefix(10))")
        let document = try service.client().call("GET", "/sessions/\(collection)/doc")
        #expect(document.status == 200)
        let fields = document.object
        var missing: [String] = []
        for index in 0..<clients {
            if fields["p\(index)"] as? Int != index { missing.append("p\(index)") }
            if fields["u\(index)"] as? Int != index { missing.append("u\(index)") }
        }
        #expect(missing.isEmpty, "lost fields: \(missing)")
        #expect(RouteCheck.isBool(fields["base"]) && fields["base"] as? Bool == true)
        #expect(fields.count == 2 * clients + 3, "fields: \(fields.keys.sorted())")
    }
}

// MARK: - The private PostgreSQL

/// A PostgreSQL of this suite's own (`PG_INSTANCE=fault`: `.data/postgres-fault`), which it may stop and
/// restart without disturbing the shared one the other suites use.
enum PrivatePostgres {
    static let instance = "fault"

    /// Runs `scripts/<script> arguments...` for the private instance and returns its standard output.
    static func run(_ script: String, _ arguments: [String] = [], timeout: Double = 180) throws -> String {
        try RepositoryScript.run(script, arguments, environment: ["PG_INSTANCE": instance], timeout: timeout)
    }

    @discardableResult
    static func sql(_ url: String, _ query: SQLQuery) throws -> [[String?]] {
        let connection = try PostgresConnection(conninfo: url, connectTimeoutSeconds: 5, usesPreparedStatements: false)
        return try connection.query(query).rows
    }

    /// Every document of a table, by id, parsed with Foundation.
    static func documents(_ url: String, schema: String, table: String) throws -> [String: Any] {
        let rows = try sql(url, "SELECT id, data::text FROM \(unsafeSQL: "\"\(schema)\".\"\(table)\"")")
        var documents: [String: Any] = [:]
        for row in rows {
            guard let id = row[0], let data = row[1] else { continue }
            documents[id] = RouteCheck.parse(data) ?? data
        }
        return documents
    }
}

// MARK: - Load helpers

/// A flag set once, read from many threads.
final class Flag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false

    var isSet: Bool { lock.withLock { value } }

    func set() {
        lock.withLock { value = true }
    }
}

/// A start line that threads wait at until it opens.
final class Gate: @unchecked Sendable {
    private let condition = NSCondition()
    private var isOpen = false

    func wait() {
        condition.lock()
        while !isOpen { condition.wait() }
        condition.unlock()
    }

    func open() {
        condition.lock()
        isOpen = true
        condition.broadcast()
        condition.unlock()
    }
}

/// Threads of their own (not a shared pool, since every one blocks on sockets), each running `body(index)`.
struct Writers {
    private let group: DispatchGroup

    static func start(count: Int, _ body: @escaping @Sendable (Int) -> Void) -> Writers {
        let group = DispatchGroup()
        for index in 0..<count {
            group.enter()
            let thread = Thread {
                body(index)
                group.leave()
            }
            thread.start()
        }
        return Writers(group: group)
    }

    /// Whether every thread finished within `timeout` seconds.
    func wait(timeout: Double) -> Bool {
        group.wait(timeout: .now() + timeout) == .success
    }
}

/// What every write of the restart test got.
final class WriteLog: @unchecked Sendable {
    struct Outcome {
        let id: String
        let sent: String
        let status: Int
        let code: String?
        let retryAfter: String?
        let hasErrorShape: Bool
        let body: String
        let time: Date

        var responseJSON: Any? { RouteCheck.parse(body) }
        var summary: String { "\(id) \(status) Retry-After=\(retryAfter ?? "none") \(body.prefix(200))" }
    }

    private let lock = NSLock()
    private var recorded: [Outcome] = []
    private var problems: [String] = []

    func record(id: String, sent: String, response: HTTPClient.Response) {
        let error = response.object["error"] as? [String: Any]
        let outcome = Outcome(
            id: id,
            sent: sent,
            status: response.status,
            code: response.errorCode,
            retryAfter: response.header("Retry-After"),
            hasErrorShape: response.header("Content-Type")?.hasPrefix("application/json") == true
                && Set(response.object.keys) == ["error"] && error.map { Set($0.keys) } == ["code", "message", "request_id"],
            body: response.text,
            time: Date()
        )
        lock.withLock { recorded.append(outcome) }
    }

    func recordFailure(_ description: String) {
        lock.withLock { problems.append(description) }
    }

    var outcomes: [Outcome] { lock.withLock { recorded } }
    var failures: [String] { lock.withLock { problems } }

    /// Waits (up to 30 s) until `count` writes got 201 after `start`.
    func waitForSuccesses(_ count: Int, after start: Date) -> Bool {
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if outcomes.lazy.filter({ $0.status == 201 && $0.time > start }).count >= count { return true }
            usleep(20_000)
        }
        return false
    }
}

/// One writer of the SIGKILL test: inserts documents of its own and merges into them, remembering what
/// each acknowledged write returned and which write was in flight when the service died.
final class CrashWriter: @unchecked Sendable {
    /// A write sent but not answered: its id and what the document may be now (nil: absent).
    struct Pending {
        let id: String
        let outcomes: [[String: Any]?]
    }

    private let lock = NSLock()
    private var acknowledged: [String: [String: Any]] = [:]
    private var order: [String] = []
    private var pending: Pending?
    private var issues: [String] = []

    var acknowledgedCount: Int { lock.withLock { acknowledged.count } }
    var problems: [String] { lock.withLock { issues } }
    var snapshot: (acknowledged: [String: [String: Any]], pending: Pending?) {
        lock.withLock { (acknowledged, pending) }
    }

    func run(writer: Int, port: Int, killed: Flag) {
        let client = HTTPClient(port: port)
        var sequence = 0
        while true {
            sequence += 1
            let (ids, current) = lock.withLock { (order, acknowledged) }
            let method: String
            let target: String
            let sent: [String: Any]
            let id: String
            let after: [String: Any]
            if !ids.isEmpty && sequence % 3 == 0 {
                id = ids[(sequence * 7) % ids.count]
                method = "PATCH"
                target = "/sessions/crash/\(id)"
                sent = [
                    "seq": sequence, "session_id": "s\(writer)-patched-\(sequence)", "agent_id": sequence,
                    "body": ["patched": sequence, "deep": ["a": ["b": [sequence, "ü", false]]]],
                ]
                after = (current[id] ?? [:]).merging(sent) { _, new in new }
            } else {
                id = "k\(writer)-\(sequence)"
                method = "POST"
                target = "/sessions/crash"
                var document: [String: Any] = [
                    "id": id, "creation_utc": "2024-05-01T12:00:00.\(String(format: "%06d", sequence))+00:00",
                    "customer_id": "c\(writer)", "session_id": "s\(writer)-\(sequence)", "version": "0.\(writer)",
                    "seq": sequence,
                    "body": [
                        "text": "héllo ✓ \(sequence)", "list": [1, 2.5, true, NSNull(), "x"] as [Any],
                        "deep": ["a": ["b": sequence]],
                    ],
                ]
                if sequence.isMultiple(of: 2) { document["agent_id"] = "a\(writer)" }
                sent = document
                after = document
            }
            lock.withLock { pending = Pending(id: id, outcomes: [current[id], after]) }
            let response: HTTPClient.Response
            do {
                response = try client.call(method, target, json: RouteCheck.json(sent))
            } catch {
                if !killed.isSet { lock.withLock { issues.append("\(method) \(id) failed before the kill: \(error)") } }
                return
            }
            guard (200..<300).contains(response.status), let stored = response.json as? [String: Any] else {
                // Refused: nothing was written.
                lock.withLock {
                    pending = nil
                    if !killed.isSet { issues.append("\(method) \(id): \(response.status) \(response.text)") }
                }
                if killed.isSet { return }
                continue
            }
            lock.withLock {
                if !RouteCheck.equal(stored, after) {
                    issues.append(
                        "\(method) \(id) answered \(RouteCheck.json(stored)), expected \(RouteCheck.json(after))")
                }
                if acknowledged[id] == nil { order.append(id) }
                acknowledged[id] = stored
                pending = nil
            }
            if killed.isSet { return }
        }
    }
}
