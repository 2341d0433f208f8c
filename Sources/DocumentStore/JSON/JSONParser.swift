/// Why a JSON text could not be parsed, and where.
public struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// One sentence for a person, such as "unexpected character '}' at byte 17, expected a value".
    public let message: String
    /// The zero-based byte offset in the input where the problem is.
    public let offset: Int

    /// The message.
    public var description: String { message }
}

extension JSONValue {
    /// Parses exactly one JSON value (RFC 8259) from UTF-8 bytes; surrounding whitespace is allowed,
    /// trailing garbage is an error.
    ///
    /// Arrays and objects may nest at most `maxDepth` levels; a top-level array or object is level 1.
    /// Strings may not contain U+0000, because PostgreSQL's jsonb cannot store it.
    /// When an object repeats a key, the last value wins.
    public static func parse<Bytes: Collection>(
        _ bytes: Bytes,
        maxDepth: Int = 64
    ) throws(JSONParseError) -> JSONValue where Bytes.Element == UInt8 {
        let result = bytes.withContiguousStorageIfAvailable { buffer in
            Result { () throws(JSONParseError) in try parse(buffer: buffer, maxDepth: maxDepth) }
        }
        if let result {
            return try result.get()
        }
        return try parse(Array(bytes), maxDepth: maxDepth)
    }

    /// Parses exactly one JSON value (RFC 8259) from a string; surrounding whitespace is allowed,
    /// trailing garbage is an error.
    ///
    /// The rules are those of `parse(_:maxDepth:)` for bytes, and offsets in errors count UTF-8 bytes.
    public static func parse(_ text: String, maxDepth: Int = 64) throws(JSONParseError) -> JSONValue {
        var text = text
        return try text.withUTF8 { buffer in
            Result { () throws(JSONParseError) in try parse(buffer: buffer, maxDepth: maxDepth) }
        }.get()
    }

    private static func parse(
        buffer: UnsafeBufferPointer<UInt8>,
        maxDepth: Int
    ) throws(JSONParseError) -> JSONValue {
        var parser = JSONParser(input: buffer, maxDepth: maxDepth)
        return try parser.parseDocument()
    }
}

/// Byte values the parser looks for.
private enum JSONByte {
    static let quote = UInt8(ascii: "\"")
    static let backslash = UInt8(ascii: "\\")
    static let slash = UInt8(ascii: "/")
    static let comma = UInt8(ascii: ",")
    static let colon = UInt8(ascii: ":")
    static let openBracket = UInt8(ascii: "[")
    static let closeBracket = UInt8(ascii: "]")
    static let openBrace = UInt8(ascii: "{")
    static let closeBrace = UInt8(ascii: "}")
    static let minus = UInt8(ascii: "-")
    static let plus = UInt8(ascii: "+")
    static let dot = UInt8(ascii: ".")
    static let zero = UInt8(ascii: "0")
    static let nine = UInt8(ascii: "9")
    static let lowerE = UInt8(ascii: "e")
    static let upperE = UInt8(ascii: "E")
    static let singleQuote = UInt8(ascii: "'")
}

/// Parses JSON from UTF-8 bytes, validating the UTF-8 as it goes; open arrays and objects are kept on heap stacks
/// rather than the call stack, so deep nesting cannot overflow it.
private struct JSONParser {
    /// An array or object that is open; its members so far are on the parser's value and key stacks.
    private enum Container {
        case array(firstValue: Int)
        case object(firstValue: Int, firstKey: Int)
    }

    private let input: UnsafeBufferPointer<UInt8>
    private let maxDepth: Int
    private var position = 0
    private var scratch: [UInt8] = []

    init(input: UnsafeBufferPointer<UInt8>, maxDepth: Int) {
        self.input = input
        self.maxDepth = maxDepth
    }

