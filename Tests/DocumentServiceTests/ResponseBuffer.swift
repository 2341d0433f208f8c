import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The bytes received on one test connection and not parsed yet, and the parsing of HTTP/1.1
/// responses from them. `HTTPClient` and `RawSocket` differ only in how they wait for more bytes.
final class ResponseBuffer {
    private var bytes: [UInt8] = []
    private var offset = 0

    /// Whether received bytes are waiting to be parsed.
    var hasUnread: Bool { offset < bytes.count }

    func append(_ chunk: ArraySlice<UInt8>) {
        if offset == bytes.count {
            bytes.removeAll(keepingCapacity: true)
            offset = 0
        }
        bytes.append(contentsOf: chunk)
    }

    func removeAll() {
        bytes = []
        offset = 0
    }

    /// Parses one response to a `method` request. `fill` appends more bytes, or returns false when the
    /// server has closed the connection: that ends a body of unknown length and fails anything else.
    func readResponse(method: String, fill: () throws -> Bool) throws -> HTTPClient.Response {
        let statusLine = try line(fill)
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, let status = Int(parts[1]) else {
            throw HTTPClient.Failure(description: "bad status line '\(statusLine)'")
        }
        var headers: [(name: String, value: String)] = []
        while true {
            let text = try line(fill)
            if text.isEmpty { break }
            guard let colon = text.firstIndex(of: ":") else { continue }
            let value = text[text.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            headers.append((String(text[..<colon]), value))
        }
        let head = HTTPClient.Response(status: status, headers: headers, body: [])
        var body: [UInt8] = []
        if method == "HEAD" || status == 204 || status == 304 || (100..<200).contains(status) {
            body = []
        } else if head.header("Transfer-Encoding")?.lowercased().contains("chunked") == true {
            while true {
                let sizeLine = try line(fill)
                guard let size = Int(sizeLine.split(separator: ";").first ?? "", radix: 16) else {
                    throw HTTPClient.Failure(description: "bad chunk size '\(sizeLine)'")
                }
                if size == 0 {
                    while try !line(fill).isEmpty {}
                    break
                }
                body += try take(size, fill)
                _ = try line(fill)
            }
        } else if let length = head.header("Content-Length").flatMap({ Int($0) }) {
            body = try take(length, fill)
        } else {
            while try fill() {}
            body = Array(bytes[offset...])
            offset = bytes.count
        }
        return HTTPClient.Response(status: status, headers: headers, body: body)
    }

    private func line(_ fill: () throws -> Bool) throws -> String {
        while true {
            if let end = bytes[offset...].firstIndex(of: UInt8(ascii: "\n")) {
                var line = bytes[offset..<end]
                if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
                offset = end + 1
                return String(decoding: line, as: UTF8.self)
            }
            guard try fill() else { throw HTTPClient.Failure(description: "connection closed mid-response") }
        }
    }

    private func take(_ count: Int, _ fill: () throws -> Bool) throws -> [UInt8] {
        while bytes.count - offset < count {
            guard try fill() else { throw HTTPClient.Failure(description: "connection closed mid-body") }
        }
        defer { offset += count }
        return Array(bytes[offset..<(offset + count)])
    }
}

/// TCP on 127.0.0.1, for the test clients.
enum Loopback {
    /// A connected socket, or the reason there is none.
    static func connect(port: Int) throws -> Int32 {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw HTTPClient.Failure(description: "socket failed: errno \(errno)") }
        var address = Self.address(port: port)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            let failure = HTTPClient.Failure(description: "connect to 127.0.0.1:\(port) failed: errno \(errno)")
            Glibc.close(socket)
            throw failure
        }
        return socket
    }

    /// 127.0.0.1:`port`.
    static func address(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }

    /// Sends every byte of `bytes`, or throws.
    static func send(_ bytes: [UInt8], on socket: Int32) throws {
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes {
                Glibc.send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            guard count > 0 else { throw HTTPClient.Failure(description: "send failed: errno \(errno)") }
            sent += count
        }
    }

    /// One recv: the bytes received, or an empty slice when the server closed the connection.
    static func receive(on socket: Int32) throws -> ArraySlice<UInt8> {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let count = chunk.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
        guard count >= 0 else { throw HTTPClient.Failure(description: "recv failed: errno \(errno)") }
        return chunk[0..<count]
    }
}
