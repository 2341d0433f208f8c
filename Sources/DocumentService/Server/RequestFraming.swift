/// The framing checks libmicrohttpd 0.9.75 leaves to its user. A request whose body length or headers
/// could be read two ways (by this service and by a proxy in front of it) is refused before routing and
/// its connection closed, so that nothing can be smuggled in behind it.
enum RequestFraming {
    /// One header as it arrived: its name and value bytes (a value may hold a NUL).
    struct RawHeader {
        let name: [UInt8]
        let value: [UInt8]
    }

    /// Whether a request target, as it arrived, is valid UTF-8 without control characters: anything else
    /// would be read differently by whoever decodes it next (a raw `\u{FF}` and `%EF%BF%BD` would name the
    /// same document).
    static func isClean(target: UnsafePointer<CChar>) -> Bool {
        guard let text = String(validatingCString: target) else { return false }
        return !text.utf8.contains { $0 < 0x20 || $0 == 0x7F }
    }

    /// The refusal for a request that is not framed unambiguously, or nil.
    static func refusal(version: String, targetIsClean: Bool, headers: [RawHeader]) -> APIError? {
        guard targetIsClean else {
            return malformed("The request target holds invalid UTF-8 or a control character; percent-encode it.")
        }
        var contentLengths = 0
        var transferEncoding: [UInt8]?
        var hasHost = false
        for header in headers {
            guard !header.name.isEmpty, header.name.allSatisfy(isTokenByte) else {
                return malformed("A header name holds a space or a character a header name may not hold.")
            }
            guard !header.value.contains(where: { $0 == 0 || $0 == 13 || $0 == 10 }) else {
                return malformed("A header value holds a NUL, CR or LF character.")
            }
            switch lowercased(header.name) {
            case Array("content-length".utf8): contentLengths += 1
            case Array("transfer-encoding".utf8): transferEncoding = header.value
            case Array("host".utf8): hasHost = true
            default: break
            }
        }
        if contentLengths > 1 {
            return malformed("The request has more than one Content-Length header.")
        }
        if let transferEncoding {
            if contentLengths > 0 {
                return malformed("The request has both Content-Length and Transfer-Encoding.")
            }
            guard lowercased(trimmed(transferEncoding)) == Array("chunked".utf8) else {
                return APIError(
                    status: 501,
                    code: "not_implemented",
                    message: "The only transfer coding this service reads is chunked.",
                    headers: [("Connection", "close")]
                )
            }
        }
        if version == "HTTP/1.1" && !hasHost {
            return malformed("An HTTP/1.1 request needs a Host header.")
        }
        return nil
    }

    private static func malformed(_ message: String) -> APIError {
        APIError(status: 400, code: "invalid_request", message: message, headers: [("Connection", "close")])
    }

    /// RFC 9110's token characters: what a header name is made of.
    private static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return Array("!#$%&'*+-.^_`|~".utf8).contains(byte)
        }
    }

    private static func lowercased(_ bytes: [UInt8]) -> [UInt8] {
        bytes.map { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") ? $0 | 0x20 : $0 }
    }

    private static func trimmed(_ bytes: [UInt8]) -> [UInt8] {
        let blank = { (byte: UInt8) in byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        guard let first = bytes.firstIndex(where: { !blank($0) }), let last = bytes.lastIndex(where: { !blank($0) })
        else { return [] }
        return Array(bytes[first...last])
    }
}
