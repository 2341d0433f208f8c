import Foundation
import TestSupport
import Testing

@testable import DocumentService
@testable import DocumentStore

/// The change feed over real sockets: `GET :watch` (catch-up, then live changes, resume by
/// `Last-Event-ID`, 400s before the stream) and `find wait=S`.
@Suite struct WatchTests {
    static func insert(_ client: HTTPClient, _ path: String, _ json: String) throws {
        let response = try client.call("POST", path, json: json)
        #expect(response.status == 201, "\(response.text)")
    }

    @Test func catchUpThenEveryMatchingChangeAsItCommits() throws {
        let service = TestService.shared
        let client = service.client()
        let path = "/sessions/\(TestService.uniqueCollection("watch"))"
        try Self.insert(client, path, #"{"id": "a1", "session_id": "s1", "creation_utc": "2025-01-01T00:00:01+00:00"}"#)
        try Self.insert(client, path, #"{"id": "a2", "session_id": "s2", "creation_utc": "2025-01-01T00:00:02+00:00"}"#)
        try Self.insert(client, path, #"{"id": "a3", "session_id": "s1", "creation_utc": "2025-01-01T00:00:03+00:00"}"#)

        let stream = try EventStream(port: service.port, target: "\(path):watch?session_id=eq.s1")
        defer { stream.close() }
        #expect(stream.status == 200)
        #expect(stream.headers["content-type"] == "text/event-stream")
        #expect(stream.events(2).map(\.description) == ["upsert a1", "upsert a3"], "the catch-up")

        try Self.insert(client, path, #"{"id": "a4", "session_id": "s1"}"#)
        #expect(stream.next()?.description == "upsert a4")
        try Self.insert(client, path, #"{"id": "a5", "session_id": "s2"}"#)
        #expect(try client.call("PATCH", "\(path)/a1", json: #"{"seen": true}"#).status == 200)
        let merged = stream.next()
        #expect(merged?.description == "upsert a1", "a5 does not match; the merge of a1 does")
        #expect(merged?.object["seen"] as? Bool == true, "the event carries the merged document")
        #expect(try client.call("DELETE", "\(path)/a3").status == 200)
        let deleted = stream.next()
        #expect(deleted?.description == "delete a3")
        #expect(deleted?.data == #"{"id":"a3"}"#)
        // Every event's id is a cursor that find takes.
        let page = try client.call("GET", "\(path)?limit=10&cursor=\(merged?.id ?? "")")
        #expect(page.status == 200, "\(page.text)")
    }

    @Test func aWatcherThatReconnectsWithLastEventIDMissesNothingStored() throws {
        let service = TestService.shared
        let client = service.client()
        let path = "/sessions/\(TestService.uniqueCollection("resume"))"
        try Self.insert(client, path, #"{"id": "b1", "creation_utc": "2025-01-01T00:00:01+00:00"}"#)
        try Self.insert(client, path, #"{"id": "b2", "creation_utc": "2025-01-01T00:00:02+00:00"}"#)
        let first = try EventStream(port: service.port, target: "\(path):watch")
        let seen = first.events(2)
        #expect(seen.map(\.description) == ["upsert b1", "upsert b2"])
        try Self.insert(client, path, #"{"id": "b3", "creation_utc": "2025-01-01T00:00:03+00:00"}"#)
        let last = try #require(first.next(), "the live insert never came")
        first.close()

        // While it is away: a merge of a document it has seen, an insert before its position, a deletion.
        #expect(try client.call("PATCH", "\(path)/b1", json: #"{"v": 2}"#).status == 200)
        try Self.insert(client, path, #"{"id": "b0", "creation_utc": "2024-12-31T00:00:00+00:00"}"#)
        try Self.insert(client, path, #"{"id": "b4", "creation_utc": "2025-01-01T00:00:04+00:00"}"#)
        #expect(try client.call("DELETE", "\(path)/b2").status == 200)

        let second = try EventStream(port: service.port, target: "\(path):watch", headers: [("Last-Event-ID", last.id)])
        defer { second.close() }
        var got: [String: EventStream.Event] = [:]
        let wanted: Set = ["upsert b1", "upsert b0", "upsert b4", "delete b2"]
        let deadline = Date().addingTimeInterval(10)
        while !wanted.isSubset(of: Set(got.keys)), Date() < deadline, let event = second.next(timeout: 2) {
            got[event.description] = event
        }
        #expect(wanted.isSubset(of: Set(got.keys)), "after the reconnect: \(got.keys.sorted())")
        #expect(got["upsert b1"]?.object["v"] as? Int == 2, "the merge made while away")
        // Besides what was missed, at most a repeat of the event it last had.
        #expect(Set(got.keys).subtracting(wanted).isSubset(of: ["upsert b3"]), "\(got.keys.sorted())")
    }

    @Test func aQuietWatchGetsAKeepAliveCommentEvery15Seconds() throws {
        let service = TestService.shared
        let stream = try EventStream(port: service.port, target: "/sessions/\(TestService.uniqueCollection("quiet")):watch")
        defer { stream.close() }
        #expect(stream.status == 200)
        #expect(stream.next(timeout: 17) == nil, "an event on an empty collection")
        #expect(stream.comments >= 1, "no keep-alive comment within 17 s")
    }

    @Test(arguments: [
        ("?where=%7B%22%24nope%22%3A1%7D", [(String, String)](), "invalid_filter"),
        ("?cursor=not-a-cursor!", [], "invalid_cursor"),
        ("", [("Last-Event-ID", "bm9wZQ")], "invalid_cursor"),
        ("?limit=5", [], "invalid_request"),
        ("?sort=desc", [], "invalid_request"),
        ("?wait=5", [], "invalid_request"),
    ])
    func aBadWatchGets400BeforeTheStreamStarts(query: String, headers: [(String, String)], code: String) throws {
        let service = TestService.shared
        let stream = try EventStream(
            port: service.port, target: "/sessions/\(TestService.uniqueCollection()):watch\(query)", headers: headers)
        defer { stream.close() }
        #expect(stream.status == 400)
        #expect(stream.headers["content-type"] == "application/json")
        #expect(stream.wholeBody().contains(#""code":"\#(code)""#))
    }

    /// Watchers are suspended connections of the event loops: 2,000 of them add no thread.
    @Test func twoThousandIdleWatchersAddNoThreads() throws {
        let watchers = 2_000
        HostileClientTests.raiseOpenFileLimit(to: rlim_t(watchers + 256))
        let schema = TestPostgres.uniqueSchema("watchers")
        defer { DocstoreCommand.dropSchema(schema) }
        let (service, port) = try ServiceProcess.serve(schema: schema)
        defer { service.signal(SIGKILL) }
        let client = HTTPClient(port: port)
        try Self.insert(client, "/sessions/events", #"{"id": "e0", "session_id": "s0"}"#)
        // The first watcher opens the feed's own thread and connections.
        let first = try EventStream(port: port, target: "/sessions/events:watch?session_id=eq.s0")
        #expect(first.next()?.description == "upsert e0")
        let before = service.status("Threads") ?? 0

        var streams: [EventStream] = []
        for index in 1...watchers {
            let stream = try EventStream(port: port, target: "/sessions/events:watch?session_id=eq.s\(index)")
            #expect(stream.status == 200, "watcher \(index)")
            streams.append(stream)
        }
        let after = service.status("Threads") ?? .max
        #expect(after <= before, "\(watchers) watchers took the service from \(before) to \(after) threads")
        // They are all listening: a write reaches the one it matches.
        try Self.insert(client, "/sessions/events", #"{"id": "e1", "session_id": "s1234"}"#)
        #expect(streams[1233].next()?.description == "upsert e1")
        for stream in streams { stream.close() }

        // Watchers whose clients left are closed at once, not at their next keep-alive 15 s later: only
        // the first watcher's connection and the one asking stay open.
        var open = Int.max
        let deadline = Date().addingTimeInterval(10)
        while open > 2 && Date() < deadline {
            usleep(200_000)
            let metrics = try client.call("GET", "/metrics").text
            let line = metrics.split(separator: "\n").first { $0.hasPrefix("docstore_http_connections_open ") }
            open = line.flatMap { Int($0.split(separator: " ")[1]) } ?? Int.max
        }
        #expect(open <= 2, "\(open) connections still open 10 s after \(watchers) watchers left")
        first.close()
    }

    /// Open watches do not hold a SIGTERM to the end of its grace period: they end at once, their clients
    /// resuming elsewhere, and the process exits.
    @Test func sigtermEndsOpenWatchesWithoutWaitingForTheGracePeriod() throws {
        let schema = TestPostgres.uniqueSchema("watchstop")
        defer { DocstoreCommand.dropSchema(schema) }
        let (service, port) = try ServiceProcess.serve(schema: schema, extra: ["SHUTDOWN_GRACE_SECONDS": "60"])
        defer { service.signal(SIGKILL) }
        try Self.insert(HTTPClient(port: port), "/sessions/events", #"{"id": "e0"}"#)
        let stream = try EventStream(port: port, target: "/sessions/events:watch")
        #expect(stream.next()?.description == "upsert e0")
        service.signal(SIGTERM)
        #expect(service.waitForExit(timeout: 20) == 0, "the process still ran 20 s after SIGTERM (grace 60 s)")
        #expect(stream.next(timeout: 5) == nil)
    }

    @Test func findWithWaitAnswersAtTheFirstMatchOrWhenTheWaitRunsOut() throws {
        let service = TestService.shared
        let client = service.client()
        let path = "/sessions/\(TestService.uniqueCollection("wait"))"
        try Self.insert(client, path, #"{"id": "c1", "session_id": "s1", "creation_utc": "2025-01-01T00:00:00+00:00"}"#)
        let cursor = Cursor(creationUTC: "2025-01-01T00:00:00+00:00", id: "c1").token

        // Nothing comes: the empty page after the wait.
        let started = Date()
        let empty = try client.call("GET", "\(path)?session_id=eq.s1&cursor=\(cursor)&limit=10&wait=1")
        #expect(empty.status == 200)
        #expect(QuerySupport.ids(empty).isEmpty)
        #expect(Date().timeIntervalSince(started) >= 0.9, "it did not wait")

        // A match written through another connection ends the wait with it.
        let waited = Date()
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.5) {
            try? Self.insert(service.client(), path, #"{"id": "c2", "session_id": "s1"}"#)
        }
        let found = try client.call("GET", "\(path)?session_id=eq.s1&cursor=\(cursor)&wait=30")
        #expect(QuerySupport.ids(found) == ["c2"])
        #expect(Date().timeIntervalSince(waited) < 20, "the match did not end the wait")

        // A page that is not empty answers at once, wait or not; so does :find with wait in the body.
        let full = try client.call("POST", "\(path):find", json: #"{"where": {"session_id": "s1"}, "wait": 30}"#)
        #expect(QuerySupport.ids(full) == ["c1", "c2"])
        let bad = try client.call("GET", "\(path)?wait=61")
        RouteCheck.expectError(bad, status: 400, code: "invalid_request")
    }
}
