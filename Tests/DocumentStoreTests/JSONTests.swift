import DocumentStore
import TestSupport
import Testing

/// The error thrown when parsing `bytes`, or `nil` if they parse.
private func parseError(_ bytes: [UInt8], maxDepth: Int = 64) -> JSONParseError? {
    do {
        _ = try JSONValue.parse(bytes, maxDepth: maxDepth)
        return nil
    } catch {
        return error
    }
}

private func parseError(_ text: String, maxDepth: Int = 64) -> JSONParseError? {
    parseError(Array(text.utf8), maxDepth: maxDepth)
}

@Suite("JSON values and objects")
struct JSONValueTests {
    @Test("Accessors return the payload only for the matching case")
    func accessors() {
        let object = JSONObject([("a", .null)])
        #expect(JSONValue.string("s").stringValue == "s")
        #expect(JSONValue.number("1").stringValue == nil)
        #expect(JSONValue.object(object).objectValue == object)
        #expect(JSONValue.array([.null]).arrayValue == [.null])
        #expect(JSONValue.bool(false).boolValue == false)
        #expect(JSONValue.null.boolValue == nil)
        #expect(JSONValue.number("1.50").numberLiteral == "1.50")
        #expect(JSONValue.null.isNull)
        #expect(!JSONValue.bool(false).isNull)
        let names = [JSONValue.null, .bool(true), .number("1"), .string(""), .array([]), .object(JSONObject())]
            .map(\.typeName)
        #expect(names == ["null", "boolean", "number", "string", "array", "object"])
    }

    @Test("Objects keep insertion order, replace in place and remove on nil")
    func objectOrderAndMutation() {
        var object = JSONObject([("b", .number("1")), ("a", .number("2")), ("b", .number("3"))])
        #expect(object.keys == ["b", "a"])
        #expect(object["b"] == .number("3"))
        object["c"] = .null
        object["b"] = .bool(true)
        #expect(object.keys == ["b", "a", "c"])
        #expect(object.map(\.key) == ["b", "a", "c"])
        #expect(object.map(\.value) == [.bool(true), .number("2"), .null])
        object["a"] = nil
        object["missing"] = nil
        #expect(object.keys == ["b", "c"])
        #expect(object["a"] == nil)
        #expect(object.count == 2)
        #expect(!object.isEmpty)
        #expect(JSONObject().isEmpty)
    }

    @Test("Large objects find, replace and remove keys correctly")
    func largeObject() {
        var object = JSONObject()
        for index in 0..<100 {
            object["k\(index)"] = .number("\(index)")
        }
        object["k5"] = .string("five")
        object["k0"] = nil
        object["k50"] = nil
        #expect(object.count == 98)
        #expect(object.keys.first == "k1")
        #expect(object["k5"] == .string("five"))
        #expect(object["k99"] == .number("99"))
        #expect(object["k51"] == .number("51"))
        #expect(object["k50"] == nil)
        object["k0"] = .null
        #expect(object.keys.last == "k0")
        let rebuilt = JSONObject(object.map { ($0.key, $0.value) })
        #expect(rebuilt == object)
    }

    @Test("Object equality and hashing ignore key order")
    func orderIndependentEquality() throws {
        let forward = JSONObject([("x", .number("1")), ("y", .array([.null])), ("z", .string("z"))])
        let backward = JSONObject([("z", .string("z")), ("y", .array([.null])), ("x", .number("1"))])
        #expect(forward == backward)
        #expect(forward.hashValue == backward.hashValue)
        #expect(Set([JSONValue.object(forward), .object(backward)]).count == 1)
        #expect(forward != JSONObject([("x", .number("1")), ("y", .array([.null]))]))
        #expect(forward != JSONObject([("x", .number("1")), ("y", .array([.null])), ("z", .string("Z"))]))
        #expect(forward != JSONObject([("x", .number("1")), ("y", .array([.null])), ("w", .string("z"))]))
        let reordered = try JSONValue.parse(#"{"b":{"d":3,"c":2},"a":1}"#)
        #expect(try JSONValue.parse(#"{"a":1,"b":{"c":2,"d":3}}"#) == reordered)
    }

    @Test("Numbers compare by literal")
    func numbersCompareByLiteral() {
        #expect(JSONValue.number("1.0") != .number("1"))
        #expect(JSONValue.number("1e2") == .number("1e2"))
    }
}

@Suite("JSON parsing")
struct JSONParserTests {
    /// Input that must be rejected, a fragment the message must contain, and the expected offset.
    struct RejectionCase: Sendable, CustomTestStringConvertible {
        let input: [UInt8]
        let fragment: String
        let offset: Int

