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
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    private var socket: Int32 = -1
    private let port: Int
    private var buffer: [UInt8] = []
    private var offset = 0

    init(port: Int) {
        self.port = port
    }

    deinit {
        disconnect()
    }

    func disconnect() {
        if socket >= 0 { close(socket) }
        socket = -1
        buffer = []
        offset = 0
    }

    /// Sends one request and reads its whole response. Adds Host and Content-Length.
    func send(
        _ method: String,
        _ target: String,
        headers: [(String, String)] = [],
        body: [UInt8]? = nil
    ) throws -> Response {
        var head = "\(method) \(target) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if let body { head += "Content-Length: \(body.count)\r\n" }
        head += "\r\n"
        return try sendRaw(Array(head.utf8) + (body ?? []), method: method)
    }

    /// Sends exactly `bytes` (one or more requests' worth) and reads one response.
    func sendRaw(_ bytes: [UInt8], method: String = "GET") throws -> Response {
        if socket < 0 { try connect() }
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
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes {
                Glibc.send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            guard count > 0 else { throw Failure(description: "send failed: errno \(errno)") }
            sent += count
        }
    }

    func readResponse(method: String = "GET") throws -> Response {
        let statusLine = try readLine()
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, let status = Int(parts[1]) else {
            throw Failure(description: "bad status line '\(statusLine)'")
        }
        var headers: [(String, String)] = []
        while true {
            let line = try readLine()
            if line.isEmpty { break }
            guard let colon = line.firstIndex(of: ":") else { continue }
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            headers.append((String(line[..<colon]), value))
        }
        func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name }?.1 }
        var body: [UInt8] = []
        if method == "HEAD" || status == 204 || status == 304 || (100..<200).contains(status) {
            body = []
        } else if header("transfer-encoding")?.lowercased().contains("chunked") == true {
            while true {
                let sizeLine = try readLine()
                guard let size = Int(sizeLine.split(separator: ";")[0], radix: 16) else {
                    throw Failure(description: "bad chunk size '\(sizeLine)'")
                }
                if size == 0 {
                    while try !readLine().isEmpty {}
                    break
                }
                body.append(contentsOf: try readBytes(size))
                _ = try readLine()
            }
        } else if let length = header("content-length").flatMap({ Int($0) }) {
            body = try readBytes(length)
        } else {
            while let more = try fill() { if !more { break } }
            body = Array(buffer[offset...])
            offset = buffer.count
        }
        if header("connection")?.lowercased() == "close" { disconnect() }
        return Response(status: status, headers: headers, body: body)
    }

    private func connect() throws {
        socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw Failure(description: "socket failed") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var timeout = timeval(tv_sec: 120, tv_usec: 0)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            close(socket)
            socket = -1
            throw Failure(description: "connect to 127.0.0.1:\(port) failed: errno \(errno)")
        }
    }

    /// Reads more bytes into the buffer; false at end of stream.
    @discardableResult
    private func fill() throws -> Bool? {
        if offset > 0 && offset == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            offset = 0
        }
        var chunk = [UInt8](repeating: 0, count: 65536)
        let count = chunk.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
        if count < 0 { throw Failure(description: "recv failed: errno \(errno)") }
        if count == 0 { return false }
        buffer.append(contentsOf: chunk[0..<count])
        return true
    }

    private func readLine() throws -> String {
        while true {
            if let end = buffer[offset...].firstIndex(of: UInt8(ascii: "\n")) {
                var line = buffer[offset..<end]
                if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
                offset = end + 1
                return String(decoding: line, as: UTF8.self)
            }
            guard try fill() == true else { throw Failure(description: "connection closed mid-response") }
        }
    }

    private func readBytes(_ count: Int) throws -> [UInt8] {
        while buffer.count - offset < count {
            guard try fill() == true else { throw Failure(description: "connection closed mid-body") }
        }
        let bytes = Array(buffer[offset..<(offset + count)])
        offset += count
        return bytes
    }
}
