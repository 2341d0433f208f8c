import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A minimal HTTP/1.1 client over a raw TCP socket, so tests control every byte sent (bad bodies,
/// wrong headers) and see every byte received (chunked bodies, headers). One instance is one
/// keep-alive connection, used by one task at a time.
final class HTTPClient {
    struct Response {
        let status: Int
        let headers: [(name: String, value: String)]
        let body: [UInt8]

        func header(_ name: String) -> String? {
            headers.first { $0.name.lowercased() == name.lowercased() }?.value
        }

        var text: String { String(decoding: body, as: UTF8.self) }

        /// The body parsed as JSON (Foundation's parser, independent of the service's own).
        var json: Any? { try? JSONSerialization.jsonObject(with: Data(body), options: [.fragmentsAllowed]) }

        var object: [String: Any] { json as? [String: Any] ?? [:] }

        /// `error.code` of an error body.
        var errorCode: String? { (object["error"] as? [String: Any])?["code"] as? String }

        /// `error.message` of an error body.
        var errorMessage: String? { (object["error"] as? [String: Any])?["message"] as? String }
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    private var socket: Int32 = -1
    private let port: Int
    private let received = ResponseBuffer()

    init(port: Int) {
        self.port = port
    }

    deinit {
        disconnect()
    }

    func disconnect() {
        if socket >= 0 { close(socket) }
        socket = -1
        received.removeAll()
    }

    /// Sends one request and reads its whole response. Adds Host and Content-Length.
    func send(
        _ method: String,
        _ target: String,
        headers: [(String, String)] = [],
        body: [UInt8]? = nil
    ) throws -> Response {
        try sendRaw(Self.request(method, target, port: port, headers: headers, body: body), method: method)
    }

    /// The bytes of one request, with Host and, when there is a body, Content-Length.
    static func request(
        _ method: String,
        _ target: String,
        port: Int,
        headers: [(String, String)] = [],
        body: [UInt8]? = nil
    ) -> [UInt8] {
        var head = "\(method) \(target) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if let body { head += "Content-Length: \(body.count)\r\n" }
        head += "\r\n"
        return Array(head.utf8) + (body ?? [])
    }

    /// Sends exactly `bytes` (one or more requests' worth) and reads one response.
    func sendRaw(_ bytes: [UInt8], method: String = "GET") throws -> Response {
        do {
            try write(bytes)
            return try readResponse(method: method)
        } catch {
            disconnect()
            throw error
        }
    }

    /// Sends the bytes and returns without reading, for requests that must stay in flight.
    func write(_ bytes: [UInt8]) throws {
        if socket < 0 { try connect() }
        try Loopback.send(bytes, on: socket)
    }

    func readResponse(method: String = "GET") throws -> Response {
        let response = try received.readResponse(method: method) {
            let chunk = try Loopback.receive(on: socket)
            received.append(chunk)
            return !chunk.isEmpty
        }
        if response.header("Connection")?.lowercased() == "close" { disconnect() }
        return response
    }

    private func connect() throws {
        socket = try Loopback.connect(port: port)
        var timeout = timeval(tv_sec: 120, tv_usec: 0)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }
}
