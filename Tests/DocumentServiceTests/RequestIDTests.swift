import Foundation
import Testing

@testable import DocumentService

/// `X-Request-Id` (SPEC section 7b): a client's sane id comes back on the response and in an error
/// body; a missing or hostile one is replaced by an id the service makes.
@Suite struct RequestIDTests {
    static let generated = "^[A-Za-z0-9._:-]{1,128}$"

    @Test func aSaneClientIDComesBackOnSuccessesAndErrors() throws {
        let client = TestService.shared.client()
        let id = "parlant-req_42:attempt.1"
        let ok = try client.call("GET", "/healthz", key: nil, headers: [("X-Request-Id", id)])
        #expect(ok.status == 200)
        #expect(ok.header("X-Request-Id") == id)

        let missing = try client.call(
            "GET", "/sessions/\(TestService.uniqueCollection())/nope", headers: [("X-Request-Id", id)])
        #expect(missing.status == 404)
        #expect(missing.header("X-Request-Id") == id)
        #expect((missing.object["error"] as? [String: Any])?["request_id"] as? String == id, "\(missing.text)")

        let longest = String(repeating: "a", count: RequestID.maximumLength)
        let refused = try client.call("GET", "/sessions", key: "wrong-key", headers: [("X-Request-Id", longest)])
        #expect(refused.status == 401)
        #expect(refused.header("X-Request-Id") == longest)
        #expect((refused.object["error"] as? [String: Any])?["request_id"] as? String == longest)
    }

    @Test func withoutAnIDEachResponseGetsADistinctOne() throws {
        let client = TestService.shared.client()
        var seen: Set<String> = []
        for _ in 0..<20 {
            let response = try client.call("GET", "/healthz", key: nil)
            let id = try #require(response.header("X-Request-Id"))
            #expect(id.range(of: Self.generated, options: .regularExpression) != nil, "\(id)")
            seen.insert(id)
        }
        #expect(seen.count == 20)
    }

    @Test(arguments: [
        String(repeating: "a", count: RequestID.maximumLength + 1),
        "two words",
        #"quote"d"#,
        "tab\there",
        "semi;colon",
        "newline%0Aforged",
        "caf\u{e9}",
        "key=forged",
    ])
    func aHostileIDIsReplacedNotEchoed(_ hostile: String) throws {
        let client = TestService.shared.client()
        let response = try client.call(
            "GET", "/sessions/\(TestService.uniqueCollection())/nope", headers: [("X-Request-Id", hostile)])
        #expect(response.status == 404)
        let id = try #require(response.header("X-Request-Id"))
        #expect(id != hostile)
        #expect(id.range(of: Self.generated, options: .regularExpression) != nil, "\(id)")
        #expect((response.object["error"] as? [String: Any])?["request_id"] as? String == id)
        #expect(!response.text.contains(hostile))
    }

    @Test func onlyLettersDigitsAndFourMarksAreSane() {
        #expect(RequestID.sane("A-z_0.9:x") == "A-z_0.9:x")
        #expect(RequestID.sane("") == nil)
        #expect(RequestID.sane(nil) == nil)
        #expect(RequestID.sane("a/b") == nil)
        #expect(RequestID.sane("a\u{0}b") == nil)
    }
}
