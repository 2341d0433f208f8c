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
        var line: [UInt8] = []
        line.reserveCapacity(32 + message.utf8.count)
        Self.appendTimestamp(to: &line)
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
