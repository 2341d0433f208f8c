import Foundation
import TestSupport
import Testing

@testable import DocumentService
@testable import DocumentStore

/// Database links that survive real networks (SPEC section 7b): statement and lock deadlines, a link gone
/// silent, PostgreSQL down, over real sockets, through a relay the tests can freeze and stop.
@Suite(.serialized) struct DatabaseLinkTests {
    /// A service with short deadlines, reaching PostgreSQL at `url`.
    static func service(
        _ label: String,
        url: String = TestPostgres.url,
        statementTimeout: Duration = .seconds(2),
        lockTimeout: Duration = .milliseconds(300),
        serverTimeouts: Bool = true,
        connectionsPerLoop: Int = 8
    ) throws -> TestService {
        try TestService(label: label, url: url, connectionsPerLoop: connectionsPerLoop, eventLoops: 1) { settings in
            settings.statementTimeout = statementTimeout
            settings.lockTimeout = lockTimeout
            settings.sendsServerTimeouts = serverTimeouts
            settings.connectTimeoutSeconds = 2
        }
    }

    /// A collection holding `doc1` and `doc2`, and its table's name. Its tables are made beforehand, as by
    /// `docstore schema`, on a connection of the test's: under a loaded machine, DDL may take longer than
    /// these services' short deadlines.
    static func collection(in service: TestService) throws -> (path: String, table: String) {
        let client = service.client()
        let name = TestService.uniqueCollection("link")
        let collection = try CollectionName(name)
        let prefix = Store.sessions.defaultTablePrefix
        let connection = try PostgresConnection(
            conninfo: TestPostgres.url, connectTimeoutSeconds: 5, usesPreparedStatements: false)
        try connection.execute(
            "CREATE SCHEMA IF NOT EXISTS \"\(service.schema)\"; "
                + service.database.schemaScript(for: collection, tablePrefix: prefix))
        let table = service.database.collection(collection, tablePrefix: prefix).names.table.name
        for id in ["doc1", "doc2"] {
            #expect(try client.call("POST", "/sessions/\(name)", json: #"{"id": "\#(id)"}"#).status == 201)
        }
        return ("/sessions/\(name)", table)
    }

