#if canImport(Glibc)
    import Glibc
#endif

/// Log lines on standard error, each one `write(2)` so that lines from different threads never
/// interleave: `<UTC time> <level> <message>` as text, or one JSON object a line (`LOG_FORMAT=json`).
public struct Log: Sendable {
    public enum Level: String, Sendable {
        case info
        case warning
        case error
    }

    /// How lines are written (`LOG_FORMAT`).
    public enum Format: String, Sendable, CaseIterable {
        /// `2026-11-25T20:20:52.123Z info GET /{store}/{collection} 200 0.8ms id=... key=...`
        case text
        /// `{"time": "...", "level": "info", "request_id": "...", "method": "GET", ...}`
        case json
    }

    private let fileDescriptor: Int32?
    public let format: Format

    /// Logs to standard error.
    public init(format: Format = .text) {
        fileDescriptor = 2
        self.format = format
    }

    private init(fileDescriptor: Int32?) {
        self.fileDescriptor = fileDescriptor
        format = .text
    }

    /// Drops every line (for tests that make many requests).
    public static let silent = Log(fileDescriptor: nil)

    public func callAsFunction(_ level: Level, _ message: String) {
        guard fileDescriptor != nil else { return }
        var line: [UInt8] = []
        line.reserveCapacity(48 + message.utf8.count)
        switch format {
        case .text:
            start(&line, level)
            line.append(contentsOf: message.utf8)
        case .json:
            start(&line, level)
            line.append(contentsOf: #","message":"#.utf8)
            line.append(contentsOf: JSONText.quoted(message).utf8)
            line.append(UInt8(ascii: "}"))
        }
        write(line)
    }

    /// The line of one request: what was asked (method and route template, never the path), how it
    /// ended, and by which key (its fingerprint, never the key).
    func request(_ entry: RequestLogEntry) {
        guard fileDescriptor != nil else { return }
        var line: [UInt8] = []
        line.reserveCapacity(160)
        start(&line, .info)
        switch format {
        case .text:
            if let method = entry.method {
                line.append(contentsOf: "\(method) \(entry.route) \(entry.status.map(String.init) ?? "-") ".utf8)
            } else {
                line.append(contentsOf: "(malformed request) - ".utf8)
            }
            line.append(contentsOf: entry.milliseconds.utf8)
            line.append(contentsOf: "ms".utf8)
            if let id = entry.requestID { line.append(contentsOf: " id=\(id)".utf8) }
            if let key = entry.keyFingerprint { line.append(contentsOf: " key=\(key)".utf8) }
            if let ended = entry.endedEarly { line.append(contentsOf: " (connection ended early: \(ended))".utf8) }
        case .json:
            func field(_ name: String, _ value: String?) {
                guard let value else { return }
                line.append(contentsOf: ",\"\(name)\":".utf8)
                line.append(contentsOf: JSONText.quoted(value).utf8)
            }
            field("request_id", entry.requestID)
            field("method", entry.method ?? "-")
            field("route", entry.method == nil ? "(malformed request)" : entry.route)
            if let status = entry.status { line.append(contentsOf: ",\"status\":\(status)".utf8) }
            line.append(contentsOf: ",\"ms\":\(entry.milliseconds)".utf8)
            field("error", entry.errorCode)
            field("key", entry.keyFingerprint)
            field("connection_ended_early", entry.endedEarly)
            line.append(UInt8(ascii: "}"))
        }
        write(line)
    }

    /// Starts a line: the time and level, as text or as the first JSON fields.
    private func start(_ line: inout [UInt8], _ level: Level) {
        switch format {
        case .text:
            Self.appendTimestamp(to: &line)
            line.append(UInt8(ascii: " "))
            line.append(contentsOf: level.rawValue.utf8)
            line.append(UInt8(ascii: " "))
        case .json:
            line.append(contentsOf: #"{"time":""#.utf8)
            Self.appendTimestamp(to: &line)
            line.append(contentsOf: #"","level":""#.utf8)
            line.append(contentsOf: level.rawValue.utf8)
            line.append(UInt8(ascii: "\""))
        }
    }

    private func write(_ text: [UInt8]) {
        guard let fileDescriptor else { return }
        var line = text
        line.append(UInt8(ascii: "\n"))
        line.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = Glibc.write(fileDescriptor, bytes.baseAddress! + offset, bytes.count - offset)
                if written <= 0 { break }
                offset += written
            }
        }
    }

    /// Appends the time now, as `2026-11-25T20:20:52.123Z`.
    private static func appendTimestamp(to line: inout [UInt8]) {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var parts = tm()
        var seconds = now.tv_sec
        gmtime_r(&seconds, &parts)
        func digits(_ value: Int, _ count: Int) {
            var divisor = 1
            for _ in 1..<count { divisor *= 10 }
            while divisor > 0 {
                line.append(UInt8(ascii: "0") + UInt8(value / divisor % 10))
                divisor /= 10
            }
        }
        digits(Int(parts.tm_year) + 1900, 4)
        line.append(UInt8(ascii: "-"))
        digits(Int(parts.tm_mon) + 1, 2)
        line.append(UInt8(ascii: "-"))
        digits(Int(parts.tm_mday), 2)
        line.append(UInt8(ascii: "T"))
        digits(Int(parts.tm_hour), 2)
        line.append(UInt8(ascii: ":"))
        digits(Int(parts.tm_min), 2)
        line.append(UInt8(ascii: ":"))
        digits(Int(parts.tm_sec), 2)
        line.append(UInt8(ascii: "."))
        digits(Int(now.tv_nsec) / 1_000_000, 3)
        line.append(UInt8(ascii: "Z"))
    }
}

/// What the log says of one request.
struct RequestLogEntry {
    let requestID: String?
    /// Nil for a request libmicrohttpd could not parse.
    let method: String?
    /// The route template, never the concrete path (which may hold ids).
    let route: String
    let status: Int?
    /// Duration to a tenth of a millisecond, as `0.8`.
    let milliseconds: String
    let keyFingerprint: String?
    /// The error body's code, for an error answer.
    let errorCode: String?
    /// Why the connection ended before the answer was complete, when it did.
    let endedEarly: String?
}
