import Foundation
import TestSupport
import Testing

@testable import DocumentStore

#if canImport(Glibc)
    import Glibc
#endif

/// Clients that hold connections without finishing requests or reading answers, against the `docstore`
/// executable (so its memory and threads are its own): they cost the service little, and other clients
/// are served meanwhile.
@Suite(.serialized) struct HostileClientTests {
    /// Raises this process's open-file limit to its hard limit, for hundreds of sockets.
    static func raiseOpenFileLimit(to wanted: rlim_t) {
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        if limit.rlim_cur < wanted {
            limit.rlim_cur = min(wanted, limit.rlim_max)
            setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
    }

    /// The head of a POST that announces a 1 MB body, without the key.
    static func unauthorisedUploadHead(port: Int) -> [UInt8] {
        Array(
            ("POST /sessions/uploads HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nContent-Type: application/json\r\n"
                + "Content-Length: 1000000\r\n\r\n").utf8)
    }

    @Test func slowUploadsWithoutTheKeyGet401UnreadAndCostLittle() throws {
        let connections = 500
        Self.raiseOpenFileLimit(to: rlim_t(connections + 256))
        let schema = TestPostgres.uniqueSchema("uploads")
        defer { DocstoreCommand.dropSchema(schema) }
        let (service, port) = try ServiceProcess.serve(schema: schema)
        defer { service.signal(SIGKILL) }
        let client = HTTPClient(port: port)
        #expect(try client.call("POST", "/sessions/uploads", json: #"{"id": "kept"}"#).status == 201)

        // Each connection sends its head and trickles the first bytes of its body, twice over.
        var sockets: [RawSocket] = []
        for index in 0..<connections {
            let socket = try #require(RawSocket.connect(port: port), "connection \(index) was refused")
            try socket.send(Self.unauthorisedUploadHead(port: port) + Array(repeating: UInt8(ascii: " "), count: 100))
            sockets.append(socket)
        }
        for socket in sockets {
            try? socket.send(Array(repeating: UInt8(ascii: " "), count: 100))
        }

        // An authorised request is answered meanwhile.
        let kept = try client.call("GET", "/sessions/uploads/kept")
        #expect(kept.status == 200, "\(kept.text)")

        // Every upload is refused with 401 although almost none of its megabyte was sent.
        var refused = 0
        var other: [String] = []
        for socket in sockets {
            do {
                let response = try socket.readResponse(timeout: 20)
                if response.status == 401 { refused += 1 } else { other.append("\(response.status)") }
            } catch {
                other.append("\(error)")
            }
        }
        #expect(refused == connections, "not 401: \(other.prefix(5))")

        // The service never held the bodies: its peak memory stays far below what 500 bodies take.
        let peak = try #require(service.status("VmHWM"))
        #expect(peak < 128 * 1024, "peak RSS \(peak) kB")
        #expect(try client.call("GET", "/sessions/uploads/kept").status == 200)
    }

    /// Rows of about 300 bytes: 100,000 of them are far more than socket buffers hold.
    static func seedLargeCollection(schema: String, table: String, count: Int) throws {
        try TestPostgres.sql(
            """
            INSERT INTO \(unsafeSQL: "\"\(schema)\".\"\(table)\"") (id, version, creation_utc, data) \
            SELECT 'u' || lpad(n::text, 6, '0'), '0.1.0', '2025-01-01T00:00:00.000000+00:00', \
            jsonb_build_object('id', 'u' || lpad(n::text, 6, '0'), 'version', '0.1.0', \
            'creation_utc', '2025-01-01T00:00:00.000000+00:00', 'padding', repeat('x', 240)) \
            FROM generate_series(1, \(unsafeSQL: String(count))) n
            """)
    }

    @Test func streamsThatAreNeverReadHoldUpNothingAndAreBoundedByStreamLimit() throws {
        let streamLimit = 32
        let readers = 64
        Self.raiseOpenFileLimit(to: rlim_t(readers + 256))
        let schema = TestPostgres.uniqueSchema("unread")
        defer { DocstoreCommand.dropSchema(schema) }
        let (service, port) = try ServiceProcess.serve(
            schema: schema, extra: ["STREAM_LIMIT": String(streamLimit), "DB_POOL_SIZE": "4", "DB_POOL_TIMEOUT_MS": "1000"])
        defer { service.signal(SIGKILL) }
        let client = HTTPClient(port: port)
        #expect(try client.call("POST", "/sessions/large", json: #"{"id": "first"}"#).status == 201)
        try Self.seedLargeCollection(schema: schema, table: "parlant_sessions_large", count: 100_000)

        // 64 clients ask for every document and read nothing past the first bytes.
        var sockets: [RawSocket] = []
        for index in 0..<readers {
            let socket = try #require(RawSocket.connect(port: port), "connection \(index) was refused")
            try socket.send(RawSocket.request("GET", "/sessions/large", port: port))
            sockets.append(socket)
        }
        var streaming = 0
        var refused = 0
        var other: [String] = []
        for socket in sockets {
            guard socket.receive(timeout: 20) == .data else {
                other.append("no answer")
                continue
            }
            let head = String(decoding: socket.received.prefix(2048), as: UTF8.self)
            if head.hasPrefix("HTTP/1.1 200") {
                streaming += 1
            } else if head.hasPrefix("HTTP/1.1 503"), head.lowercased().contains("retry-after:") {
                refused += 1
            } else {
                other.append(String(head.prefix(80)))
            }
        }
        #expect(streaming == streamLimit, "other answers: \(other.prefix(3))")
        #expect(refused == readers - streamLimit, "other answers: \(other.prefix(3))")

        // Ordinary requests go on as usual: every kind of write and a page.
        let probe = HTTPClient(port: port)
        #expect(try probe.call("GET", "/sessions/large/u000001").status == 200)
        #expect(try probe.call("POST", "/sessions/large", json: #"{"id": "new"}"#).status == 201)
        #expect(try probe.call("PATCH", "/sessions/large/new", json: #"{"seen": true}"#).status == 200)
        #expect(try probe.call("POST", "/sessions/large", json: #"[{"id": "a1"}, {"id": "a2"}]"#).status == 201)
        let page = try probe.call("GET", "/sessions/large?limit=10")
        #expect(page.status == 200 && QuerySupport.ids(page).count == 10)

        // Rows are read only as clients take them: 32 streams of 30 MB each are not buffered.
        let peak = try #require(service.status("VmHWM"))
        #expect(peak < 128 * 1024, "peak RSS \(peak) kB")

        // Streams that end give their place back.
        for socket in sockets.prefix(8) { socket.close() }
        let deadline = Date().addingTimeInterval(20)
        var afterwards = 0
        repeat {
            afterwards = try probe.call("GET", "/sessions/large?version=eq.none").status
            if afterwards == 200 { break }
            usleep(100_000)
        } while Date() < deadline
        #expect(afterwards == 200)
        #expect(service.isRunning)
    }
}
