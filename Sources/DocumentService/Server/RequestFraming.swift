/// The framing checks libmicrohttpd 0.9.75 leaves to its user. A request whose body length or headers
/// could be read two ways (by this service and by a proxy in front of it) is refused before routing and
/// its connection closed, so that nothing can be smuggled in behind it.
enum RequestFraming {
    /// The request target as text, and whether it arrived as valid UTF-8 without control characters:
    /// anything else would be read differently by whoever decodes it next (a raw `\u{FF}` and
    /// `%EF%BF%BD` would name the same document).
    static func target(_ raw: UnsafePointer<CChar>) -> (text: String, isClean: Bool) {
        guard let text = String(validatingCString: raw) else { return (String(cString: raw), false) }
        return (text, !text.utf8.contains { $0 < 0x20 || $0 == 0x7F })
    }

    /// The refusal for a request that is not framed unambiguously, or nil. `headerLinesAreWhole` says
    /// whether libmicrohttpd read every header line to its end (a NUL inside a value ends it early).
    static func refusal(
        version: String, targetIsClean: Bool, headerLinesAreWhole: Bool, headers: HTTPHeaders
    ) -> APIError? {
        guard targetIsClean else {
            return malformed("The request target holds invalid UTF-8 or a control character; percent-encode it.")
        }
        guard headerLinesAreWhole else {
            return malformed("A header value holds a NUL character, or a header line is folded onto the next.")
        }
        var contentLengths = 0
        var transferEncoding: String?
        var hasHost = false
        for (name, value) in headers.all {
            guard !name.isEmpty, name.utf8.allSatisfy(isTokenByte) else {
                return malformed("A header name holds a space or a character a header name may not hold.")
            }
            guard !value.utf8.contains(where: { $0 == 13 || $0 == 10 }) else {
                return malformed("A header value holds a CR or LF character.")
            }
            switch name {
            case "content-length": contentLengths += 1
            case "transfer-encoding": transferEncoding = value
            case "host": hasHost = true
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
            guard transferEncoding.trimming(" \t").lowercased() == "chunked" else {
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

    private static let tokenMarks = Array("!#$%&'*+-.^_`|~".utf8)

    /// RFC 9110's token characters: what a header name is made of.
    private static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return tokenMarks.contains(byte)
        }
    }
}
