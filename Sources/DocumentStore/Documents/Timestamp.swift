#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `creation_utc` values: generated as Python's `datetime.now(timezone.utc).isoformat()` prints them,
/// and checked to be ISO 8601 when a client supplies them.
enum Timestamp {
    /// Now in UTC, e.g. `2026-11-25T19:44:00.123456+00:00` (no fraction when the microseconds are zero).
    static func now() -> String {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        var seconds = spec.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let micros = Int(spec.tv_nsec) / 1000
        var text = "\(pad(Int(parts.tm_year) + 1900, 4))-\(pad(Int(parts.tm_mon) + 1, 2))-\(pad(Int(parts.tm_mday), 2))"
        text += "T\(pad(Int(parts.tm_hour), 2)):\(pad(Int(parts.tm_min), 2)):\(pad(Int(parts.tm_sec), 2))"
        if micros != 0 { text += ".\(pad(micros, 6))" }
        return text + "+00:00"
    }

    /// Whether `text` is an ISO 8601 date-time that Python's `datetime.fromisoformat` reads back:
    /// `YYYY-MM-DDTHH:MM[:SS[.fraction]]` with an optional `Z` or `±HH:MM` offset, every part in range.
    static func isValid(_ text: String) -> Bool {
        var scanner = DigitScanner(bytes: Array(text.utf8))
        guard let year = scanner.number(4), scanner.consume("-"), let month = scanner.number(2), scanner.consume("-"),
            let day = scanner.number(2), scanner.consume("T") || scanner.consume(" "),
            let hour = scanner.number(2), scanner.consume(":"), let minute = scanner.number(2)
        else { return false }
        guard year >= 1, (1...12).contains(month), (1...daysIn(month: month, year: year)).contains(day),
            hour < 24, minute < 60
        else { return false }
        if scanner.consume(":") {
            guard let second = scanner.number(2), second < 60 else { return false }
            if scanner.consume(".") {
                guard scanner.digitRun() >= 1 else { return false }
            }
        }
        if scanner.isAtEnd { return true }
        if scanner.consume("Z") { return scanner.isAtEnd }
        guard scanner.consume("+") || scanner.consume("-"), let offsetHours = scanner.number(2), scanner.consume(":"),
            let offsetMinutes = scanner.number(2)
        else { return false }
        return offsetHours < 24 && offsetMinutes < 60 && scanner.isAtEnd
    }

    private static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, width - text.count)) + text
    }
}

/// Reads fixed-width numbers and literal characters from ASCII bytes.
private struct DigitScanner {
    let bytes: [UInt8]
    var index = 0

    var isAtEnd: Bool { index == bytes.count }

    mutating func number(_ width: Int) -> Int? {
        guard index + width <= bytes.count else { return nil }
        var value = 0
        for byte in bytes[index..<index + width] {
            guard (48...57).contains(byte) else { return nil }
            value = value * 10 + Int(byte - 48)
        }
        index += width
        return value
    }

    mutating func consume(_ character: Character) -> Bool {
        guard index < bytes.count, bytes[index] == character.asciiValue else { return false }
        index += 1
        return true
    }

    /// Consumes a run of digits and returns its length.
    mutating func digitRun() -> Int {
        let start = index
        while index < bytes.count, (48...57).contains(bytes[index]) { index += 1 }
        return index - start
    }
}
