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

    /// Whether `text` is an ISO 8601 date-time: `YYYY-MM-DDTHH:MM[:SS[.fraction]]` with an optional
    /// `Z` or `±HH:MM` offset (the forms Python's `isoformat()` and JavaScript's `toISOString()` print).
    static func isValid(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        var index = 0
        func digits(_ count: Int) -> Bool {
            guard index + count <= bytes.count else { return false }
            for offset in 0..<count where !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index + offset]) {
                return false
            }
            index += count
            return true
        }
        func literal(_ character: Character) -> Bool {
            guard index < bytes.count, bytes[index] == character.asciiValue else { return false }
            index += 1
            return true
        }
        guard digits(4), literal("-"), digits(2), literal("-"), digits(2) else { return false }
        guard literal("T") || literal(" "), digits(2), literal(":"), digits(2) else { return false }
        if literal(":") {
            guard digits(2) else { return false }
            if literal(".") {
                guard digits(1) else { return false }
                while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
            }
        }
        if index == bytes.count { return true }
        if literal("Z") { return index == bytes.count }
        guard literal("+") || literal("-"), digits(2), literal(":"), digits(2) else { return false }
        return index == bytes.count
    }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, width - text.count)) + text
    }
}
