import Foundation
import TestSupport
import Testing

@testable import DocumentService
@testable import DocumentStore

/// A catalogue of bad requests (issue 5, point 4): each gets its documented 4xx and the JSON error shape,
/// the service answers `/healthz` after every one, and no row, table or index of the service's schema
/// changes over the whole catalogue.
@Suite(.serialized) struct BadRequestCatalogueTests {
    @Test func everyBadRequestGetsItsDocumentedErrorAndChangesNothing() throws {
        let service = try BadRequestCatalogue.seededService()
        let before = try BadRequestCatalogue.snapshot(service)
        #expect(before.contains("parlant_sessions_events"), "the seed is missing: \(before)")
        for bad in BadRequestCatalogue.all {
            let response = try service.client().sendRaw(bad.bytes, method: bad.method)
            #expect(
                response.status == bad.status && response.errorCode == bad.code,
                "\(bad.name): expected \(bad.status) \(bad.code), got \(response.status) \(response.text.prefix(300))")
            let shape = Fuzz.check(response)
            #expect(shape == nil, "\(bad.name): \(shape ?? "")")
            #expect(!response.text.contains(TestService.key), "\(bad.name): the answer echoes the key")
            switch bad.status {
            case 401: #expect(response.header("WWW-Authenticate") == "Bearer", "\(bad.name)")
            case 405: #expect(response.header("Allow")?.isEmpty == false, "\(bad.name): 405 without Allow")
            default: break
            }
            let health = try service.client().call("GET", "/healthz", key: nil)
            try #require(health.status == 200, "the service is down after \(bad.name)")
        }
        let after = try BadRequestCatalogue.snapshot(service)
        #expect(before == after, "the catalogue changed the database:\nbefore: \(before)\nafter:  \(after)")
    }

    @Test func catalogueCoversEveryCategoryOfTheIssue() {
        let cases = BadRequestCatalogue.all
        print("bad-request catalogue: \(cases.count) cases in \(Set(cases.map(\.category)).count) categories")
        #expect(cases.count >= 40)
        #expect(Set(cases.map(\.name)).count == cases.count, "case names are unique")
        let covered = Set(cases.map(\.category))
        #expect(
            covered == Set(BadRequest.Category.allCases),
            "missing: \(Set(BadRequest.Category.allCases).subtracting(covered))")
        for bad in cases {
            #expect((400..<500).contains(bad.status), "\(bad.name)")
        }
    }
}

/// One bad request and the answer the README documents for it.
struct BadRequest: Sendable {
    enum Category: String, CaseIterable, Sendable {
        case malformedJSON, nonObjectJSON, wrongType, overLimit, deepNesting, invalidUTF8, nulByte
        case unknownOperator, hostileFieldName, hostileID, hostileCollection, hostileValue, forgedCursor
        case limitOutOfRange, missingField, wrongField, missingServiceKey, wrongServiceKey, contentType
        case unknownMethod, unknownRoute, conflict
    }

    /// How the body is framed on the wire.
    enum Framing: Sendable {
        case contentLength
        case chunked
        /// This `Content-Length` is declared, whatever the body.
        case declared(Int)
    }

    enum Key: Sendable {
        case bearer, apikey, none
        case wrong(String)
    }

    let name: String
    let category: Category
    let method: String
    let target: String
    var body: [UInt8]?
    var contentType: String? = "application/json"
    var key: Key = .bearer
    var framing: Framing = .contentLength
    let status: Int
    let code: String

    /// The whole request as sent.
    var bytes: [UInt8] {
        var head = "\(method) \(target) HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        switch key {
        case .bearer: head += "Authorization: Bearer \(TestService.key)\r\n"
        case .apikey: head += "apikey: \(TestService.key)\r\n"
        case .none: break
        case .wrong(let header): head += "\(header)\r\n"
        }
        guard let body else { return Array((head + "\r\n").utf8) }
        if let contentType { head += "Content-Type: \(contentType)\r\n" }
        switch framing {
        case .contentLength:
            return Array("\(head)Content-Length: \(body.count)\r\n\r\n".utf8) + body
        case .declared(let length):
            return Array("\(head)Content-Length: \(length)\r\n\r\n".utf8) + body
        case .chunked:
            var bytes = Array("\(head)Transfer-Encoding: chunked\r\n\r\n".utf8)
            var start = 0
            while start < body.count {
                let end = min(start + 4000, body.count)
                bytes += Array("\(String(end - start, radix: 16))\r\n".utf8) + body[start..<end] + Array("\r\n".utf8)
                start = end
            }
            return bytes + Array("0\r\n\r\n".utf8)
        }
    }
}