    static func seconds(_ body: () throws -> Void) rethrows -> Double {
        let started = ContinuousClock.now
        try body()
        let (seconds, attoseconds) = (ContinuousClock.now - started).components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    @Test func aLockWaitPastDBLockTimeoutGets503AndTheConnectionServesOn() throws {
        let service = try Self.service("lock_timeout")
        defer { service.application.stop() }
        let (path, table) = try Self.collection(in: service)
        let client = service.client()
        let lock = try RowLock(schema: service.schema, table: table, id: "doc1")
        var refused: HTTPClient.Response?
        let waited = try Self.seconds {
            refused = try client.call("PATCH", "\(path)/doc1", json: #"{"seen": true}"#)
        }
        #expect(refused?.status == 503)
        #expect(refused?.header("Retry-After") != nil)
        #expect(refused?.errorCode == "database_unavailable")
        #expect(refused?.errorMessage?.contains("DB_LOCK_TIMEOUT_MS") == true, "\(refused?.errorMessage ?? "")")
        #expect(waited < 1.5, "answered after \(waited) s; DB_LOCK_TIMEOUT_MS is 0.3 s")
        // The same loop connection serves the next request.
        #expect(try client.call("PATCH", "\(path)/doc2", json: #"{"seen": true}"#).status == 200)
        lock.release()
        #expect(try client.call("PATCH", "\(path)/doc1", json: #"{"seen": true}"#).status == 200)
    }

    @Test(arguments: ["loop", "worker"])
    func withoutServerTimeoutsTheServiceGivesUpAtItsDeadline(_ path: String) throws {
        // As behind a transaction pooler: PostgreSQL knows no timeout, the service's own deadline holds.
        let service = try Self.service("deadline_\(path)", statementTimeout: .milliseconds(500), serverTimeouts: false)
        defer { service.application.stop() }
        let (collection, table) = try Self.collection(in: service)
        let client = service.client()
        let lock = try RowLock(schema: service.schema, table: table, id: "doc1")
        var refused: HTTPClient.Response?
        let waited = try Self.seconds {
            refused =
                path == "loop"
                ? try client.call("PATCH", "\(collection)/doc1", json: #"{"seen": true}"#)
                // An upsert runs on a worker's blocking connection.
                : try client.call(
                    "POST", "\(collection):updateOne",
                    json: #"{"where": {"id": "doc1"}, "params": {"seen": true}, "upsert": true}"#)
        }
        #expect(refused?.status == 503, "\(refused?.text ?? "")")
        #expect(refused?.errorCode == "database_unavailable")
        #expect(waited < 2.5, "answered after \(waited) s; DB_STATEMENT_TIMEOUT_MS is 0.5 s")
        // The statement was cancelled in PostgreSQL too: nothing of the service waits for the lock.
        #expect(
            Self.lockWaitersAfter(seconds: 4, schema: service.schema, table: table) == 0,
            "the abandoned statement still waits for the lock in PostgreSQL")
        lock.release()
        #expect(try client.call("PATCH", "\(collection)/doc1", json: #"{"seen": true}"#).status == 200)
        #expect(try client.call("GET", "\(collection)/doc1").status == 200)
    }

    /// PostgreSQL is made to plan every scan in parallel; a find whose filter costs seconds per scan runs
    /// in a leader and its workers, and the service's deadline stops all of them.
    @Test func aDeadlineStopsAStatementRunInParallelWorkers() throws {
        let parallel = [
            "max_parallel_workers_per_gather=2", "parallel_setup_cost=0", "parallel_tuple_cost=0",
            "min_parallel_table_scan_size=0",
        ]
        let options = parallel.map { "-c%20" + $0.replacingOccurrences(of: "=", with: "%3D") }.joined(separator: "%20")
        let url = TestPostgres.url + (TestPostgres.url.contains("?") ? "&" : "?") + "options=" + options
        let service = try Self.service("parallel", url: url, statementTimeout: .milliseconds(800), serverTimeouts: false)
        defer { service.application.stop() }
        let (path, table) = try Self.collection(in: service)
        try HostileClientTests.seedLargeCollection(schema: service.schema, table: table, count: 100_000)
        // 999 conditions on different fields: nothing folds, every row is tested against each.
        let clauses = (0..<999).map { #"{"f\#($0)": "x"}"# }.joined(separator: ",")
        let body = #"{"where": {"$or": [\#(clauses)]}, "count": "exact", "limit": 10}"#

        let outcome = ConcurrentResults()
        let finished = DispatchSemaphore(value: 0)
        let port = service.port
        DispatchQueue.global().async {
            let started = ContinuousClock.now
            let response = try? HTTPClient(port: port).call("POST", "\(path):find", json: body)
            outcome.append("\(response?.status ?? 0) \(response?.errorCode ?? "-") \(ContinuousClock.now - started)")
            finished.signal()
        }
        var mostWorkers = 0
        while finished.wait(timeout: .now() + .milliseconds(50)) == .timedOut {
            mostWorkers = max(mostWorkers, Self.activeBackends(on: table).workers)
        }
        #expect(mostWorkers > 0, "the find never ran in parallel workers: \(outcome.all)")
        #expect(outcome.all.first?.hasPrefix("503 database_unavailable") == true, "\(outcome.all)")
        // The leader and its workers stop with the statement: nothing runs on the table soon after.
        var left = Self.activeBackends(on: table)
        for _ in 0..<30 where left.all > 0 {
            usleep(100_000)
            left = Self.activeBackends(on: table)
        }
        #expect(left.all == 0, "\(left.all) backends (\(left.workers) parallel workers) still run the find")
        #expect(try service.client().call("GET", "\(path)/doc1").status == 200)
    }

    /// The backends running a statement on `table` now, and how many of them are parallel workers.
    static func activeBackends(on table: String) -> (all: Int, workers: Int) {
        let rows = try? TestPostgres.sql(
            """
            SELECT count(*), count(*) FILTER (WHERE backend_type = 'parallel worker') FROM pg_stat_activity \
            WHERE state = 'active' AND pid <> pg_backend_pid() AND position(\(bind: table) in query) > 0
            """)
        let counts = rows?.first?.map { $0.flatMap { Int($0) } ?? 0 } ?? [0, 0]
        return (counts[0], counts[1])
    }

    /// On the loop's connection (one loop, made ready by the requests before), and on a worker's.
    @Test(arguments: [8, 0])
    func aClientThatLeavesHasItsStatementCancelled(connectionsPerLoop: Int) throws {
        let service = try Self.service(
            "departure", statementTimeout: .seconds(15), lockTimeout: .seconds(10), connectionsPerLoop: connectionsPerLoop)
        defer { service.application.stop() }
        let (path, table) = try Self.collection(in: service)
        #expect(try service.client().call("PATCH", "\(path)/doc2", json: #"{"warm": 1}"#).status == 200)
        let lock = try RowLock(schema: service.schema, table: table, id: "doc1")
        defer { lock.release() }
        let leaving = service.client()
        try leaving.write(RawSocket.request("PATCH", "\(path)/doc1", port: service.port, json: #"{"left": true}"#))
        try #require(
            RowLock.waitUntilBlocked(schema: service.schema, table: table), "the PATCH never waited for the lock")
        leaving.disconnect()
        // Well before DB_LOCK_TIMEOUT_MS (10 s), nothing of the service waits for the lock any more.
        #expect(
            Self.lockWaitersAfter(seconds: 3, schema: service.schema, table: table) == 0,
            "the statement of a client that left still waits in PostgreSQL")
        lock.release()
        let stored = try service.client().call("GET", "\(path)/doc1")
        #expect(stored.object["left"] == nil, "the abandoned PATCH was written")
        #expect(try service.client().call("PATCH", "\(path)/doc1", json: #"{"seen": 1}"#).status == 200)
    }

    @Test func aFrozenLinkGets503WithinTheDeadlineAndRecoversByItself() throws {
        let upstream = try #require(Int(PostgresConnection.target(of: TestPostgres.url).port ?? ""))
        let relay = try LinkRelay(upstreamPort: upstream)
        let service = try Self.service("frozen", url: relay.url(through: TestPostgres.url), statementTimeout: .seconds(1))
        defer { service.application.stop() }
        let (path, _) = try Self.collection(in: service)
        let client = service.client()
        #expect(try client.call("GET", "\(path)/doc1").status == 200)
        // The kernel probes the service's idle links to PostgreSQL (TCP keepalives).
        let sockets = try PipedTool.run("/usr/bin/ss", ["-tnoH", "state", "established", "( dport = :\(relay.port) )"], input: "")
        #expect(sockets.output.contains("keepalive"), "\(sockets.output)")
        // A find without a limit, which leaves its streaming connection idle for the next.
        #expect(try client.call("GET", path).status == 200)

        relay.freeze()
        var answered: HTTPClient.Response?
        // Deadline: 1 s, and a second for PostgreSQL's own cancellation.
        var waited = try Self.seconds { answered = try client.call("GET", "\(path)/doc1") }
        #expect(answered?.status == 503)
        #expect(waited < 3.5, "answered after \(waited) s")
        waited = try Self.seconds {
            answered = try client.call(
                "POST", "\(path):updateOne", json: #"{"where": {"id": "doc2"}, "params": {"seen": 1}, "upsert": true}"#)
        }
        #expect(answered?.status == 503)
        #expect(waited < 5.5, "answered after \(waited) s")
        waited = try Self.seconds { answered = try client.call("GET", path) }
        #expect(answered?.status == 503)
        #expect(waited < 3.5, "the streamed find answered after \(waited) s")

        relay.thaw()
        #expect(try Self.secondsUntilOK(client, "\(path)/doc1") < 3)
        // Nothing stays stuck on the abandoned connections.
        let scrape = try Scrape(client.call("GET", "/metrics"))
        for pool in ["blocking", "loop", "stream"] {
            #expect(scrape.value("docstore_db_pool_busy_connections", ["pool": pool]) == 0, "\(pool) pool")
        }
        // A restart of the link: every connection closed, then connecting refused for a while.
        relay.stop()
        waited = try Self.seconds { answered = try client.call("GET", "\(path)/doc2") }
        #expect(answered?.status == 503)
        #expect(waited < 1, "answered after \(waited) s")
        try relay.start()
        #expect(try Self.secondsUntilOK(client, "\(path)/doc2") < 2)
    }

    @Test func whileTheDatabaseIsDownRequestsFailFastAndConnectsBackOff() throws {
        let upstream = try #require(Int(PostgresConnection.target(of: TestPostgres.url).port ?? ""))
        let relay = try LinkRelay(upstreamPort: upstream)
        let service = try Self.service("backoff", url: relay.url(through: TestPostgres.url))
        defer { service.application.stop() }
        let (path, _) = try Self.collection(in: service)
        let client = service.client()
        let failedConnects = { try Scrape(client.call("GET", "/metrics")).value("docstore_db_connects_total", ["result": "failure"]) }
        let failedBefore = try failedConnects()

        relay.stop()
        var durations: [Double] = []
        var statuses: [Int: Int] = [:]
        let started = ContinuousClock.now
        while ContinuousClock.now - started < .seconds(10) {
            var response: HTTPClient.Response?
            durations.append(try Self.seconds { response = try client.call("GET", "\(path)/doc1") })
            statuses[response?.status ?? 0, default: 0] += 1
            usleep(20_000)
        }
        let requests = statuses.values.reduce(0, +)
        #expect(statuses[503] == requests, "\(statuses)")
        // Every answer within 100 ms, but for a stall of this shared machine now and then (none waits out
        // the 2 s connect timeout).
        let slow = durations.filter { $0 >= 0.1 }
        #expect(slow.count <= requests / 100 && (durations.max() ?? 0) < 1, "answers of 100 ms or more: \(slow)")
        let attempts = try failedConnects() - failedBefore
        // At most about three a second: 0.1 s doubling to 0.8 s, with jitter.
        #expect(attempts >= 5 && attempts <= 30, "\(attempts) connection attempts for \(requests) requests in 10 s")
        let readiness = try client.call("GET", "/readyz", key: nil)
        #expect(readiness.status == 503)
        #expect(readiness.errorMessage?.contains("connection refused") == true, "\(readiness.errorMessage ?? "")")

        try relay.start()
        #expect(try Self.secondsUntilOK(client, "\(path)/doc1") < 1)
        #expect(try client.call("GET", "/readyz", key: nil).status == 200)
    }

    @Test func connectionsAreReplacedAfterTheirLifetime() throws {
        let service = try TestService(label: "lifetime") { $0.connectionMaxLifetime = .seconds(3) }
        defer { service.application.stop() }
        let (path, _) = try Self.collection(in: service)
        let client = service.client()
        let opened = { try Scrape(client.call("GET", "/metrics")).value("docstore_db_connects_total", ["result": "success"]) }
        // Every connection these requests need is open once the count stays put.
        var before = -1.0
        for _ in 0..<20 {
            #expect(try client.call("GET", "\(path)/doc1").status == 200)
            let now = try opened()
            if now == before { break }
            before = now
            usleep(100_000)
        }
        // Within the lifetime, the same connections serve.
        #expect(try client.call("GET", "\(path)/doc1").status == 200)
        let within = try opened()
        #expect(within == before, "\(before) -> \(within)")
        usleep(3_200_000)
        // Past it, a connection is closed when its request ends and the next request opens another.
        #expect(try client.call("GET", "\(path)/doc1").status == 200)
        #expect(try client.call("GET", "\(path)/doc2").status == 200)
        var after = try opened()
        for _ in 0..<40 where after == before {
            usleep(50_000)
            after = try opened()
        }
        #expect(after > before)
    }

    // MARK: Helpers

    /// The service's sessions waiting for a lock on `table`, once none is or after `seconds`.
    static func lockWaitersAfter(seconds: Int, schema: String, table: String) -> Int {
        var waiting = -1
        for _ in 0..<(seconds * 10) {
            waiting = RowLock.waitingBackends(schema: schema, table: table)
            if waiting == 0 { break }
            usleep(100_000)
        }
        return waiting
    }

    /// Seconds until GET `target` answers 200, asking every 50 ms for at most 10 s.
    static func secondsUntilOK(_ client: HTTPClient, _ target: String) throws -> Double {
        let started = ContinuousClock.now
        while ContinuousClock.now - started < .seconds(10) {
            if try client.call("GET", target).status == 200 {
                let (seconds, attoseconds) = (ContinuousClock.now - started).components
                return Double(seconds) + Double(attoseconds) / 1e18
            }
            usleep(50_000)
        }
        return .infinity
    }
}