    mutating func parseDocument() throws(JSONParseError) -> JSONValue {
        skipWhitespace()
        guard position < input.count else {
            throw JSONParseError(message: "empty JSON text", offset: 0)
        }
        var containers: [Container] = []
        var values: [JSONValue] = []
        var keys: [String] = []

        parsing: while true {
            skipWhitespace()
            var value: JSONValue
            switch byte(at: position) {
            case JSONByte.openBracket:
                try checkDepth(containers.count + 1)
                position += 1
                skipWhitespace()
                if byte(at: position) == JSONByte.closeBracket {
                    position += 1
                    value = .array([])
                } else {
                    containers.append(.array(firstValue: values.count))
                    continue parsing
                }
            case JSONByte.openBrace:
                try checkDepth(containers.count + 1)
                position += 1
                skipWhitespace()
                if byte(at: position) == JSONByte.closeBrace {
                    position += 1
                    value = .object(JSONObject())
                } else {
                    containers.append(.object(firstValue: values.count, firstKey: keys.count))
                    keys.append(try parseKey())
                    continue parsing
                }
            default:
                value = try parseScalar()
            }

            while let container = containers.last {
                values.append(value)
                skipWhitespace()
                switch container {
                case .array(let firstValue):
                    switch byte(at: position) {
                    case JSONByte.comma:
                        try skipComma(closer: JSONByte.closeBracket)
                        continue parsing
                    case JSONByte.closeBracket:
                        position += 1
                        containers.removeLast()
                        value = .array(Array(values[firstValue...]))
                        values.removeSubrange(firstValue...)
                    default:
                        throw unexpected(expecting: "',' or ']'")
                    }
                case .object(let firstValue, let firstKey):
                    switch byte(at: position) {
                    case JSONByte.comma:
                        try skipComma(closer: JSONByte.closeBrace)
                        keys.append(try parseKey())
                        continue parsing
                    case JSONByte.closeBrace:
                        position += 1
                        containers.removeLast()
                        value = .object(JSONObject(keys: keys[firstKey...], values: values[firstValue...]))
                        keys.removeSubrange(firstKey...)
                        values.removeSubrange(firstValue...)
                    default:
                        throw unexpected(expecting: "',' or '}'")
                    }
                }
            }

            skipWhitespace()
            guard position == input.count else {
                throw unexpected(expecting: "the end of the input after the JSON value")
            }
            return value
        }
    }

    // MARK: - Structure

    /// The byte at `offset`, or `nil` at the end of the input.
    private func byte(at offset: Int) -> UInt8? {
        offset < input.count ? input[offset] : nil
    }

    private mutating func skipWhitespace() {
        while position < input.count {
            switch input[position] {
            case 0x20, 0x0A, 0x0D, 0x09: position += 1
            default: return
            }
        }
    }

    private func checkDepth(_ depth: Int) throws(JSONParseError) {
        guard depth <= maxDepth else {
            throw JSONParseError(
                message: "nesting deeper than \(maxDepth) levels at byte \(position)",
                offset: position
            )
        }
    }

    /// Consumes a comma and the whitespace after it, rejecting a comma directly before `closer`.
    private mutating func skipComma(closer: UInt8) throws(JSONParseError) {
        let commaOffset = position
        position += 1
        skipWhitespace()
        if byte(at: position) == closer {
            throw JSONParseError(
                message: "trailing comma at byte \(commaOffset) before '\(Character(Unicode.Scalar(closer)))'",
                offset: commaOffset
            )
        }
    }

    /// Parses an object key and the colon after it.
    private mutating func parseKey() throws(JSONParseError) -> String {
        guard byte(at: position) == JSONByte.quote else {
            throw unexpected(expecting: "a string key")
        }
        let key = try parseString()
        skipWhitespace()
        guard byte(at: position) == JSONByte.colon else {
            throw unexpected(expecting: "':' after the object key")
        }
        position += 1
        return key
    }