        init(_ text: String, _ fragment: String, at offset: Int) {
            self.input = Array(text.utf8)
            self.fragment = fragment
            self.offset = offset
        }

        var testDescription: String {
            String(decoding: input, as: UTF8.self).debugDescription
        }
    }

    @Test(
        "Every JSON type survives a round trip",
        arguments: [
            "null", "true", "false", "0", "-0", "1.5", "-12.5e+10", "\"\"", "\"plain\"",
            #""esc\"aped\\ \/ \b\f\n\r\t \u00e9 \ud83d\ude00""#, "[]", "{}", "[1,\"two\",null,true,[false],{}]",
            #"{"a":{"b":[{"c":null}]},"":"empty key","é":"ü"}"#, " \t\r\n[ 1 , 2 ]\n ",
        ]
    )
    func roundTrip(text: String) throws {
        let value = try JSONValue.parse(text)
        #expect(try JSONValue.parse(value.serialized) == value)
        var buffer: [UInt8] = []
        value.write(to: &buffer)
        #expect(try JSONValue.parse(buffer) == value)
    }

    @Test("Parsed values have the expected structure")
    func parsedStructure() throws {
        let value = try JSONValue.parse(#"{"s":"x","n":-1.25e3,"t":true,"f":false,"z":null,"a":[1,[2]],"o":{"k":"v"}}"#)
        let object = try #require(value.objectValue)
        #expect(object.keys == ["s", "n", "t", "f", "z", "a", "o"])
        #expect(object["s"] == .string("x"))
        #expect(object["n"] == .number("-1.25e3"))
        #expect(object["t"] == .bool(true))
        #expect(object["f"] == .bool(false))
        #expect(object["z"] == .null)
        #expect(object["a"] == .array([.number("1"), .array([.number("2")])]))
        #expect(object["o"] == .object(JSONObject([("k", .string("v"))])))
    }

    @Test(
        "Numbers keep their literal text",
        arguments: ["1.0", "1e400", "123456789012345678901234567890", "-0", "0.000", "1E+2", "2e-0", "-0.5E-07"]
    )
    func numbersKeptLiterally(literal: String) throws {
        #expect(try JSONValue.parse(literal) == .number(literal))
        #expect(try JSONValue.parse("[\(literal)]").serialized == "[\(literal)]")
    }

    @Test("All parse entry points agree, and offsets count UTF-8 bytes")
    func entryPoints() throws {
        let text = #"{"é":[1,2]}"#
        let expected = try JSONValue.parse(text)
        #expect(try JSONValue.parse(Array(text.utf8)) == expected)
        #expect(try JSONValue.parse(text.utf8) == expected)
        #expect(try JSONValue.parse(Array(text.utf8)[...]) == expected)
        #expect(try JSONValue.parse(text.utf8.lazy.map { $0 }) == expected)
        #expect(try JSONValue.parse(Substring(text).utf8) == expected)
        let error = parseError(#"["é" x]"#)
        #expect(error?.offset == 6)
        #expect(error?.description == error?.message)
    }

    @Test(
        "Malformed JSON is rejected with a precise message and offset",
        arguments: [
            RejectionCase("", "empty JSON text", at: 0),
            RejectionCase(" \n\t\r ", "empty JSON text", at: 0),
            RejectionCase("[1,2,]", "trailing comma at byte 4", at: 4),
            RejectionCase(#"{"a":1 , }"#, "trailing comma at byte 7", at: 7),
            RejectionCase("// note\n1", "comments are not allowed", at: 0),
            RejectionCase("/* note */ 1", "comments are not allowed", at: 0),
            RejectionCase("[1 /* note */]", "expected ',' or ']'", at: 3),
            RejectionCase("'a'", "strings use double quotes", at: 0),
            RejectionCase(#"{'a':1}"#, "expected a string key", at: 1),
            RejectionCase("01", "leading zeros are not allowed", at: 0),
            RejectionCase("[-012]", "leading zeros are not allowed", at: 2),
            RejectionCase("+1", "numbers cannot start with '+'", at: 0),
            RejectionCase(".5", "numbers need a digit before '.'", at: 0),
            RejectionCase("1.", "unexpected end of input at byte 2, expected a digit after '.'", at: 2),
            RejectionCase("[1.e5]", "expected a digit after '.'", at: 3),
            RejectionCase("1e", "expected a digit in the exponent", at: 2),
            RejectionCase("1E+", "expected a digit in the exponent", at: 3),
            RejectionCase("-", "expected a digit after '-'", at: 1),
            RejectionCase("- 1", "expected a digit after '-'", at: 1),
            RejectionCase("NaN", "NaN and Infinity are not JSON", at: 0),
            RejectionCase("[Infinity]", "NaN and Infinity are not JSON", at: 1),
            RejectionCase("-Infinity", "unexpected character 'I' at byte 1, expected a digit after '-'", at: 1),
            RejectionCase("1.5.3", "expected the end of the input", at: 3),
            RejectionCase("[1] x", "unexpected character 'x' at byte 4", at: 4),
            RejectionCase("{} {}", "expected the end of the input", at: 3),
            RejectionCase("[1", "unexpected end of input at byte 2, expected ',' or ']'", at: 2),
            RejectionCase("[", "unexpected end of input at byte 1, expected a value", at: 1),
            RejectionCase(#"{"a""#, "expected ':'", at: 4),
            RejectionCase(#"{"a" 1}"#, "expected ':' after the object key", at: 5),
            RejectionCase(#"{"a":}"#, "unexpected character '}' at byte 5, expected a value", at: 5),
            RejectionCase("{1:2}", "expected a string key", at: 1),
            RejectionCase(#"{"a":1 "b":2}"#, "expected ',' or '}'", at: 7),
            RejectionCase("[1,,2]", "unexpected character ',' at byte 3", at: 3),
            RejectionCase("[1 2]", "expected ',' or ']'", at: 3),
            RejectionCase("tru", "expected 'true'", at: 3),
            RejectionCase("[nul]", "expected 'null'", at: 4),
            RejectionCase("fals", "expected 'false'", at: 4),
            RejectionCase("True", "unexpected character 'T'", at: 0),
            RejectionCase("\"a\u{01}b\"", "unescaped control character U+0001 in string at byte 2", at: 2),
            RejectionCase("\"a\nb\"", "unescaped control character U+000A", at: 2),
            RejectionCase("\"tab\there\"", "unescaped control character U+0009", at: 4),
            RejectionCase(#""\x""#, #"invalid escape sequence: '\' followed by 'x' at byte 1"#, at: 1),
            RejectionCase(#"["ok", "\'"]"#, "invalid escape sequence", at: 8),
            RejectionCase(#""\u12""#, #"invalid \u escape at byte 1, expected four hex digits"#, at: 1),
            RejectionCase(#""\uZZZZ""#, #"invalid \u escape"#, at: 1),
            RejectionCase(#""\u"#, #"invalid \u escape"#, at: 1),
            RejectionCase(#""abc"#, "unterminated string starting at byte 0", at: 0),
            RejectionCase(#"["a", "b\"#, "unterminated string starting at byte 6", at: 6),
            RejectionCase("\u{1}", "unexpected character U+0001", at: 0),
            RejectionCase("\u{FEFF}1", "unexpected character U+FEFF", at: 0),
            RejectionCase("é", "unexpected character U+00E9", at: 0),
        ]
    )
    func rejected(_ rejection: RejectionCase) throws {
        let error = try #require(parseError(rejection.input))
        #expect(error.message.contains(rejection.fragment), "\(error.message)")
        #expect(error.offset == rejection.offset, "\(error.message)")
    }

    @Test("Standard escapes decode")
    func escapes() throws {
        let value = try JSONValue.parse(#""\"\\\/\b\f\n\r\t\u0041\u00e9\u20AC\u2028""#)
        #expect(value == .string("\"\\/\u{8}\u{C}\n\r\tAé€\u{2028}"))
        #expect(try JSONValue.parse(#""a\nb" "#) == .string("a\nb"))
        #expect(try JSONValue.parse(#""\\""#) == .string("\\"))
    }

    @Test("Surrogate pairs combine; lone surrogates are rejected")
    func surrogates() throws {
        #expect(try JSONValue.parse(#""\uD83D\uDE00""#) == .string("😀"))
        #expect(try JSONValue.parse(#""x\ud834\udd1ey""#) == .string("x𝄞y"))
        #expect(try JSONValue.parse(#""\uDBFF\uDFFF""#) == .string("\u{10FFFF}"))
        let loneHigh = [#""\uD800""#, #""\uD800x""#, #""\uD800\u0041""#, #""\uD800\uD800""#, #""\uDBFF\n""#]
        for text in loneHigh {
            let error = parseError(text)
            #expect(error?.message.contains("lone high surrogate") == true, "\(text)")
            #expect(error?.offset == 1, "\(text)")
        }
        for text in [#""\uDC00""#, #""\uDFFF\uD800""#] {
            let error = parseError(text)
            #expect(error?.message.contains("lone low surrogate \\uD") == true, "\(text)")
            #expect(error?.offset == 1, "\(text)")
        }
        #expect(parseError(#"["ab\uDE00"]"#)?.offset == 4)
    }

    @Test("U+0000 is rejected raw and escaped, in values and keys")
    func nulCharacter() {
        let cases: [(bytes: [UInt8], offset: Int)] = [
            (Array(#""\u0000""#.utf8), 1),
            (Array(#"["ab\u0000"]"#.utf8), 4),
            (Array(#"{"\u0000":1}"#.utf8), 2),
            (Array(#"{"k":"\u0000"}"#.utf8), 6),
            ([0x22, 0x61, 0x00, 0x22], 2),
            ([0x7B, 0x22, 0x00, 0x22, 0x3A, 0x31, 0x7D], 2),
        ]
        for (bytes, offset) in cases {
            let error = parseError(bytes)
            #expect(error?.message.contains("the character U+0000 is not allowed in strings") == true, "\(bytes)")
            #expect(error?.offset == offset, "\(bytes)")
        }
        #expect(parseError([0x00])?.message.contains("unexpected character U+0000") == true)
    }

    @Test(
        "Well-formed UTF-8 of every length is accepted",
        arguments: [
            [0xC2, 0x80], [0xC3, 0xA9], [0xDF, 0xBF], [0xE0, 0xA0, 0x80], [0xE2, 0x82, 0xAC], [0xED, 0x9F, 0xBF],
            [0xEE, 0x80, 0x80], [0xEF, 0xBF, 0xBF], [0xF0, 0x90, 0x80, 0x80], [0xF0, 0x9F, 0x98, 0x80],
            [0xF4, 0x8F, 0xBF, 0xBF],
        ] as [[UInt8]]
    )
    func validUTF8(sequence: [UInt8]) throws {
        let value = try JSONValue.parse([0x22] + sequence + [0x22])
        #expect(value == .string(String(decoding: sequence, as: UTF8.self)))
        #expect(Array(value.serialized.utf8) == [0x22] + sequence + [0x22])
    }

    @Test(
        "Ill-formed UTF-8 is rejected at the start of the bad sequence",
        arguments: [
            [0xC0, 0xAF], [0xC1, 0xBF], [0xE0, 0x80, 0xAF], [0xE0, 0x9F, 0xBF], [0xF0, 0x80, 0x80, 0xAF],
            [0xF0, 0x8F, 0xBF, 0xBF], [0xED, 0xA0, 0x80], [0xED, 0xBF, 0xBF], [0xF4, 0x90, 0x80, 0x80],
            [0xF5, 0x80, 0x80, 0x80], [0xF8, 0x88, 0x80, 0x80, 0x80], [0xFF], [0xFE], [0x80], [0xBF],
            [0xC3], [0xE2, 0x82], [0xF0, 0x9F, 0x98], [0xE2, 0x41, 0x41], [0xC3, 0xC3, 0xA9],
        ] as [[UInt8]]
    )
    func invalidUTF8(sequence: [UInt8]) {
        for (input, offset) in [([0x22, 0x61] + sequence + [0x22], 2), (sequence + [0x22], 0), ([0x22] + sequence, 1)] {
            let error = parseError(input)
            #expect(error?.message == "invalid UTF-8 at byte \(offset)", "\(input)")
            #expect(error?.offset == offset, "\(input)")
        }
        #expect(parseError([0x5B, 0x31, 0x20] + sequence + [0x5D])?.message == "invalid UTF-8 at byte 3")
        #expect(parseError([0x22, 0x5C] + sequence + [0x22])?.message == "invalid UTF-8 at byte 2")
    }

    @Test("Nesting is limited to maxDepth levels")
    func depthLimit() throws {
        let atLimit = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        #expect(try JSONValue.parse(atLimit).serialized == atLimit)
        let pastLimit = "[" + atLimit + "]"
        let error = try #require(parseError(pastLimit))
        #expect(error.message == "nesting deeper than 64 levels at byte 64")
        #expect(error.offset == 64)

        let objects = { (depth: Int) in
            String(repeating: #"{"a":"#, count: depth) + "1" + String(repeating: "}", count: depth)
        }
        #expect(try JSONValue.parse(objects(3), maxDepth: 3).objectValue?["a"]?.objectValue?["a"] != nil)
        #expect(parseError(objects(4), maxDepth: 3)?.message == "nesting deeper than 3 levels at byte 15")
        #expect(parseError(#"[{"a":[[]]}]"#, maxDepth: 3)?.offset == 7)
        #expect(try JSONValue.parse(#"{"a":[]}"#, maxDepth: 2) == JSONValue.parse(#"{"a":[]}"#))
        #expect(try JSONValue.parse("\"scalar\"", maxDepth: 0) == .string("scalar"))
        #expect(parseError("[]", maxDepth: 0)?.message == "nesting deeper than 0 levels at byte 0")
    }

    @Test("Hostile nesting fails cleanly instead of overflowing the stack")
    func hostileNesting() throws {
        let opens = [UInt8](repeating: UInt8(ascii: "["), count: 100_000)
        let error = try #require(parseError(opens))
        #expect(error.message == "nesting deeper than 64 levels at byte 64")
        let closed = opens + [UInt8](repeating: UInt8(ascii: "]"), count: 100_000)
        #expect(parseError(closed)?.offset == 64)
        let unbounded = try #require(parseError(opens, maxDepth: .max))
        #expect(unbounded.message == "unexpected end of input at byte 100000, expected a value")
    }

    @Test("Duplicate keys: the last value wins, at the first key's position")
    func duplicateKeys() throws {
        let object = try #require(JSONValue.parse(#"{"a":1,"b":2,"a":3}"#).objectValue)
        #expect(object.keys == ["a", "b"])
        #expect(object["a"] == .number("3"))
        let members = (0..<20).map { #""k\#($0)":\#($0)"# }.joined(separator: ",")
        let large = try #require(JSONValue.parse("{\(members),\"k7\":\"again\",\"k19\":null}").objectValue)
        #expect(large.count == 20)
        #expect(large["k7"] == .string("again"))
        #expect(large["k19"] == .null)
        #expect(large.keys == (0..<20).map { "k\($0)" })
    }
}

@Suite("JSON writing")
struct JSONWriterTests {
    @Test("Output is compact and keeps key order and literals")
    func compactOutput() throws {
        let object = JSONObject([
            ("b", .number("1.50")), ("a", .array([.bool(true), .null, .bool(false)])),
            ("c", .object(JSONObject())), ("d", .array([])), ("e", .string("x")),
        ])
        let expected = #"{"b":1.50,"a":[true,null,false],"c":{},"d":[],"e":"x"}"#
        #expect(object.serialized == expected)
        #expect(JSONValue.object(object).serialized == expected)
        #expect(try JSONValue.parse(" { \"x\" : [ 1 , 2 ] } ").serialized == #"{"x":[1,2]}"#)
    }

    @Test("Quotes, backslashes and control characters are escaped; everything else is raw UTF-8")
    func escaping() throws {
        let text = "\"\\/\u{0}\u{1}\u{8}\t\n\u{B}\u{C}\r\u{1A}\u{1F} \u{7F}é\u{2028}😀"
        let expected = #""\"\\/\u0000\u0001\b\t\n\u000b\f\r\u001a\u001f "# + "\u{7F}é\u{2028}😀\""
        #expect(JSONValue.string(text).serialized == expected)
        #expect(JSONObject([(text, .null)]).serialized == "{\(expected):null}")
        let printable = JSONValue.string("tab\there \"quoted\" back\\slash")
        #expect(try JSONValue.parse(printable.serialized) == printable)
    }

    @Test("write(to:) appends to the existing buffer")
    func writeAppends() {
        var buffer = Array("prefix:".utf8)
        JSONValue.array([.string("a"), .number("-2")]).write(to: &buffer)
        #expect(String(decoding: buffer, as: UTF8.self) == #"prefix:["a",-2]"#)
    }
}

@Suite("JSON fuzzing")
struct JSONFuzzTests {
    private static let seeds = [
        #"{"name":"Ada","tags":["x","y"],"n":-1.5e3,"ok":true,"none":null,"nested":{"a":[1,{"b":"\u00e9"}]}}"#,
        #"[0,-0,1.25,1e10,"esc\"\\\n\u0041\ud83d\ude00",[],{},[[[]]],false]"#,
        #""just a string with é and 😀""#,
    ]

    private static let alphabet =
        Array(#"{}[]:,"\/ -+.0123456789eEtrufalsn"#.utf8)
        + [0x00, 0x0A, 0x1F, 0x7F, 0xC3, 0xA9, 0xED, 0xF0, 0xFF]

    /// Checks that `bytes` either fail with an in-range offset or parse to a value whose output parses back equal.
    private func checkNeverCrashesAndRoundTrips(_ bytes: [UInt8]) {
        do {
            let value = try JSONValue.parse(bytes, maxDepth: 8)
            let reparsed = try JSONValue.parse(value.serialized, maxDepth: 8)
            #expect(reparsed == value, "\(bytes)")
        } catch {
            #expect((0...bytes.count).contains(error.offset), "\(bytes): \(error)")
            #expect(!error.message.isEmpty)
        }
    }

    @Test("Random byte strings never crash the parser")
    func randomBytes() {
        var random = TestRandom(seed: 0x5EED)
        for _ in 0..<3_000 {
            let length = Int.random(in: 0..<40, using: &random)
            let bytes = (0..<length).map { _ in
                Bool.random(using: &random)
                    ? Self.alphabet.randomElement(using: &random)!
                    : UInt8.random(in: 0...255, using: &random)
            }
            checkNeverCrashesAndRoundTrips(bytes)
        }
    }

    @Test("Mutated valid documents never crash the parser")
    func mutatedDocuments() {
        var random = TestRandom(seed: 42)
        var parsedCount = 0
        for iteration in 0..<3_000 {
            var bytes = Array(Self.seeds[iteration % Self.seeds.count].utf8)
            for _ in 0..<Int.random(in: 1...3, using: &random) where !bytes.isEmpty {
                let position = Int.random(in: 0..<bytes.count, using: &random)
                let replacement = Self.alphabet.randomElement(using: &random)!
                switch Int.random(in: 0..<4, using: &random) {
                case 0: bytes[position] = replacement
                case 1: bytes.insert(replacement, at: position)
                case 2: bytes.remove(at: position)
                default: bytes.removeSubrange(position...)
                }
            }
            if (try? JSONValue.parse(bytes)) != nil {
                parsedCount += 1
            }
            checkNeverCrashesAndRoundTrips(bytes)
        }
        #expect(parsedCount > 0)
    }

    @Test("String contents are accepted exactly when they are valid UTF-8")
    func utf8Differential() {
        var random = TestRandom(seed: 7)
        let lowBytes = (0x20...0x7F).map(UInt8.init).filter { $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }
        for _ in 0..<3_000 {
            let content = (0..<Int.random(in: 0..<8, using: &random)).map { _ in
                Int.random(in: 0..<4, using: &random) == 0
                    ? lowBytes.randomElement(using: &random)!
                    : UInt8.random(in: 0x80...0xFF, using: &random)
            }
            let parsed = try? JSONValue.parse([0x22] + content + [0x22])
            let expected = String(validating: content, as: UTF8.self)
            #expect(parsed?.stringValue == expected, "\(content)")
        }
    }

    @Test("Random values survive serialization and parsing")
    func randomValuesRoundTrip() throws {
        var random = TestRandom(seed: 2024)
        for _ in 0..<1_000 {
            let value = Self.randomValue(depth: 0, using: &random)
            #expect(try JSONValue.parse(value.serialized) == value)
        }
    }

    private static func randomValue(depth: Int, using random: inout TestRandom) -> JSONValue {
        let scalars: [Unicode.Scalar] = ["a", "\"", "\\", "\u{1}", "\n", "\u{1F}", "é", "\u{2028}", "😀", "/", " "]
        let numbers = ["0", "-0", "1.5", "-2e-3", "1E+400", "123456789012345678901234567890"]
        switch Int.random(in: 0..<(depth < 4 ? 7 : 4), using: &random) {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &random))
        case 2: return .number(numbers.randomElement(using: &random)!)
        case 3:
            var string = ""
            for _ in 0..<Int.random(in: 0..<6, using: &random) {
                string.unicodeScalars.append(scalars.randomElement(using: &random)!)
            }
            return .string(string)
        case 4, 5:
            return .array(
                (0..<Int.random(in: 0..<4, using: &random)).map { _ in
                    randomValue(depth: depth + 1, using: &random)
                })
        default:
            var object = JSONObject()
            for _ in 0..<Int.random(in: 0..<12, using: &random) {
                let key = "\(scalars.randomElement(using: &random)!)\(Int.random(in: 0..<20, using: &random))"
                object[key] = randomValue(depth: depth + 1, using: &random)
            }
            return .object(object)
        }
    }
}
