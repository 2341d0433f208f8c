import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// One TCP connection driven byte by byte, for what `HTTPClient` hides: whether anything arrived yet
/// and whether the server hung up. It never reconnects.
final class RawSocket {
    enum Outcome: Equatable {
        /// Bytes arrived.
        case data
        /// The server closed the connection (recv returned 0).
        case closed
        /// recv failed (for example, connection reset).
        case failed
        /// Nothing happened within the time allowed.
        case timedOut
    }

    private var socket: Int32
    private let pending = ResponseBuffer()
    /// Every byte received so far, for messages.
    private(set) var received: [UInt8] = []

    private init(socket: Int32) {
        self.socket = socket
    }

    /// A connection to the loopback port, or nil when it is refused.
    static func connect(port: Int) -> RawSocket? {
        (try? Loopback.connect(port: port)).map(RawSocket.init)
    }

    /// One request's bytes, with Host, the service key and, for a JSON body, its headers.
    static func request(
        _ method: String,
        _ target: String,
        port: Int,
        json: String? = nil,
        key: String? = TestService.key
    ) -> [UInt8] {
        var headers: [(String, String)] = []
        if let key { headers.append(("Authorization", "Bearer \(key)")) }
        if json != nil { headers.append(("Content-Type", "application/json")) }
        return HTTPClient.request(method, target, port: port, headers: headers, body: json.map { Array($0.utf8) })
    }

    func close() {
        if socket >= 0 { Glibc.close(socket) }
        socket = -1
    }

    deinit {
        close()
    }

    func send(_ bytes: [UInt8]) throws {
        try Loopback.send(bytes, on: socket)
    }

    /// Whether bytes (or the end of the stream) are ready to read within `seconds`.
    func waitReadable(seconds: Double) -> Bool {
        pending.hasUnread || Self.poll(socket, seconds: seconds)
    }

    /// Reads once, waiting up to `timeout` seconds; received bytes are kept for `readResponse`.
    func receive(timeout: Double) -> Outcome {
        if pending.hasUnread { return .data }
        return Self.poll(socket, seconds: timeout) ? receiveReady() : .timedOut
    }

    /// Reads once more, waiting up to `timeout` seconds, whatever was received before (for a body that
    /// streams on: `received` keeps every byte).
    func receiveMore(timeout: Double) -> Outcome {
        Self.poll(socket, seconds: timeout) ? receiveReady() : .timedOut
    }

    /// Reads until the server closes the connection (`.closed`) or `timeout` seconds pass.
    func receiveUntilClosed(timeout: Double) -> Outcome {
        let deadline = Date().addingTimeInterval(timeout)
        while Self.poll(socket, seconds: deadline.timeIntervalSinceNow) {
            let outcome = receiveReady()
            if outcome != .data { return outcome }
        }
        return .timedOut
    }

    /// Reads one whole response, failing after `timeout` seconds.
    func readResponse(timeout: Double) throws -> HTTPClient.Response {
        let deadline = Date().addingTimeInterval(timeout)
        return try pending.readResponse(method: "GET") {
            guard Self.poll(socket, seconds: deadline.timeIntervalSinceNow) else {
                throw HTTPClient.Failure(description: "no complete response in \(timeout) s")
            }
            switch receiveReady() {
            case .data: return true
            case .closed: return false
            case .failed, .timedOut: throw HTTPClient.Failure(description: "recv failed: errno \(errno)")
            }
        }
    }

    /// One recv on a socket known to be readable.
    private func receiveReady() -> Outcome {
        guard let chunk = try? Loopback.receive(on: socket) else { return .failed }
        if chunk.isEmpty { return .closed }
        pending.append(chunk)
        received.append(contentsOf: chunk)
        return .data
    }

    /// Whether `socket` is readable (or at its end) within `seconds`; false for no time left.
    private static func poll(_ socket: Int32, seconds: Double) -> Bool {
        guard seconds > 0 else { return false }
        var descriptor = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
        return Glibc.poll(&descriptor, 1, Int32(min(seconds, 86_400) * 1000)) > 0
    }
}
