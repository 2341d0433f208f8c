import Foundation
import Testing

@testable import DocumentStore

/// `find` without `limit`: every match, streamed as a chunked body.
@Suite struct StreamingTests {
    static let count = 100_000

    /// Document `i`: `creation_utc` shared by groups of 3 consecutive documents, ids a permutation of
    /// 0..<100,000 so the id decides the order within a group and is unrelated to insertion order.
    static func document(_ i: Int) -> JSONValue {
        .object(
            JSONObject([
                ("id", .string("s" + QuerySupport.pad((i * 7919) % count, 6))),
                ("creation_utc", .string(QuerySupport.timestamp(i / 3, micros: 500_000))),
                ("n", .number(String(i))),
                ("bucket", .number(String(i % 10))),
            ]))
    }

    struct Response {
        let ids: [String]
        let body: [String: Any]
        let chunked: Bool
        let status: Int
    }

    static func fetch(_ client: HTTPClient, _ target: String) throws -> Response {
        let response = try client.call("GET", target)
        let body = response.object
        return Response(
            ids: QuerySupport.ids(response),
            body: body,
            chunked: response.header("Transfer-Encoding")?.lowercased().contains("chunked") == true
                && response.header("Content-Length") == nil,
            status: response.status
        )
    }

    static func expectComplete(_ response: Response, _ expected: [String], _ label: String) {
        #expect(response.status == 200, "\(label)")
        #expect(response.chunked, "\(label): not Transfer-Encoding: chunked")
        #expect(response.ids.count == expected.count, "\(label): \(response.ids.count) items")
        #expect(response.ids == expected, "\(label): wrong items or order")
        #expect(response.body["total_count"] as? Int == expected.count, "\(label): total_count")
        #expect(response.body["has_more"] as? Bool == false, "\(label): has_more")
        #expect(response.body["next_cursor"] is NSNull, "\(label): next_cursor")
    }

    @Test func unlimitedFindStreamsOneHundredThousandDocuments() throws {
        let clock = ContinuousClock()
        let began = clock.now
        let name = TestService.uniqueCollection("stream")
        let documents = (0..<Self.count).map(Self.document)
        try QuerySupport.seed(name, documents, batch: 1000)
        let seeded = clock.now
        let order = QuerySupport.keysetOrder(documents)
        #expect(Set(order).count == Self.count)

        let client = TestService.shared.client()
        let path = "/sessions/\(name)"

        let all = try Self.fetch(client, path)
        Self.expectComplete(all, order, "GET \(path)")
        #expect(Set(all.ids).count == Self.count, "every seeded id exactly once")

        // A filtered unlimited find (a PostgREST pair and a where), still in keyset order.
        let bucket = documents.filter { $0.objectValue?["bucket"]?.numberLiteral == "7" }
        Self.expectComplete(
            try Self.fetch(client, "\(path)?bucket=eq.7"), QuerySupport.keysetOrder(bucket), "bucket=eq.7")
        let high = documents.filter { Int($0.objectValue?["n"]?.numberLiteral ?? "") ?? 0 >= 98_765 }
        let filter = QuerySupport.encode(#"{"n": {"$gte": 98765}}"#)
        Self.expectComplete(
            try Self.fetch(client, "\(path)?where=\(filter)"), QuerySupport.keysetOrder(high), "where n >= 98765")

        // An unlimited find after a cursor: everything strictly after it, both directions.
        let middle = documents[Self.count / 2 + 1].objectValue!
        let cursorID = middle["id"]!.stringValue!
        let token = try QuerySupport.token(creationUTC: middle["creation_utc"]!.stringValue!, id: cursorID)
        let position = try #require(order.firstIndex(of: cursorID))
        Self.expectComplete(
            try Self.fetch(client, "\(path)?cursor=\(token)"), Array(order[(position + 1)...]), "cursor, asc")
        Self.expectComplete(
            try Self.fetch(client, "\(path)?sort=desc&cursor=\(token)"), Array(order[..<position].reversed()),
            "cursor, desc")
        let after = Array(order[(position + 1)...])
        let afterInBucket = Set(bucket.map { $0.objectValue!["id"]!.stringValue! })
        Self.expectComplete(
            try Self.fetch(client, "\(path)?bucket=eq.7&cursor=\(token)"), after.filter(afterInBucket.contains),
            "bucket=eq.7 with a cursor")
        let finished = clock.now
        print("StreamingTests: seeded 100,000 in \(seeded - began), queried in \(finished - seeded)")
    }

    @Test func unlimitedFindOnAMissingCollectionIsEmpty() throws {
        let client = TestService.shared.client()
        let name = TestService.uniqueCollection("nothing")
        for query in ["", "?sort=desc", "?n=eq.1", "?where=%7B%7D", "?count=exact"] {
            let response = try client.call("GET", "/sessions/\(name)\(query)")
            #expect(response.status == 200, "\(query): \(response.text)")
            #expect(response.object["items"] as? [Any] != nil, "\(query): \(response.text)")
            #expect(QuerySupport.ids(response).isEmpty)
            #expect(response.object["total_count"] as? Int == 0)
            #expect(response.object["has_more"] as? Bool == false)
            #expect(response.object["next_cursor"] is NSNull)
        }
        let token = try QuerySupport.token(creationUTC: "2024-05-01T00:00:00+00:00", id: "x")
        let withCursor = try client.call("GET", "/sessions/\(name)?cursor=\(token)")
        #expect(withCursor.status == 200)
        #expect(QuerySupport.ids(withCursor).isEmpty)
        // A read creates nothing.
        #expect(try QuerySupport.collection(name).exists() == false)
    }

    @Test func unlimitedFindOfAFewDocumentsIsCompleteJSON() throws {
        let client = TestService.shared.client()
        let name = TestService.uniqueCollection("few")
        let documents = (0..<5).map(Self.document)
        try QuerySupport.seed(name, documents)
        let response = try Self.fetch(client, "/sessions/\(name)")
        Self.expectComplete(response, QuerySupport.keysetOrder(documents), "five documents")
        // Nothing matches: still a whole body.
        let none = try client.call("GET", "/sessions/\(name)?n=eq.-1")
        #expect(none.status == 200)
        #expect(none.object["items"] as? [Any] != nil, "\(none.text)")
        #expect(none.object["total_count"] as? Int == 0)
    }
}
