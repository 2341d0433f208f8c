import Foundation
import TestSupport
import Testing

@testable import DocumentService
@testable import DocumentStore

/// `GET /{store}/{collection}:versions` over real sockets.
@Suite struct VersionsRouteTests {
    @Test func versionsWithCountsAndWithout() throws {
        let client = TestService.shared.client()
        let collection = TestService.uniqueCollection("versions")
        let path = "/sessions/\(collection)"
        let empty = try client.call("GET", "\(path):versions")
        #expect(empty.status == 200)
        #expect(empty.text == #"{"versions":[]}"#, "a collection that does not exist has none: \(empty.text)")

        let documents = [#"{"version": "0.9.0"}"#, #"{"version": "0.9.0"}"#, #"{"version": "0.8.0"}"#, "{}"]
        #expect(try client.call("POST", path, json: "[\(documents.joined(separator: ","))]").status == 201)
        let counted = try client.call("GET", "\(path):versions")
        #expect(counted.status == 200)
        #expect(
            counted.text
                == #"{"versions":[{"version":"0.8.0","count":1},{"version":"0.9.0","count":2},{"version":null,"count":1}]}"#)
        let uncounted = try client.call("GET", "\(path):versions?count=none")
        #expect(
            uncounted.text
                == #"{"versions":[{"version":"0.8.0","count":null},{"version":"0.9.0","count":null},{"version":null,"count":null}]}"#)
        #expect(try client.call("GET", "\(path):versions?count=exact").text == counted.text)
        #expect(try client.call("HEAD", "\(path):versions").status == 200)
    }

    @Test(arguments: ["count=all", "limit=1", "where=%7B%7D", "count"])
    func otherParametersAreRefused(_ query: String) throws {
        let client = TestService.shared.client()
        let response = try client.call("GET", "/sessions/\(TestService.uniqueCollection()):versions?\(query)")
        RouteCheck.expectError(response, status: 400, code: "invalid_request")
    }
}
