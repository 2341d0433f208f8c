import Foundation
import TestSupport
import Testing

@testable import DocumentService
@testable import DocumentStore

/// A request's head must arrive within `HEADER_TIMEOUT` of its request line, and its body no slower than
/// `MIN_BODY_RATE`, however it trickles: a byte now and then keeps libmicrohttpd's idle timeout from
/// firing, so without these deadlines a few hundred such connections hold their slots for as long as
/// their clients like. And one address holds at most `CONNECTION_LIMIT_PER_ADDRESS` connections.
@Suite struct SlowArrivalTests {
    static let service: TestService = {
        do {
            return try TestService(label: "slow_arrival", headerTimeoutSeconds: 2)
        } catch {
            fatalError("cannot start the slow-arrival test service: \(error)")
        }
    }()

    /// Sends `first`, then `trickle` every half second, until the server closes the connection or
    /// `limit` seconds pass; returns the seconds it took.
    static func secondsUntilClosed(first: String, trickle: String, limit: Double = 12) throws -> Double {
        let socket = try #require(RawSocket.connect(port: service.port))
        defer { socket.close() }
        let started = Date()
        try socket.send(Array(first.utf8))
        while Date().timeIntervalSince(started) < limit {
            switch socket.receive(timeout: 0.5) {
            case .closed, .failed: return Date().timeIntervalSince(started)
            case .data, .timedOut: break
            }
            if (try? socket.send(Array(trickle.utf8))) == nil { return Date().timeIntervalSince(started) }
        }
        return .infinity
    }

    @Test func headersThatTrickleAreCutAtTheHeaderTimeout() throws {
        let seconds = try Self.secondsUntilClosed(first: "GET /healthz HTTP/1.1\r\nHost: x\r\n", trickle: "X-T: y\r\n")
        // HEADER_TIMEOUT is 2 s; the check runs once a second.
        #expect(seconds < 5, "the connection stayed open \(seconds) s")
    }

    @Test func aBodyThatTricklesIsCutBelowTheMinimumRate() throws {
        let head =
            "POST /sessions/slow HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(TestService.key)\r\n"
            + "Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
        // 16 bytes every half second: 32 bytes a second, far below 1,024.
        let seconds = try Self.secondsUntilClosed(first: head, trickle: String(repeating: " ", count: 16))
        #expect(seconds < 6, "the connection stayed open \(seconds) s")
    }

    @Test func aRequestThatArrivesInTimeIsServed() throws {
        let client = Self.service.client()
        #expect(try client.call("GET", "/healthz", key: nil).status == 200)
        let document = #"{"id": "slow-but-fine", "text": "\#(String(repeating: "x", count: 50_000))"}"#
        #expect(try client.call("POST", "/sessions/\(TestService.uniqueCollection("arrival"))", json: document).status == 201)
    }

    @Test func oneAddressHoldsNoMoreThanItsShare() throws {
        let service = try TestService(label: "per_address", eventLoops: 1, connectionLimitPerAddress: 3)
        defer { service.application.stop() }
        let held = try (0..<3).map { _ in try #require(RawSocket.connect(port: service.port)) }
        defer { held.forEach { $0.close() } }
        // The fourth from the same address is closed at once.
        let refused = try #require(RawSocket.connect(port: service.port))
        defer { refused.close() }
        #expect(refused.receiveUntilClosed(timeout: 5) != .timedOut, "a fourth connection from one address stayed open")
        // The three held connections are served; once one closes, another may open.
        try held[0].send(Array("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        #expect(try held[0].readResponse(timeout: 5).status == 200)
        held[1].close()
        usleep(200_000)
        #expect(try service.client().call("GET", "/healthz", key: nil).status == 200)
    }

    @Test func probesOnTheOperatorPortAnswerWhenTheMainPortIsFull() throws {
        let service = try TestService(label: "full_port", metricsPort: 0, eventLoops: 1, connectionLimit: 4)
        defer { service.application.stop() }
        let held = try (0..<4).map { _ in try #require(RawSocket.connect(port: service.port)) }
        defer { held.forEach { $0.close() } }
        // Every connection of the main port is taken: a fifth waits in the listen queue, unanswered.
        let waiting = try #require(RawSocket.connect(port: service.port))
        defer { waiting.close() }
        try waiting.send(Array("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        #expect(waiting.receive(timeout: 2) == .timedOut, "the main port answered a fifth connection")
        let operatorPort = try #require(service.application.metricsServer).port
        #expect(try HTTPClient(port: operatorPort).call("GET", "/healthz", key: nil).status == 200)
        #expect(try HTTPClient(port: operatorPort).call("GET", "/readyz", key: nil).status == 200)
    }
}