enum BadRequestCatalogue {
    /// The service's body limit.
    static let limit = 64 * 1024

    /// A service of its own with a 64 KiB body limit, seeded: three events (one with a unique `email`
    /// index), one quarantined event, one customer.
    static func seededService() throws -> TestService {
        let service = try TestService(label: "catalogue", maxBodyBytes: limit, poolSize: 4)
        let client = service.client()
        func expect(_ status: Int, _ method: String, _ target: String, _ json: String) throws {
            let response = try client.call(method, target, json: json)
            try #require(response.status == status, "seeding \(method) \(target): \(response.text)")
        }
        for n in 1...3 {
            try expect(
                201, "PUT", "/sessions/events/seed\(n)",
                """
                {"customer_id":"c\(n)","session_id":"s1","kind":"message","n":\(n),"email":"u\(n)@example.com",
                "creation_utc":"2024-05-0\(n)T12:00:00.000000+00:00","data":{"text":"hello \(n)","tags":["a","b"]}}
                """)
        }
        try expect(
            200, "POST", "/sessions/events:ensureIndexes", #"{"indexes":[{"fields":[["email","asc"]],"unique":true}]}"#)
        try expect(201, "PUT", "/sessions/events/q1", #"{"kind":"broken","v":0}"#)
        try expect(200, "POST", "/sessions/events:quarantine", #"{"ids":["q1"],"reason":"seed"}"#)
        try expect(201, "PUT", "/customers/customers/cust1", #"{"name":"Ada","extra":{"tier":"gold"}}"#)
        return service
    }

    /// Every table of the service's schema with its row count and an MD5 of all its rows, and every index.
    static func snapshot(_ service: TestService) throws -> String {
        let tables = try TestPostgres.sql(
            "SELECT tablename FROM pg_tables WHERE schemaname = \(bind: service.schema) ORDER BY tablename"
        ).compactMap { $0.first ?? nil }
        var parts: [String] = []
        for table in tables {
            let qualified = "\"\(service.schema)\".\"\(table)\""
            let row =
                try TestPostgres.sql(
                    """
                    SELECT count(*), coalesce(md5(string_agg(t::text, E'\\n' ORDER BY t::text)), '-') \
                    FROM \(unsafeSQL: qualified) t
                    """
                ).first ?? []
            parts.append("\(table)=\(row.map { $0 ?? "NULL" }.joined(separator: "/"))")
        }
        let indexes = try TestPostgres.sql(
            "SELECT indexname FROM pg_indexes WHERE schemaname = \(bind: service.schema) ORDER BY indexname"
        ).compactMap { $0.first ?? nil }
        parts.append("indexes=\(indexes.joined(separator: ","))")
        return parts.joined(separator: "; ")
    }

    static func base64URL(_ text: String) -> String {
        Data(text.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// `where` as a query parameter, percent-encoded.
    static func whereQuery(_ json: String) -> String {
        "where=" + RouteCheck.encode(json)
    }

    /// `{"$and":[...{"$and":[{"a":1}]}...]}`, `levels` deep.
    static func nestedFilter(_ levels: Int, op: String = "$and") -> String {
        String(repeating: "{\"\(op)\":[", count: levels) + #"{"a":1}"# + String(repeating: "]}", count: levels)
    }

    private static let events = "/sessions/events"
    private static let hostile = "x'); DROP TABLE parlant_sessions_events; --"

    private static func json(
        _ name: String, _ category: BadRequest.Category, _ method: String, _ target: String, _ body: String,
        _ status: Int, _ code: String
    ) -> BadRequest {
        BadRequest(
            name: name, category: category, method: method, target: target, body: Array(body.utf8), status: status,
            code: code)
    }

    private static func bytes(
        _ name: String, _ category: BadRequest.Category, _ method: String, _ target: String, _ body: [UInt8],
        _ status: Int, _ code: String
    ) -> BadRequest {
        BadRequest(
            name: name, category: category, method: method, target: target, body: body, status: status, code: code)
    }

    private static func get(
        _ name: String, _ category: BadRequest.Category, _ target: String, _ status: Int, _ code: String,
        method: String = "GET"
    ) -> BadRequest {
        BadRequest(name: name, category: category, method: method, target: target, status: status, code: code)
    }

    /// A document of exactly `size` bytes.
    private static func padded(_ size: Int) -> String {
        #"{"pad":""# + String(repeating: "x", count: size - #"{"pad":""}"#.utf8.count) + #""}"#
    }

    static let all: [BadRequest] = {
        var cases: [BadRequest] = []
        // Malformed JSON
        cases += [
            json("unterminated object", .malformedJSON, "POST", events, #"{"a": 1"#, 400, "invalid_json"),
            json("trailing comma", .malformedJSON, "POST", events, #"{"a": 1,}"#, 400, "invalid_json"),
            json("single quotes", .malformedJSON, "POST", events, "{'a': 1}", 400, "invalid_json"),
            json("two documents", .malformedJSON, "POST", events, #"{"a": 1} {"b": 2}"#, 400, "invalid_json"),
            json("NaN", .malformedJSON, "PATCH", "\(events)/seed1", #"{"n": NaN}"#, 400, "invalid_json"),
            json("bare word", .malformedJSON, "PUT", "\(events)/seed1", "hello", 400, "invalid_json"),
            json(
                "truncated find", .malformedJSON, "POST", "\(events):find", #"{"where": {"a": 1}"#, 400, "invalid_json"),
            json(
                "comment", .malformedJSON, "POST", "\(events):updateOne", #"{"where": {} /* all */, "params": {}}"#,
                400, "invalid_json"),
            json(
                "bad escape", .malformedJSON, "POST", "\(events):deleteOne", #"{"where": {"a": "\q"}}"#, 400,
                "invalid_json"),
            json("empty body", .malformedJSON, "POST", events, "", 400, "invalid_request"),
            get("where not JSON", .malformedJSON, "\(events)?where=%7Bcustomer_id%3Ac1%7D", 400, "invalid_filter"),
        ]
        // Non-object JSON
        cases += [
            json("string document", .nonObjectJSON, "POST", events, #""just a string""#, 400, "invalid_document"),
            json("number document", .nonObjectJSON, "POST", events, "42", 400, "invalid_document"),
            json("null document", .nonObjectJSON, "POST", events, "null", 400, "invalid_document"),
            json("array of numbers", .nonObjectJSON, "POST", events, "[1, 2]", 400, "invalid_document"),
            json(
                "array with one non-document", .nonObjectJSON, "POST", events, #"[{"id": "new1"}, "x"]"#, 400,
                "invalid_document"),
            json("array patch", .nonObjectJSON, "PATCH", "\(events)/seed1", #"[{"a": 1}]"#, 400, "invalid_document"),
            json("string replacement", .nonObjectJSON, "PUT", "\(events)/seed1", #""text""#, 400, "invalid_document"),
            json("array updateOne body", .nonObjectJSON, "POST", "\(events):updateOne", "[]", 400, "invalid_request"),
            json("string find body", .nonObjectJSON, "POST", "\(events):find", #""where""#, 400, "invalid_request"),
            json(
                "array where", .nonObjectJSON, "POST", "\(events):deleteOne", #"{"where": [{"n": 1}]}"#, 400,
                "invalid_filter"),
            get("scalar where", .nonObjectJSON, "\(events)?where=1", 400, "invalid_filter"),
        ]
        // Wrong types
        cases += [
            json("numeric id", .wrongType, "POST", events, #"{"id": 5}"#, 400, "invalid_document"),
            json("empty id", .wrongType, "POST", events, #"{"id": ""}"#, 400, "invalid_document"),
            json(
                "number beyond PostgreSQL's range", .wrongType, "POST", events, #"{"n": 1e1000000}"#, 400,
                "invalid_document"),
            json(
                "filter number beyond PostgreSQL's range", .wrongType, "POST", "\(events):find",
                #"{"where": {"n": {"$gt": 1e1000000}}}"#, 400, "invalid_filter"),
            get(
                "query number beyond PostgreSQL's range", .wrongType, "\(events)?n=lt.-1e1000000", 400, "invalid_filter"
            ),
            json(
                "numeric creation_utc", .wrongType, "POST", events, #"{"creation_utc": 12345}"#, 400, "invalid_document"
            ),
            json(
                "creation_utc not a date", .wrongType, "PATCH", "\(events)/seed1", #"{"creation_utc": "yesterday"}"#,
                400, "invalid_document"),
            json(
                "upsert not a boolean", .wrongType, "POST", "\(events):updateOne",
                #"{"where": {"id": "seed1"}, "params": {"a": 1}, "upsert": "yes"}"#, 400, "invalid_request"),
            json(
                "params not an object", .wrongType, "POST", "\(events):updateOne",
                #"{"where": {"id": "seed1"}, "params": "x"}"#, 400, "invalid_document"),
            json("limit as string", .wrongType, "POST", "\(events):find", #"{"limit": "10"}"#, 400, "invalid_request"),
            json(
                "sort not a list", .wrongType, "POST", "\(events):findOne", #"{"sort": "desc"}"#, 400, "invalid_request"
            ),
            json(
                "$in not an array", .wrongType, "POST", "\(events):find", #"{"where": {"n": {"$in": 1}}}"#, 400,
                "invalid_filter"),
            json(
                "$eq with an object", .wrongType, "POST", "\(events):find", #"{"where": {"n": {"$eq": {"a": 1}}}}"#,
                400, "invalid_filter"),
            json(
                "indexes not a list", .wrongType, "POST", "\(events):ensureIndexes", #"{"indexes": {"fields": []}}"#,
                400, "invalid_request"),
            json(
                "quarantine ids not a list", .wrongType, "POST", "\(events):quarantine",
                #"{"ids": "seed1", "reason": "x"}"#, 400, "invalid_request"),
            json(
                "quarantine reason not a string", .wrongType, "POST", "\(events):quarantine",
                #"{"ids": ["seed1"], "reason": 5}"#, 400, "invalid_request"),
            json(
                "patch changes the id", .wrongType, "PATCH", "\(events)/seed1", #"{"id": "other"}"#, 400,
                "invalid_document"),
            json(
                "replacement with another id", .wrongType, "PUT", "\(events)/seed1", #"{"id": "seed2"}"#, 400,
                "invalid_document"),
        ]
        // Bodies over the limit
        var declared = json(
            "declared length over the limit", .overLimit, "POST", events, padded(limit + 1), 413, "payload_too_large")
        declared.framing = .contentLength
        var chunked = json(
            "chunked body over the limit", .overLimit, "PATCH", "\(events)/seed1", padded(limit * 2), 413,
            "payload_too_large")
        chunked.framing = .chunked
        var huge = bytes("huge declared length, no body", .overLimit, "POST", events, [], 413, "payload_too_large")
        huge.framing = .declared(1 << 50)
        let manyDocuments =
            "[" + Array(repeating: #"{"kind":"bulk","n":1}"#, count: limit / 20).joined(separator: ",") + "]"
        cases += [
            declared, chunked, huge,
            json("bulk insert over the limit", .overLimit, "POST", events, manyDocuments, 413, "payload_too_large"),
        ]
        // Deep nesting
        cases += [
            json(
                "document nested 200 levels", .deepNesting, "POST", events,
                #"{"a": "# + String(repeating: "[", count: 200) + String(repeating: "]", count: 200) + "}", 400,
                "invalid_json"),
            json(
                "patch nested 129 objects", .deepNesting, "PATCH", "\(events)/seed1",
                String(repeating: #"{"a":"#, count: 129) + "1" + String(repeating: "}", count: 129), 400,
                "invalid_json"),
            json(
                "filter 33 levels of $and", .deepNesting, "POST", "\(events):find",
                #"{"where": \#(nestedFilter(33))}"#, 400, "invalid_filter"),
            json(
                "updateOne filter 40 levels of $or", .deepNesting, "POST", "\(events):updateOne",
                #"{"where": \#(nestedFilter(40, op: "$or")), "params": {"x": 1}}"#, 400, "invalid_filter"),
            get(
                "query where 40 levels", .deepNesting, "\(events)?\(whereQuery(nestedFilter(40)))", 400,
                "invalid_filter"),
            get(
                "query where 100 arrays", .deepNesting,
                "\(events)?\(whereQuery(#"{"a":"# + String(repeating: "[", count: 100) + String(repeating: "]", count: 100) + "}"))",
                400, "invalid_filter"),
            json(
                "1001 conditions", .deepNesting, "POST", "\(events):deleteOne",
                #"{"where": {\#((0...1000).map { #""f\#($0)": \#($0)"# }.joined(separator: ","))}}"#, 400,
                "invalid_filter"),
        ]
        // Invalid UTF-8
        cases += [
            bytes(
                "invalid bytes in a value", .invalidUTF8, "POST", events,
                Array(#"{"a": ""#.utf8) + [0xFF, 0xFE] + Array(#""}"#.utf8), 400, "invalid_json"),
            bytes(
                "overlong encoding", .invalidUTF8, "POST", events,
                Array(#"{"a": ""#.utf8) + [0xC0, 0xAF] + Array(#""}"#.utf8), 400, "invalid_json"),
            bytes(
                "encoded surrogate in a key", .invalidUTF8, "PATCH", "\(events)/seed1",
                Array(#"{""#.utf8) + [0xED, 0xA0, 0x80] + Array(#"": 1}"#.utf8), 400, "invalid_json"),
            bytes(
                "truncated sequence in a filter", .invalidUTF8, "POST", "\(events):deleteOne",
                Array(#"{"where": {"kind": ""#.utf8) + [0xE2, 0x82] + Array(#""}}"#.utf8), 400, "invalid_json"),
            json("lone surrogate escape", .invalidUTF8, "POST", events, #"{"a": "\ud800"}"#, 400, "invalid_json"),
            get("id not UTF-8", .invalidUTF8, "\(events)/%FF%FE", 400, "invalid_request", method: "DELETE"),
            get("query value not UTF-8", .invalidUTF8, "\(events)?customer_id=eq.%C3%28", 400, "invalid_request"),
            get("collection not UTF-8", .invalidUTF8, "/sessions/%C3%28", 400, "invalid_request"),
        ]
        // NUL bytes
        cases += [
            bytes(
                "raw NUL in a string", .nulByte, "POST", events, Array(#"{"a": "x"#.utf8) + [0] + Array(#"y"}"#.utf8),
                400, "invalid_json"),
            json("escaped NUL in a value", .nulByte, "POST", events, #"{"a": "x\u0000y"}"#, 400, "invalid_json"),
            json("escaped NUL in a key", .nulByte, "PATCH", "\(events)/seed1", #"{"a\u0000": 1}"#, 400, "invalid_json"),
            json(
                "escaped NUL in a filter", .nulByte, "POST", "\(events):deleteOne",
                #"{"where": {"id": "seed1\u0000"}}"#, 400, "invalid_json"),
            get("NUL in the id of a delete", .nulByte, "\(events)/seed1%00", 400, "invalid_request", method: "DELETE"),
            get("NUL in the id of a read", .nulByte, "\(events)/seed1%00x", 400, "invalid_request"),
            json(
                "NUL in the id of a merge", .nulByte, "PATCH", "\(events)/seed1%00", #"{"x": 1}"#, 400,
                "invalid_request"),
            json(
                "NUL in the id of a replacement", .nulByte, "PUT", "\(events)/seed1%00", #"{"x": 1}"#, 400,
                "invalid_request"),
            get("NUL in the collection", .nulByte, "/sessions/events%00x", 400, "invalid_collection"),
            get(
                "NUL in a query where", .nulByte, "\(events)?\(whereQuery(#"{"id":"seed1\u0000"}"#))", 400,
                "invalid_filter"),
            get("NUL in a query column value", .nulByte, "\(events)?customer_id=eq.c1%00", 400, "invalid_filter"),
            get("NUL in a query field value", .nulByte, "\(events)?kind=eq.message%00", 400, "invalid_filter"),
            get("NUL in a query field name", .nulByte, "\(events)?ki%00nd=eq.message", 400, "invalid_filter"),
        ]
        // Unknown operators
        cases += [
            json(
                "$regex", .unknownOperator, "POST", "\(events):find", #"{"where": {"kind": {"$regex": ".*"}}}"#, 400,
                "invalid_filter"),
            json(
                "$nor", .unknownOperator, "POST", "\(events):find", #"{"where": {"$nor": []}}"#, 400, "invalid_filter"),
            json(
                "$where on deleteOne", .unknownOperator, "POST", "\(events):deleteOne",
                #"{"where": {"kind": {"$where": "1=1"}}}"#, 400, "invalid_filter"),
            json(
                "$expr on updateOne upsert", .unknownOperator, "POST", "\(events):updateOne",
                #"{"where": {"$expr": {}}, "params": {"x": 1}, "upsert": true}"#, 400, "invalid_filter"),
            json(
                "uppercase $EQ", .unknownOperator, "POST", "\(events):findOne", #"{"where": {"n": {"$EQ": 1}}}"#, 400,
                "invalid_filter"),
            get("PostgREST like", .unknownOperator, "\(events)?kind=like.mess*", 400, "invalid_filter"),
            get("PostgREST without operator", .unknownOperator, "\(events)?customer_id=c1", 400, "invalid_filter"),
            get("PostgREST in without parentheses", .unknownOperator, "\(events)?n=in.1,2", 400, "invalid_filter"),
            get("PostgREST unterminated quote", .unknownOperator, "\(events)?kind=in.(%22a,b)", 400, "invalid_filter"),
        ]
        // Hostile strings in field names
        cases += [
            json(
                "injection in a field with a bad operator", .hostileFieldName, "POST", "\(events):deleteOne",
                #"{"where": {"\#(hostile)": {"$where": 1}}}"#, 400, "invalid_filter"),
            get(
                "injection in a query field with an empty part", .hostileFieldName,
                "\(events)?\(RouteCheck.encode(hostile + "..a"))=eq.1", 400, "invalid_filter"),
            json(
                "field path over 1024 bytes", .hostileFieldName, "POST", "\(events):updateOne",
                #"{"where": {"\#(String(repeating: "a'", count: 513))": 1}, "params": {"x": 1}, "upsert": true}"#,
                400, "invalid_filter"),
            json(
                "empty field name", .hostileFieldName, "POST", "\(events):deleteOne", #"{"where": {"": 1}}"#, 400,
                "invalid_filter"),
            json(
                "injection in a sort field", .hostileFieldName, "POST", "\(events):findOne",
                #"{"sort": [["\#(hostile)", "asc; DROP TABLE x"]]}"#, 400, "invalid_request"),
            json(
                "injection in an index field", .hostileFieldName, "POST", "\(events):ensureIndexes",
                #"{"indexes": [{"fields": [["\#(hostile)", "sideways"]], "unique": true}]}"#, 400, "invalid_request"),
            json(
                "unknown body field with injection", .hostileFieldName, "POST", "\(events):find",
                #"{"where": {}, "\#(hostile)": 1}"#, 400, "invalid_request"),
        ]
        // Hostile ids
        cases += [
            get(
                "injection id on delete", .hostileID, "\(events)/\(RouteCheck.encode("x' OR '1'='1"))", 404,
                "document_not_found", method: "DELETE"),
            json(
                "injection id on merge", .hostileID, "PATCH",
                "\(events)/\(RouteCheck.encode("seed1'; DELETE FROM parlant_sessions_events; --"))",
                #"{"x": 1}"#, 404, "document_not_found"),
            get("path traversal id", .hostileID, "\(events)/..%2F..%2Fseed1", 404, "document_not_found"),
            json(
                "id over 256 bytes in the path", .hostileID, "PUT", "\(events)/\(String(repeating: "%27", count: 257))",
                "{}", 400, "invalid_document"),
            json(
                "id over 256 bytes in the body", .hostileID, "POST", events,
                #"{"id": "\#(String(repeating: "'", count: 257))"}"#, 400, "invalid_document"),
            json(
                "wildcard id in quarantine", .hostileID, "POST", "\(events):quarantine",
                #"{"ids": ["%", "*"], "reason": 1}"#, 400, "invalid_request"),
        ]
        // Hostile collection names
        cases += [
            get(
                "injection collection on drop", .hostileCollection,
                "/sessions/\(RouteCheck.encode(#"events"; DROP SCHEMA public CASCADE; --"#))", 400,
                "invalid_collection", method: "DELETE"),
            json(
                "schema-qualified collection", .hostileCollection, "POST", "/sessions/pg_catalog.pg_class",
                #"{"a": 1}"#, 400, "invalid_collection"),
            get("traversal collection", .hostileCollection, "/sessions/..%2F..%2Fetc", 400, "invalid_collection"),
            get(
                "drop a failed-migrations table", .hostileCollection, "/sessions/events_failed_migrations", 400,
                "invalid_collection", method: "DELETE"),
            get(
                "uppercase collection", .hostileCollection, "/sessions/EVENTS", 400, "invalid_collection", method: "PUT"
            ),
            json(
                "collection of 64 characters", .hostileCollection, "POST",
                "/sessions/\(String(repeating: "e", count: 64))", "{}", 400, "invalid_collection"),
        ]
        // Hostile values
        cases += [
            get(
                "injection value with a bad operator", .hostileValue,
                "\(events)?customer_id=ilike.\(RouteCheck.encode("' OR 1=1 --"))", 400, "invalid_filter"),
            get(
                "injection in sort", .hostileValue, "\(events)?sort=\(RouteCheck.encode("creation_utc; DROP TABLE x"))",
                400, "invalid_request"),
            get(
                "injection in count", .hostileValue,
                "\(events)?count=\(RouteCheck.encode("exact'); DELETE FROM x; --"))", 400, "invalid_request"),
            json(
                "injection value in an invalid upsert", .hostileValue, "POST", "\(events):updateOne",
                #"{"where": {"customer_id": "' OR 1=1; --"}, "params": ["' OR 1=1"], "upsert": true}"#, 400,
                "invalid_document"),
            json(
                "duplicate of a unique email", .hostileValue, "POST", events,
                #"{"email": "u1@example.com", "kind": "'); DELETE FROM x; --"}"#, 409, "unique_violation"),
        ]
        // Forged cursors
        let forged: [(String, String)] = [
            ("not base64url", "not-base64!!"),
            ("object instead of array", base64URL(#"{"creation_utc":"2024","id":"seed1"}"#)),
            ("number id", base64URL(#"["2024-05-01T12:00:00.000000+00:00",5]"#)),
            ("three items", base64URL(#"["a","b","c"]"#)),
            ("empty id", base64URL(#"["2024-05-01T12:00:00.000000+00:00",""]"#)),
            ("padded base64", base64URL(#"["a","bc"]"#) + "=="),
            ("standard alphabet", "WyI/Pj8+IiwiPz8iXQ"),  // base64 of ["?>?>","??"], with '/' and '+'
            ("base64url of a JSON string", base64URL(#""seed1""#)),
            ("over 4096 bytes", base64URL(#"["a",""# + String(repeating: "x", count: 4000) + #""]"#)),
        ]
        for (name, token) in forged {
            cases.append(
                get(
                    "cursor \(name)", .forgedCursor, "\(events)?limit=2&cursor=\(RouteCheck.encode(token))", 400,
                    "invalid_cursor"))
        }
        cases += [
            json(
                "cursor as a number in a body", .forgedCursor, "POST", "\(events):find", #"{"limit": 2, "cursor": 5}"#,
                400, "invalid_cursor"),
            json(
                "cursor not JSON in a body", .forgedCursor, "POST", "\(events):find",
                #"{"cursor": "\#(base64URL("[nope"))"}"#, 400, "invalid_cursor"),
            get(
                "cursor given twice", .forgedCursor, "\(events)?cursor=\(base64URL(#"["a","b"]"#))&cursor=x", 400,
                "invalid_request"),
        ]
        // Out-of-range limits
        for value in ["0", "1001", "-1", "99999999999999999999999", "abc", "", "1.5", "%201"] {
            cases.append(
                get(
                    "limit \(value.isEmpty ? "empty" : value)", .limitOutOfRange, "\(events)?limit=\(value)", 400,
                    "invalid_request"))
        }
        cases += [
            json(
                "limit 1.5 in a body", .limitOutOfRange, "POST", "\(events):find", #"{"limit": 1.5}"#, 400,
                "invalid_request"),
            json(
                "limit 100000 in a body", .limitOutOfRange, "POST", "\(events):find", #"{"limit": 100000}"#, 400,
                "invalid_request"),
            get("limit given twice", .limitOutOfRange, "\(events)?limit=1&limit=2", 400, "invalid_request"),
            get("limit without a value", .limitOutOfRange, "\(events)?limit", 400, "invalid_request"),
        ]
        // Missing fields
        cases += [
            json(
                "updateOne without where", .missingField, "POST", "\(events):updateOne", #"{"params": {"a": 1}}"#, 400,
                "invalid_request"),
            json(
                "updateOne without params", .missingField, "POST", "\(events):updateOne",
                #"{"where": {"id": "seed1"}}"#, 400, "invalid_request"),
            json("deleteOne without where", .missingField, "POST", "\(events):deleteOne", "{}", 400, "invalid_request"),
            json(
                "quarantine without reason", .missingField, "POST", "\(events):quarantine", #"{"ids": ["seed1"]}"#, 400,
                "invalid_request"),
            json(
                "ensureIndexes without indexes", .missingField, "POST", "\(events):ensureIndexes", "{}", 400,
                "invalid_request"),
            json(
                "index without fields", .missingField, "POST", "\(events):ensureIndexes",
                #"{"indexes": [{"unique": true}]}"#, 400, "invalid_request"),
            json(
                "merge of a missing document", .missingField, "PATCH", "\(events)/missing", #"{"x": 1}"#, 404,
                "document_not_found"),
            get(
                "delete of a missing document", .missingField, "\(events)/missing", 404, "document_not_found",
                method: "DELETE"),
        ]
        // Wrong fields
        cases += [
            json("misspelled where", .wrongField, "POST", "\(events):find", #"{"wher": {}}"#, 400, "invalid_request"),
            json(
                "limit in findOne", .wrongField, "POST", "\(events):findOne", #"{"where": {}, "limit": 1}"#, 400,
                "invalid_request"),
            json(
                "filter instead of where", .wrongField, "POST", "\(events):deleteOne", #"{"filter": {"id": "seed1"}}"#,
                400, "invalid_request"),
            json(
                "update instead of params", .wrongField, "POST", "\(events):updateOne",
                #"{"where": {}, "update": {"a": 1}}"#, 400, "invalid_request"),
            json(
                "extra index key", .wrongField, "POST", "\(events):ensureIndexes",
                #"{"indexes": [{"fields": [["a","asc"]], "name": "x"}]}"#, 400, "invalid_request"),
            get("sort sideways", .wrongField, "\(events)?sort=sideways", 400, "invalid_request"),
            get("count estimated", .wrongField, "\(events)?count=estimated", 400, "invalid_request"),
            get("empty query name", .wrongField, "\(events)?=eq.1", 400, "invalid_request"),
        ]
        // The service key: missing, wrong
        var noKeyInsert = json(
            "insert without a key", .missingServiceKey, "POST", events, #"{"kind": "x"}"#, 401, "unauthorized")
        noKeyInsert.key = .none
        var noKeyDrop = get("drop without a key", .missingServiceKey, events, 401, "unauthorized", method: "DELETE")
        noKeyDrop.key = .none
        var wrongBearer = get("drop with a wrong key", .wrongServiceKey, events, 401, "unauthorized", method: "DELETE")
        wrongBearer.key = .wrong("Authorization: Bearer not-the-key")
        var wrongAPIKey = json(
            "deleteOne with a wrong apikey", .wrongServiceKey, "POST", "\(events):deleteOne", #"{"where": {}}"#, 401,
            "unauthorized")
        wrongAPIKey.key = .wrong("apikey: \(TestService.key.dropLast())")
        var basic = json(
            "merge with Basic auth", .wrongServiceKey, "PATCH", "\(events)/seed1", #"{"x": 1}"#, 401, "unauthorized")
        basic.key = .wrong("Authorization: Basic \(Data("user:\(TestService.key)".utf8).base64EncodedString())")
        var badCollectionNoKey = get(
            "bad collection without a key", .missingServiceKey, "/sessions/Bad-Name", 401, "unauthorized")
        badCollectionNoKey.key = .none
        cases += [noKeyInsert, noKeyDrop, wrongBearer, wrongAPIKey, basic, badCollectionNoKey]
        // Content types
        for contentType in [
            "text/plain", nil, "application/x-www-form-urlencoded", "application/json; charset=latin1",
            "multipart/form-data; boundary=x",
            "application/xml",
        ] as [String?] {
            var request = json(
                "content type \(contentType ?? "missing")", .contentType, "POST", events, #"{"kind": "typed"}"#, 415,
                "unsupported_media_type")
            request.contentType = contentType
            cases.append(request)
        }
        var textPatch = json(
            "text/json patch", .contentType, "PATCH", "\(events)/seed1", #"{"x": 1}"#, 415, "unsupported_media_type")
        textPatch.contentType = "text/json"
        cases.append(textPatch)
        // Unknown methods
        cases += [
            get("FOO", .unknownMethod, events, 405, "method_not_allowed", method: "FOO"),
            get("TRACE a document", .unknownMethod, "\(events)/seed1", 405, "method_not_allowed", method: "TRACE"),
            get("OPTIONS", .unknownMethod, events, 405, "method_not_allowed", method: "OPTIONS"),
            get("lowercase delete", .unknownMethod, "\(events)/seed1", 405, "method_not_allowed", method: "delete"),
            json("PATCH a collection", .unknownMethod, "PATCH", events, #"{"x": 1}"#, 405, "method_not_allowed"),
            json("POST to an id", .unknownMethod, "POST", "\(events)/seed1", #"{"x": 1}"#, 405, "method_not_allowed"),
            get("DELETE healthz", .unknownMethod, "/healthz", 405, "method_not_allowed", method: "DELETE"),
        ]
        // Unknown routes
        cases += [
            json("unknown action", .unknownRoute, "POST", "\(events):drop", "{}", 404, "not_found"),
            get("unknown store", .unknownRoute, "/admin/users", 404, "not_found", method: "DELETE"),
            get("too deep a path", .unknownRoute, "\(events)/seed1/x", 404, "not_found", method: "DELETE"),
        ]
        // Conflicts
        cases += [
            json(
                "insert of an existing id", .conflict, "POST", events, #"{"id": "seed1", "kind": "again"}"#, 409,
                "duplicate_id"),
            json(
                "bulk insert with one existing id", .conflict, "POST", events, #"[{"id": "fresh1"}, {"id": "seed2"}]"#,
                409,
                "duplicate_id"),
            json(
                "bulk insert repeating an id", .conflict, "POST", events, #"[{"id": "fresh2"}, {"id": "fresh2"}]"#, 409,
                "duplicate_id"),
            json(
                "merge onto a unique email", .conflict, "PATCH", "\(events)/seed2", #"{"email": "u1@example.com"}"#,
                409, "unique_violation"),
        ]
        return cases
    }()
}
