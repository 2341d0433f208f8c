extension JSONValue {
    /// Compact JSON text (no insignificant whitespace), numbers written as their stored literal.
    public var serialized: String {
        var buffer: [UInt8] = []
        write(to: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }

    /// Appends the compact JSON text to a byte buffer.
    public func write(to buffer: inout [UInt8]) {
        switch self {
        case .null:
            buffer.append(contentsOf: "null".utf8)
        case .bool(let value):
            buffer.append(contentsOf: (value ? "true" : "false").utf8)
        case .number(let literal):
            buffer.append(contentsOf: literal.utf8)
        case .string(let string):
            appendJSONString(string, to: &buffer)
        case .array(let elements):
            buffer.append(UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                if index > 0 {
                    buffer.append(UInt8(ascii: ","))
                }
                element.write(to: &buffer)
            }
            buffer.append(UInt8(ascii: "]"))
        case .object(let object):
            object.write(to: &buffer)
        }
    }
}

extension JSONObject {
    /// Compact JSON text (no insignificant whitespace), keys in insertion order.
    public var serialized: String {
        var buffer: [UInt8] = []
        write(to: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }

    func write(to buffer: inout [UInt8]) {
        buffer.append(UInt8(ascii: "{"))
        var isFirst = true
        for (key, value) in self {
            if !isFirst {
                buffer.append(UInt8(ascii: ","))
            }
            isFirst = false
            appendJSONString(key, to: &buffer)
            buffer.append(UInt8(ascii: ":"))
            value.write(to: &buffer)
        }
        buffer.append(UInt8(ascii: "}"))
    }
}

/// Appends `s` as a quoted JSON string, escaping `"`, `\` and control characters; all else stays raw UTF-8.
func appendJSONString(_ s: String, to buffer: inout [UInt8]) {
    let quote = UInt8(ascii: "\""), backslash = UInt8(ascii: "\\")
    var s = s
    buffer.append(quote)
    s.withUTF8 { bytes in
        var runStart = 0
        for (offset, byte) in bytes.enumerated() where byte < 0x20 || byte == quote || byte == backslash {
            buffer.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<offset]))
            appendEscape(for: byte, to: &buffer)
            runStart = offset + 1
        }
        buffer.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart...]))
    }
    buffer.append(quote)
}

/// Appends the escape sequence for a quote, a backslash or a control character.
private func appendEscape(for byte: UInt8, to buffer: inout [UInt8]) {
    switch byte {
    case 0x0A: buffer.append(contentsOf: #"\n"#.utf8)
    case 0x0D: buffer.append(contentsOf: #"\r"#.utf8)
    case 0x09: buffer.append(contentsOf: #"\t"#.utf8)
    case 0x08: buffer.append(contentsOf: #"\b"#.utf8)
    case 0x0C: buffer.append(contentsOf: #"\f"#.utf8)
    case ..<0x20:
        let low = byte & 0x0F
        buffer.append(contentsOf: #"\u00"#.utf8)
        buffer.append(UInt8(ascii: "0") + byte >> 4)
        buffer.append(low < 10 ? UInt8(ascii: "0") + low : UInt8(ascii: "a") + low - 10)
    default:
        buffer.append(UInt8(ascii: "\\"))
        buffer.append(byte)
    }
}
