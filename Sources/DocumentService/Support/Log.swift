#if canImport(Glibc)
    import Glibc
#endif

/// Log lines on standard error: a UTC timestamp, a level, a message. Each line is one `write(2)`,
/// so lines from different threads never interleave.
public struct Log: Sendable {
    public enum Level: String, Sendable {
        case info
        case warning
        case error
    }

    private let fileDescriptor: Int32?

    /// Logs to standard error.
    public init() {
        fileDescriptor = 2
    }

    private init(fileDescriptor: Int32?) {
        self.fileDescriptor = fileDescriptor
    }

    /// Drops every line (for tests that make many requests).
    public static let silent = Log(fileDescriptor: nil)

    public func callAsFunction(_ level: Level, _ message: String) {
        guard let fileDescriptor else { return }
        var line = Array(Self.timestamp().utf8)
        line.append(UInt8(ascii: " "))
        line.append(contentsOf: level.rawValue.utf8)
        line.append(UInt8(ascii: " "))
        line.append(contentsOf: message.utf8)
        line.append(UInt8(ascii: "\n"))
        line.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = write(fileDescriptor, bytes.baseAddress! + offset, bytes.count - offset)
                if written <= 0 { break }
                offset += written
            }
        }
    }

    /// `2026-11-25T20:20:52.123Z`.
    private static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var parts = tm()
        var seconds = now.tv_sec
        gmtime_r(&seconds, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let millis = Int(now.tv_nsec / 1_000_000)
        let fraction = millis < 10 ? "00\(millis)" : millis < 100 ? "0\(millis)" : "\(millis)"
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T"
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)).\(fraction)Z"
    }
}