    private mutating func parseScalar() throws(JSONParseError) -> JSONValue {
        switch byte(at: position) {
        case JSONByte.quote:
            return .string(try parseString())
        case UInt8(ascii: "t"):
            try parseLiteral("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try parseLiteral("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try parseLiteral("null")
            return .null
        case JSONByte.minus, .some(JSONByte.zero...JSONByte.nine):
            return try parseNumber()
        case JSONByte.plus:
            throw unexpected(expecting: "a value (numbers cannot start with '+')")
        case JSONByte.dot:
            throw unexpected(expecting: "a value (numbers need a digit before '.')")
        case JSONByte.slash:
            throw unexpected(expecting: "a value (comments are not allowed)")
        case JSONByte.singleQuote:
            throw unexpected(expecting: "a value (strings use double quotes)")
        case UInt8(ascii: "N"), UInt8(ascii: "I"):
            throw unexpected(expecting: "a value (NaN and Infinity are not JSON)")
        default:
            throw unexpected(expecting: "a value")
        }
    }

    private mutating func parseLiteral(_ word: String) throws(JSONParseError) {
        for expected in word.utf8 {
            guard byte(at: position) == expected else {
                throw unexpected(expecting: "'\(word)'")
            }
            position += 1
        }
    }

    // MARK: - Numbers

    private mutating func parseNumber() throws(JSONParseError) -> JSONValue {
        let start = position
        if input[position] == JSONByte.minus {
            position += 1
        }
        if byte(at: position) == JSONByte.zero {
            position += 1
            if isDigit(at: position) {
                throw JSONParseError(
                    message: "leading zeros are not allowed in numbers at byte \(position - 1)",
                    offset: position - 1
                )
            }
        } else {
            try skipDigits(expecting: "a digit after '-'")
        }
        if byte(at: position) == JSONByte.dot {
            position += 1
            try skipDigits(expecting: "a digit after '.'")
        }
        if byte(at: position) == JSONByte.lowerE || byte(at: position) == JSONByte.upperE {
            position += 1
            if byte(at: position) == JSONByte.plus || byte(at: position) == JSONByte.minus {
                position += 1
            }
            try skipDigits(expecting: "a digit in the exponent")
        }
        return .number(String(decoding: UnsafeBufferPointer(rebasing: input[start..<position]), as: UTF8.self))
    }

    private func isDigit(at offset: Int) -> Bool {
        offset < input.count && (JSONByte.zero...JSONByte.nine).contains(input[offset])
    }

    /// Skips one or more digits.
    private mutating func skipDigits(expecting expectation: String) throws(JSONParseError) {
        guard isDigit(at: position) else {
            throw unexpected(expecting: expectation)
        }
        repeat {
            position += 1
        } while isDigit(at: position)
    }

    // MARK: - Strings

    /// Parses a string whose opening quote is at `position`.
    private mutating func parseString() throws(JSONParseError) -> String {
        let start = position
        position += 1
        var runStart = position
        var hasEscapes = false
        while position < input.count {
            let byte = input[position]
            if byte >= 0x20 && byte < 0x80 && byte != JSONByte.quote && byte != JSONByte.backslash {
                position += 1
            } else if byte == JSONByte.quote {
                let run = UnsafeBufferPointer(rebasing: input[runStart..<position])
                position += 1
                guard hasEscapes else {
                    return String(decoding: run, as: UTF8.self)
                }
                scratch.append(contentsOf: run)
                return String(decoding: scratch, as: UTF8.self)
            } else if byte == JSONByte.backslash {
                if !hasEscapes {
                    hasEscapes = true
                    scratch.removeAll(keepingCapacity: true)
                }
                scratch.append(contentsOf: UnsafeBufferPointer(rebasing: input[runStart..<position]))
                try parseEscape(stringStart: start)
                runStart = position
            } else if byte == 0 {
                throw nulError(at: position)
            } else if byte < 0x20 {
                throw JSONParseError(
                    message: "unescaped control character \(scalarName(UInt32(byte))) in string at byte \(position)",
                    offset: position
                )
            } else if let end = utf8SequenceEnd(at: position) {
                position = end
            } else {
                throw invalidUTF8(at: position)
            }
        }
        throw JSONParseError(message: "unterminated string starting at byte \(start)", offset: start)
    }

    /// Parses the escape sequence whose backslash is at `position`, appending its UTF-8 to `scratch`.
    private mutating func parseEscape(stringStart: Int) throws(JSONParseError) {
        let escapeStart = position
        position += 1
        guard let escaped = byte(at: position) else {
            throw JSONParseError(message: "unterminated string starting at byte \(stringStart)", offset: stringStart)
        }
        position += 1
        switch escaped {
        case JSONByte.quote, JSONByte.backslash, JSONByte.slash: scratch.append(escaped)
        case UInt8(ascii: "b"): scratch.append(0x08)
        case UInt8(ascii: "f"): scratch.append(0x0C)
        case UInt8(ascii: "n"): scratch.append(0x0A)
        case UInt8(ascii: "r"): scratch.append(0x0D)
        case UInt8(ascii: "t"): scratch.append(0x09)
        case UInt8(ascii: "u"): try parseUnicodeEscape(escapeStart: escapeStart)
        case 0x80... where utf8SequenceEnd(at: escapeStart + 1) == nil:
            throw invalidUTF8(at: escapeStart + 1)
        default:
            let character = describe(at: escapeStart + 1)
            throw JSONParseError(
                message: "invalid escape sequence: '\\' followed by \(character) at byte \(escapeStart)",
                offset: escapeStart
            )
        }
    }

    /// Parses the four hex digits after `\u` (and a low surrogate escape after a high one).
    private mutating func parseUnicodeEscape(escapeStart: Int) throws(JSONParseError) {
        let unit = try parseHex4(escapeStart: escapeStart)
        let scalarValue: UInt32
        switch unit {
        case 0:
            throw nulError(at: escapeStart)
        case 0xD800...0xDBFF:
            let lowStart = position
            guard byte(at: position) == JSONByte.backslash, byte(at: position + 1) == UInt8(ascii: "u") else {
                throw loneSurrogate(unit, at: escapeStart)
            }
            position += 2
            let low = try parseHex4(escapeStart: lowStart)
            guard (0xDC00...0xDFFF).contains(low) else {
                throw loneSurrogate(unit, at: escapeStart)
            }
            scalarValue = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
        case 0xDC00...0xDFFF:
            throw loneSurrogate(unit, at: escapeStart)
        default:
            scalarValue = unit
        }
        appendUTF8(of: scalarValue)
    }

    private mutating func parseHex4(escapeStart: Int) throws(JSONParseError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            let digit: UInt8
            switch byte(at: position) {
            case .some(let byte) where (JSONByte.zero...JSONByte.nine).contains(byte): digit = byte - JSONByte.zero
            case .some(let byte) where (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte):
                digit = byte - UInt8(ascii: "a") + 10
            case .some(let byte) where (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(byte):
                digit = byte - UInt8(ascii: "A") + 10
            default:
                throw JSONParseError(
                    message: "invalid \\u escape at byte \(escapeStart), expected four hex digits",
                    offset: escapeStart
                )
            }
            value = value << 4 | UInt32(digit)
            position += 1
        }
        return value
    }

    private mutating func appendUTF8(of scalar: UInt32) {
        switch scalar {
        case ..<0x80:
            scratch.append(UInt8(scalar))
        case ..<0x800:
            scratch.append(UInt8(0xC0 | scalar >> 6))
            scratch.append(UInt8(0x80 | scalar & 0x3F))
        case ..<0x10000:
            scratch.append(UInt8(0xE0 | scalar >> 12))
            scratch.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            scratch.append(UInt8(0x80 | scalar & 0x3F))
        default:
            scratch.append(UInt8(0xF0 | scalar >> 18))
            scratch.append(UInt8(0x80 | scalar >> 12 & 0x3F))
            scratch.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            scratch.append(UInt8(0x80 | scalar & 0x3F))
        }
    }

    /// The offset just past the well-formed multi-byte UTF-8 sequence starting at `offset`, or `nil` if it is
    /// ill-formed (overlong, a surrogate, above U+10FFFF, truncated, or not a lead byte).
    private func utf8SequenceEnd(at offset: Int) -> Int? {
        var secondRange: ClosedRange<UInt8> = 0x80...0xBF
        let length: Int
        switch input[offset] {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; secondRange = 0xA0...0xBF
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; secondRange = 0x80...0x9F
        case 0xF0: length = 4; secondRange = 0x90...0xBF
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; secondRange = 0x80...0x8F
        default: return nil
        }
        guard offset + length <= input.count, secondRange.contains(input[offset + 1]) else {
            return nil
        }
        for continuation in offset + 2..<offset + length where input[continuation] & 0xC0 != 0x80 {
            return nil
        }
        return offset + length
    }

    // MARK: - Errors

    /// An error for the byte at `position`, which is not what was expected.
    private func unexpected(expecting expectation: String) -> JSONParseError {
        guard position < input.count else {
            return JSONParseError(
                message: "unexpected end of input at byte \(position), expected \(expectation)",
                offset: position
            )
        }
        if input[position] >= 0x80 && utf8SequenceEnd(at: position) == nil {
            return invalidUTF8(at: position)
        }
        return JSONParseError(
            message: "unexpected character \(describe(at: position)) at byte \(position), expected \(expectation)",
            offset: position
        )
    }

    /// The character at `offset` as a person would read it: `'x'` for printable ASCII, otherwise `U+XXXX`.
    private func describe(at offset: Int) -> String {
        let byte = input[offset]
        if byte > 0x20 && byte < 0x7F {
            return "'\(Character(Unicode.Scalar(byte)))'"
        }
        guard byte >= 0x80, let end = utf8SequenceEnd(at: offset) else {
            return scalarName(UInt32(byte))
        }
        let character = String(decoding: UnsafeBufferPointer(rebasing: input[offset..<end]), as: UTF8.self)
        return scalarName(character.unicodeScalars.first?.value ?? 0)
    }

    private func scalarName(_ value: UInt32) -> String {
        "U+" + hex4(value)
    }

    /// Uppercase hexadecimal, padded to at least four digits.
    private func hex4(_ value: UInt32) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    private func invalidUTF8(at offset: Int) -> JSONParseError {
        JSONParseError(message: "invalid UTF-8 at byte \(offset)", offset: offset)
    }

    private func nulError(at offset: Int) -> JSONParseError {
        JSONParseError(
            message: "the character U+0000 is not allowed in strings, found at byte \(offset)",
            offset: offset
        )
    }

    private func loneSurrogate(_ unit: UInt32, at offset: Int) -> JSONParseError {
        let kind = unit < 0xDC00 ? "high" : "low"
        return JSONParseError(message: "lone \(kind) surrogate \\u\(hex4(unit)) at byte \(offset)", offset: offset)
    }
}
