import Foundation
import Testing

@testable import DocumentStore

/// Base64url without padding (RFC 4648 section 5), computed with Foundation rather than the product's encoder.
private func foundationBase64URL(_ bytes: some Sequence<UInt8>) -> String {
    Data(bytes).base64EncodedString()
        .replacingOccurrences(of: "+", with: "-")
        .replacingOccurrences(of: "/", with: "_")
        .replacingOccurrences(of: "=", with: "")
}

private func foundationBase64URL(_ text: String) -> String {
    foundationBase64URL(Array(text.utf8))
}

/// The error `Cursor(token:)` throws for `token`, or `nil` if it accepts it.
private func cursorError(_ token: String) -> DocumentStoreError? {
    do {
        _ = try Cursor(token: token)
        return nil
    } catch {
        return error
    }
}

private let base64URLAlphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")

@Suite("Cursor tokens")
struct CursorTests {
    // MARK: Round trips and the documented encoding

    @Test(
        "a cursor survives token and back",
        arguments: [
            Cursor(creationUTC: "2024-05-01T12:00:00.123456+00:00", id: "abc"),
            Cursor(creationUTC: "", id: "x"),
            Cursor(creationUTC: "2024-05-01T12:00:00+00:00", id: "ünï©ødé 日本語 🚀"),
            Cursor(creationUTC: "2024-05-01T12:00:00Z", id: #"quote" back\slash new\#nline tab\#t nul-ish \#u{1}"#),
            Cursor(creationUTC: "t", id: String(repeating: "é", count: 128)),
            Cursor(creationUTC: "t", id: String(repeating: "🚀", count: 64)),
            Cursor(creationUTC: "2024-05-01T12:00:00+00:00", id: String(repeating: "long-id-", count: 250)),
        ]
    )
    func roundTrip(cursor: Cursor) throws {
        let token = cursor.token
        let decoded = try Cursor(token: token)
        #expect(decoded == cursor)
        #expect(decoded.creationUTC == cursor.creationUTC)
        #expect(decoded.id == cursor.id)
        #expect(token.allSatisfy { base64URLAlphabet.contains($0) })
    }

    @Test("the token is base64url without padding of the JSON array [creation_utc, id]")
    func documentedEncoding() {
        let cursor = Cursor(creationUTC: "2024-05-01T12:00:00.123456+00:00", id: "abc")
        // printf '%s' '["2024-05-01T12:00:00.123456+00:00","abc"]' | base64 -w0 | tr '+/' '-_' | tr -d '='
        #expect(cursor.token == "WyIyMDI0LTA1LTAxVDEyOjAwOjAwLjEyMzQ1NiswMDowMCIsImFiYyJd")
        #expect(cursor.token == foundationBase64URL(#"["2024-05-01T12:00:00.123456+00:00","abc"]"#))
    }

    @Test(
        "tokens use - and _ where base64 has + and /, and never =",
        arguments: ["???>>>", "a???>>>", "ab???>>>", "~~~~", "x"]
    )
    func urlSafeAlphabet(id: String) {
        let json = #"["t","\#(id)"]"#
        let standard = Data(json.utf8).base64EncodedString()
        let token = Cursor(creationUTC: "t", id: id).token
        #expect(token == foundationBase64URL(json))
        #expect(!token.contains("+") && !token.contains("/") && !token.contains("="))
        if standard.contains("+") || standard.contains("/") {
            #expect(token.contains("-") || token.contains("_"))
        }
    }

    @Test("an id with \" and \\ is escaped as JSON inside the token")
    func escapedJSON() {
        let token = Cursor(creationUTC: "t", id: #"a"b\c"#).token
        #expect(token == foundationBase64URL(#"["t","a\"b\\c"]"#))
    }

    @Test("a token a client builds with Python's json.dumps (spaces, \\u escapes) is accepted")
    func pythonToken() throws {
        // json.dumps(["2024-05-01T12:00:00+00:00", "é🚀"]) prints ASCII with \u escapes and ", ".
        let json = #"["2024-05-01T12:00:00+00:00", "\u00e9\ud83d\ude80"]"#
        let cursor = try Cursor(token: foundationBase64URL(json))
        #expect(cursor == Cursor(creationUTC: "2024-05-01T12:00:00+00:00", id: "é🚀"))
    }

    // MARK: Rejections

    @Test("padding is rejected")
    func padding() throws {
        let token = Cursor(creationUTC: "t", id: "bc").token  // 10 JSON bytes: 14 symbols, 2 short of a group
        #expect(token.count % 4 == 2)
        #expect(try Cursor(token: token).id == "bc")
        #expect(cursorError(token + "==")?.code == "invalid_cursor")
        #expect(cursorError(token + "=")?.code == "invalid_cursor")
    }

    @Test("the standard base64URLAlphabet's + and / are rejected")
    func standardAlphabet() throws {
        let json = #"["t","???>>>"]"#
        let standard = Data(json.utf8).base64EncodedString().replacingOccurrences(of: "=", with: "")
        #expect(standard.contains("+") || standard.contains("/"))
        #expect(try Cursor(token: foundationBase64URL(json)).id == "???>>>")
        #expect(cursorError(standard)?.code == "invalid_cursor")
    }

    @Test(
        "symbols outside the base64URLAlphabet are rejected",
        arguments: [" ", "\n", ".", "é", "*", "%3D"]
    )
    func foreignSymbols(symbol: String) {
        let token = Cursor(creationUTC: "t", id: "abc").token
        let middle = token.index(token.startIndex, offsetBy: 8)
        #expect(cursorError(String(token[..<middle]) + symbol + String(token[middle...]))?.code == "invalid_cursor")
        #expect(cursorError(token + symbol)?.code == "invalid_cursor")
    }

    @Test("a length of 4n+1 symbols cannot be base64 and is rejected", arguments: ["A", "AAAAA", "WyJ0IiwiYWJjIl0AA"])
    func impossibleLength(token: String) {
        #expect(token.count % 4 == 1)
        #expect(cursorError(token)?.code == "invalid_cursor")
    }

    @Test(
        "non-zero bits after the last whole byte are rejected, so each cursor has exactly one token",
        arguments: ["bc", "bcd"]
    )
    func nonCanonicalTrailingBits(id: String) throws {
        let token = Cursor(creationUTC: "t", id: id).token
        #expect(token.count % 4 != 0)
        let last = try #require(token.last.flatMap { base64URLAlphabet.firstIndex(of: $0) })
        #expect(last & 1 == 0)
        let altered = String(token.dropLast()) + String(base64URLAlphabet[last | 1])
        // Foundation would decode both to the same bytes; the product must not.
        #expect(cursorError(altered)?.code == "invalid_cursor")
    }

    @Test(
        "JSON that is not an array of exactly two strings with a non-empty id is rejected",
        arguments: [
            #"["only-one"]"#,
            #"["a","b","c"]"#,
            #"[]"#,
            #"[1,"b"]"#,
            #"["a",2]"#,
            #"["a",null]"#,
            #"["a",true]"#,
            #"[["a"],"b"]"#,
            #"["a",["b"]]"#,
            #"["a",{"id":"b"}]"#,
            #"{"creation_utc":"a","id":"b"}"#,
            #""a,b""#,
            #"null"#,
            #"["a",""]"#,
            #"not json"#,
            #"["a","b""#,
            #"["a","b"]x"#,
            #"['a','b']"#,
            #""#,
        ]
    )
    func wrongShape(json: String) {
        let error = cursorError(foundationBase64URL(json))
        #expect(error?.code == "invalid_cursor")
        #expect(error?.kind == .invalidCursor)
    }

    @Test("bytes that are not UTF-8 are rejected")
    func invalidUTF8() {
        let bytes = Array(#"["t",""#.utf8) + [0xFF, 0xFE] + Array(#""]"#.utf8)
        #expect(cursorError(foundationBase64URL(bytes))?.code == "invalid_cursor")
    }

    @Test("the empty token is rejected")
    func emptyToken() {
        #expect(cursorError("")?.code == "invalid_cursor")
    }

    @Test("an over-long token is rejected before it is decoded")
    func overLongToken() {
        let token = foundationBase64URL(#"["t","\#(String(repeating: "x", count: 6000))"]"#)
        #expect(token.utf8.count > 8000)
        #expect(cursorError(token)?.code == "invalid_cursor")
        let huge = String(repeating: "A", count: 1 << 20)
        #expect(cursorError(huge)?.code == "invalid_cursor")
    }

    @Test("the message says what a cursor must be and does not echo the token")
    func message() throws {
        let token = foundationBase64URL(#"["secret-looking","x","y"]"#)
        let error = try #require(cursorError(token))
        #expect(error.message.contains("creation_utc"))
        #expect(!error.message.contains(token))
        #expect(!error.message.contains("secret-looking"))
    }
}
