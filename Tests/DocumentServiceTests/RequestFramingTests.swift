import Foundation
import Testing

@testable import DocumentService

/// Requests whose length or headers could be read two ways are refused and their connection closed, so
/// that no request can be smuggled behind another (what libmicrohttpd 0.9.75 lets through by itself).
@Suite struct RequestFramingTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        let head: String
        let body: String
        let status: Int
        let code: String
        var testDescription: String { name }
    }

    static let auth = "Authorization: Bearer \(TestService.key)\r\n"

    static let cases: [Case] = [
        Case(
            name: "Content-Length and Transfer-Encoding, with a DELETE hidden after the chunked body",
            head: "POST /sessions/{c}:find HTTP/1.1\r\nHost: x\r\n\(auth)Content-Type: application/json\r\n"
                + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
            body: "2\r\n{}\r\n0\r\n\r\nDELETE /sessions/{c} HTTP/1.1\r\nHost: x\r\n\(auth)\r\n",
            status: 400, code: "invalid_request"),
        Case(
            name: "two Content-Length headers",
            head: "POST /sessions/{c}:find HTTP/1.1\r\nHost: x\r\n\(auth)Content-Type: application/json\r\n"
                + "Content-Length: 2\r\nContent-Length: 3\r\n\r\n",
            body: "{} ", status: 400, code: "invalid_request"),
        Case(
            name: "a space before the colon of Transfer-Encoding",
            head: "POST /sessions/{c}:find HTTP/1.1\r\nHost: x\r\n\(auth)Content-Type: application/json\r\n"
                + "Transfer-Encoding : chunked\r\n\r\n",
            body: "2\r\n{}\r\n0\r\n\r\n", status: 400, code: "invalid_request"),
        Case(
            name: "a CR inside a header value",
            head: "GET /sessions/{c} HTTP/1.1\r\nHost: x\r\n\(auth)X-Thing: a\rb\r\n\r\n",
            body: "", status: 400, code: "invalid_request"),
        Case(
            name: "a NUL inside a header value",
            head: "GET /sessions/{c} HTTP/1.1\r\nHost: x\r\n\(auth)X-Thing: a\u{00}b\r\n\r\n",
            body: "", status: 400, code: "invalid_request"),
        Case(
            name: "a NUL ending the last header value",
            head: "GET /sessions/{c} HTTP/1.1\r\nHost: x\r\n\(auth)X-Thing: a\u{00}\r\n\r\n",
            body: "", status: 400, code: "invalid_request"),
        Case(
            name: "a NUL hiding the digits after it in Content-Length",
            head: "POST /sessions/{c}:find HTTP/1.1\r\nHost: x\r\n\(auth)Content-Type: application/json\r\n"
                + "Content-Length: 2\u{00}0\r\n\r\n",
            body: "{}DELETE /sessions/{c} HTTP/1.1\r\nHost: x\r\n\(auth)\r\n", status: 400, code: "invalid_request"),
        Case(
            name: "a header line folded onto the next",
            head: "GET /sessions/{c} HTTP/1.1\r\nHost: x\r\n\(auth)X-Thing: a\r\n b\r\n\r\n",
            body: "", status: 400, code: "invalid_request"),
        Case(
            name: "HTTP/1.1 without Host",
            head: "GET /sessions/{c} HTTP/1.1\r\n\(auth)\r\n",
            body: "", status: 400, code: "invalid_request"),
        Case(
            name: "an unknown transfer coding",
            head: "POST /sessions/{c}:find HTTP/1.1\r\nHost: x\r\n\(auth)Content-Type: application/json\r\n"
                + "Transfer-Encoding: gzip\r\n\r\n",
            body: "{}", status: 501, code: "not_implemented"),
        Case(
            name: "invalid UTF-8 in the target",
            head: "GET /sessions/{c}/x\u{FF} HTTP/1.1\r\nHost: x\r\n\(auth)\r\n",
            body: "", status: 400, code: "invalid_request"),
        Case(
            name: "a control character in the target",
            head: "GET /sessions/{c}/x\u{01}y HTTP/1.1\r\nHost: x\r\n\(auth)\r\n",
            body: "", status: 400, code: "invalid_request"),
        Case(
            name: "a NUL in the path, which would have cut the id short",
            head: "GET /sessions/{c}/kept\u{00}zzz HTTP/1.1\r\nHost: x\r\n\(auth)\r\n",
            body: "", status: 400, code: "invalid_request"),
        Case(
            name: "a NUL in the query, which would have dropped the limit after it",
            head: "GET /sessions/{c}?id=eq.kept\u{00}zzz&limit=5 HTTP/1.1\r\nHost: x\r\n\(auth)\r\n",
            body: "", status: 400, code: "invalid_request"),
    ]

    @Test(arguments: cases)
    func anAmbiguousRequestIsRefusedAndItsConnectionClosed(_ request: Case) throws {
        let service = TestService.shared
        let collection = TestService.uniqueCollection()
        try RouteCheck.insert(service.client(), collection, ["id": "kept"])
        let socket = try #require(RawSocket.connect(port: service.port))
        // Latin-1 sends each character below U+0100 as the one byte it stands for (0xFF included).
        let text = (request.head + request.body).replacingOccurrences(of: "{c}", with: collection)
        try socket.send(Array(text.unicodeScalars.map { UInt8($0.value) }))
        let response = try socket.readResponse(timeout: 10)
        RouteCheck.expectError(response, status: request.status, code: request.code)
        #expect(socket.receiveUntilClosed(timeout: 10) == .closed, "the connection stayed open")
        // Nothing hidden behind the request ran: the collection and its document are still there.
        #expect(try RouteCheck.rowCount(collection) == 1)
    }

    @Test func aPlainRequestOnTheSameRulesIsServed() throws {
        let service = TestService.shared
        let socket = try #require(RawSocket.connect(port: service.port))
        try socket.send(Array("GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n\r\n0\r\n\r\n".utf8))
        #expect(try socket.readResponse(timeout: 10).status == 200)
        try socket.send(Array("GET /healthz HTTP/1.0\r\n\r\n".utf8))
        #expect(try socket.readResponse(timeout: 10).status == 200)
        // Bare LF line endings, an empty value and spaces around values are read as they always were.
        let bare = try #require(RawSocket.connect(port: service.port))
        try bare.send(Array("GET /healthz HTTP/1.1\nHost: x\nX-Empty:\nX-Spaced: \t a b  \n\n".utf8))
        #expect(try bare.readResponse(timeout: 10).status == 200)
    }
}
