import Foundation

/// A client of `GET ...:watch` over one raw socket: sends the request, reads the response head, then
/// the Server-Sent Events as they arrive (chunked framing removed, comment lines kept apart).
final class EventStream {
    struct Event: Equatable, CustomStringConvertible {
        let kind: String
        let id: String
        let data: String

        /// The document (or, for a delete, `{"id"}`) parsed with Foundation.
        var object: [String: Any] {
            (try? JSONSerialization.jsonObject(with: Data(data.utf8))) as? [String: Any] ?? [:]
        }
        var documentID: String { object["id"] as? String ?? "" }
        var description: String { "\(kind) \(documentID)" }
    }

    private let socket: RawSocket
    /// Bytes of `socket.received` already taken apart.
    private var consumed = 0
    private var body: [UInt8] = []
    private(set) var status = 0
    private(set) var headers: [String: String] = [:]
    /// Comment lines (heartbeats) seen so far.
    private(set) var comments = 0

    /// Opens the stream; throws when no response head arrives within 10 s.
    init(port: Int, target: String, headers extra: [(String, String)] = []) throws {
        guard let socket = RawSocket.connect(port: port) else { throw HTTPClient.Failure(description: "refused") }
        self.socket = socket
        let headers = [("Authorization", "Bearer \(TestService.key)")] + extra
        try socket.send(HTTPClient.request("GET", target, port: port, headers: headers, body: nil))
        let deadline = Date().addingTimeInterval(10)
        while headEnd() == nil {
            guard Date() < deadline, socket.receiveMore(timeout: deadline.timeIntervalSinceNow) == .data else {
                throw HTTPClient.Failure(description: "no response head: \(String(decoding: socket.received, as: UTF8.self))")
            }
        }
        let end = headEnd()!
        let lines = String(decoding: socket.received[..<end], as: UTF8.self).components(separatedBy: "\r\n")
        status = Int(lines.first?.split(separator: " ").dropFirst().first ?? "") ?? 0
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            self.headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        consumed = end + 4
    }

    /// The body of a response that is not a stream (an error): its `Content-Length` bytes.
    func wholeBody(timeout: Double = 10) -> String {
        let length = Int(headers["content-length"] ?? "") ?? 0
        let deadline = Date().addingTimeInterval(timeout)
        while socket.received.count - consumed < length, Date() < deadline,
            socket.receiveMore(timeout: deadline.timeIntervalSinceNow) == .data
        {}
        return String(decoding: socket.received[consumed...], as: UTF8.self)
    }

    func close() {
        socket.close()
    }

    /// The next event, waiting up to `timeout` seconds; nil when none came.
    func next(timeout: Double = 10) -> Event? {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let event = takeEvent() { return event }
            guard Date() < deadline, socket.receiveMore(timeout: deadline.timeIntervalSinceNow) == .data else { return nil }
        }
    }

    /// Events until `count` arrived or `timeout` seconds passed.
    func events(_ count: Int, timeout: Double = 10) -> [Event] {
        var events: [Event] = []
        let deadline = Date().addingTimeInterval(timeout)
        while events.count < count, let event = next(timeout: max(0, deadline.timeIntervalSinceNow)) {
            events.append(event)
        }
        return events
    }

    private func headEnd() -> Int? {
        let bytes = socket.received
        guard bytes.count >= 4 else { return nil }
        for index in 0...(bytes.count - 4) where bytes[index] == 13 && bytes[index + 1] == 10
            && bytes[index + 2] == 13 && bytes[index + 3] == 10
        {
            return index
        }
        return nil
    }

    /// Moves whole chunks from the socket's bytes into `body`, then takes one event off it.
    private func takeEvent() -> Event? {
        let bytes = socket.received
        while let lineEnd = Self.crlf(in: bytes, from: consumed),
            let size = Int(String(decoding: bytes[consumed..<lineEnd], as: UTF8.self), radix: 16),
            lineEnd + 2 + size + 2 <= bytes.count
        {
            body.append(contentsOf: bytes[(lineEnd + 2)..<(lineEnd + 2 + size)])
            consumed = lineEnd + 2 + size + 2
        }
        while let end = Self.blankLine(in: body) {
            let text = String(decoding: body[..<end], as: UTF8.self)
            body.removeFirst(end + 2)
            var fields: [String: String] = [:]
            for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
                if line.hasPrefix(":") {
                    comments += 1
                    continue
                }
                guard let colon = line.firstIndex(of: ":") else { continue }
                fields[String(line[..<colon])] = String(line[line.index(after: colon)...].dropFirst())
            }
            if let kind = fields["event"] {
                return Event(kind: kind, id: fields["id"] ?? "", data: fields["data"] ?? "")
            }
        }
        return nil
    }

    private static func crlf(in bytes: [UInt8], from start: Int) -> Int? {
        guard bytes.count >= start + 2 else { return nil }
        for index in start..<(bytes.count - 1) where bytes[index] == 13 && bytes[index + 1] == 10 { return index }
        return nil
    }

    private static func blankLine(in bytes: [UInt8]) -> Int? {
        guard bytes.count >= 2 else { return nil }
        for index in 0..<(bytes.count - 1) where bytes[index] == 10 && bytes[index + 1] == 10 { return index }
        return nil
    }
}
