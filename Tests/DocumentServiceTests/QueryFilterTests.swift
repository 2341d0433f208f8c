import Foundation
import TestSupport
import Testing

@testable import DocumentStore

/// PostgREST-style `field=op.value` pairs give exactly the results of the equivalent `where`.
///
/// The rules, as `PostgRESTFilter` implements them:
/// - `eq neq gt gte lt lte` map to `$eq $ne $gt $gte $lt $lte`, `in.(...)` to `$in`; the text after the
///   first dot is the operand.
/// - An operand that is a JSON literal is that literal: numbers (`30`, `-4`, `2.5`, `1e2`), `true`,
///   `false`, `null`, and a double-quoted JSON string (`"30"` is the string 30). Anything else is the
///   string as written (`open`, `030`, `True`, an empty operand is the empty string).
/// - `in.(a,b,"c,d")`: items split at commas; a double-quoted item is a string (`\` escapes the next
///   character) and may hold commas and parentheses; an unquoted item follows the literal rule above.
/// - Several pairs, including several on one field, are ANDed with each other and with `where`.
/// - The query is percent-decoded first, and `+` is a space (form encoding).
@Suite struct QueryFilterTests {
    static let statuses: [JSONValue?] = [
        .string("open"), .string("closed"), .string("pending"), .string("30"), .string("a,b"),
        .string("with space"), .string("Ünïcode"), .string("(paren)"), .string("a\"b"), .string(""), .null, nil,
        .number("30"), .bool(true),
    ]
    static let ages: [JSONValue?] = [
        .number("30"), .number("30.0"), .number("2.5"), .number("-4"), .number("1e2"), .number("0"),
        .string("30"), .null, nil, .bool(false), .number("45"),
    ]
    static let actives: [JSONValue?] = [.bool(true), .bool(false), .null, nil, .string("true")]
    static let codes: [JSONValue?] = [.string("30"), .number("30"), .string("030"), .string("abc"), nil]
    /// `session_id` has a column of its own (the JSON text of non-strings), so equality also tests it.
    static let sessions: [JSONValue?] = [
        .string("sess-1"), .string("30"), .number("30"), .bool(true), .string("true"), .null, nil, .string("null"),
        .string("sess-2"),
    ]
    static let tiers: [JSONValue?] = [.string("gold"), .string("silver"), .number("1"), .null, nil]

    /// 70 documents mixing strings, ints, floats, bools, nulls, missing fields and nested objects.
    static let documents: [JSONValue] = (0..<70).map { i in
        var object = JSONObject()
        object["id"] = .string("f" + QuerySupport.pad(i, 2))
        object["creation_utc"] = .string(QuerySupport.timestamp(1000 + (i * 13) % 70))
        if let value = statuses[i % statuses.count] { object["status"] = value }
        if let value = ages[i % ages.count] { object["age"] = value }
        if let value = actives[i % actives.count] { object["active"] = value }
        if let value = codes[(i / 2) % codes.count] { object["code"] = value }
        if let value = sessions[i % sessions.count] { object["session_id"] = value }
        object["score"] = .number(String(Double(i) / 4))
        switch i % 6 {
        case 5:
            break
        case 4:
            object["extra"] = .string("flat")
        default:
            var extra = JSONObject()
            if let tier = tiers[i % tiers.count] { extra["tier"] = tier }
            extra["level"] = .number(String(i % 4))
            object["extra"] = .object(extra)
        }
        return .object(object)
    }

    static let seeded: String = {
        let name = TestService.uniqueCollection("filt")
        do {
            try QuerySupport.seed(name, documents)
        } catch {
            fatalError("seeding \(name) failed: \(error)")
        }
        return name
    }()

    /// (PostgREST pairs, still to be percent-encoded where noted, the equivalent where JSON).
    /// Pair values are written as a client would send them: `enc(...)` marks percent-encoded parts.
    static func enc(_ text: String) -> String { QuerySupport.encode(text) }

    static let cases: [(pairs: [String], where: String)] = [
        (["status=eq.open"], #"{"status": "open"}"#),
        (["status=neq.open"], #"{"status": {"$ne": "open"}}"#),
        (["status=gt.m"], #"{"status": {"$gt": "m"}}"#),
        (["status=gte.open"], #"{"status": {"$gte": "open"}}"#),
        (["status=lt.b"], #"{"status": {"$lt": "b"}}"#),
        (["status=lte." + enc("a,b")], #"{"status": {"$lte": "a,b"}}"#),
        (["status=eq.30"], #"{"status": 30}"#),
        (["status=eq." + enc(#""30""#)], #"{"status": "30"}"#),
        (["status=eq.null"], #"{"status": null}"#),
        (["status=neq.null"], #"{"status": {"$ne": null}}"#),
        (["status=eq.true"], #"{"status": true}"#),
        (["status=eq."], #"{"status": ""}"#),
        (["status=eq.with+space"], #"{"status": "with space"}"#),
        (["status=eq.with%20space"], #"{"status": "with space"}"#),
        (["status=eq." + enc("Ünïcode")], #"{"status": "Ünïcode"}"#),
        (["status=gt." + enc("Ü")], #"{"status": {"$gt": "Ü"}}"#),
        (["status=eq." + enc(#""a\"b""#)], #"{"status": "a\"b"}"#),
        (["status=eq." + enc("(paren)")], #"{"status": "(paren)"}"#),
        (["status=eq.open.closed"], #"{"status": "open.closed"}"#),
        (["status=in.(open,closed)"], #"{"status": {"$in": ["open", "closed"]}}"#),
        (["status=in." + enc(#"(open,"a,b")"#)], #"{"status": {"$in": ["open", "a,b"]}}"#),
        (["status=in." + enc(#"("(paren)",30,null)"#)], #"{"status": {"$in": ["(paren)", 30, null]}}"#),
        (["status=in." + enc(#"("a\"b",true)"#)], #"{"status": {"$in": ["a\"b", true]}}"#),
        (["status=in.()"], #"{"status": {"$in": []}}"#),
        (["status=in.(open,)"], #"{"status": {"$in": ["open", ""]}}"#),
        (["age=eq.30"], #"{"age": 30}"#),
        (["age=eq.30.0"], #"{"age": 30.0}"#),
        (["age=eq." + enc(#""30""#)], #"{"age": "30"}"#),
        (["age=neq.30"], #"{"age": {"$ne": 30}}"#),
        (["age=gt.2.5"], #"{"age": {"$gt": 2.5}}"#),
        (["age=gte.2.5"], #"{"age": {"$gte": 2.5}}"#),
        (["age=lt.30"], #"{"age": {"$lt": 30}}"#),
        (["age=lte.30"], #"{"age": {"$lte": 30}}"#),
        (["age=lt.0"], #"{"age": {"$lt": 0}}"#),
        (["age=gt.-5"], #"{"age": {"$gt": -5}}"#),
        (["age=eq.1e2"], #"{"age": 100}"#),
        (["age=eq.false"], #"{"age": false}"#),
        (["age=in.(30,2.5,-4)"], #"{"age": {"$in": [30, 2.5, -4]}}"#),
        (["age=gte.0", "age=lt.30"], #"{"age": {"$gte": 0, "$lt": 30}}"#),
        (["active=eq.true"], #"{"active": true}"#),
        (["active=eq.false"], #"{"active": false}"#),
        (["active=neq.true"], #"{"active": {"$ne": true}}"#),
        (["active=eq.null"], #"{"active": null}"#),
        (["active=neq.null"], #"{"active": {"$ne": null}}"#),
        (["active=eq." + enc(#""true""#)], #"{"active": "true"}"#),
        (["active=eq.True"], #"{"active": "True"}"#),
        (["active=in.(true,null)"], #"{"active": {"$in": [true, null]}}"#),
        (["active=gt.false"], #"{"active": {"$gt": false}}"#),
        (["code=eq.30"], #"{"code": 30}"#),
        (["code=eq.%2230%22"], #"{"code": "30"}"#),
        (["code=eq.030"], #"{"code": "030"}"#),
        (["code=neq." + enc(#""30""#)], #"{"code": {"$ne": "30"}}"#),
        (["code=in." + enc(#"(30,"30")"#)], #"{"code": {"$in": [30, "30"]}}"#),
        (["code=in.(030,abc)"], #"{"code": {"$in": ["030", "abc"]}}"#),
        (["code=gt.1"], #"{"code": {"$gt": 1}}"#),
        (["code=gt." + enc(#""1""#)], #"{"code": {"$gt": "1"}}"#),
        (["score=gt.7.25"], #"{"score": {"$gt": 7.25}}"#),
        (["score=lte.3"], #"{"score": {"$lte": 3}}"#),
        (["score=eq.4"], #"{"score": 4.0}"#),
        (["session_id=eq.sess-1"], #"{"session_id": "sess-1"}"#),
        (["session_id=eq.30"], #"{"session_id": 30}"#),
        (["session_id=eq." + enc(#""30""#)], #"{"session_id": "30"}"#),
        (["session_id=eq.true"], #"{"session_id": true}"#),
        (["session_id=eq." + enc(#""true""#)], #"{"session_id": "true"}"#),
        (["session_id=eq.null"], #"{"session_id": null}"#),
        (["session_id=eq." + enc(#""null""#)], #"{"session_id": "null"}"#),
        (["session_id=neq." + enc(#""30""#)], #"{"session_id": {"$ne": "30"}}"#),
        (["session_id=in." + enc(#"("30",sess-1,null)"#)], #"{"session_id": {"$in": ["30", "sess-1", null]}}"#),
        (["session_id=gt.s"], #"{"session_id": {"$gt": "s"}}"#),
        (["id=in.(f01,f02,f63,nope)"], #"{"id": {"$in": ["f01", "f02", "f63", "nope"]}}"#),
        (["id=eq.f05"], #"{"id": "f05"}"#),
        (["id=gte.f60"], #"{"id": {"$gte": "f60"}}"#),
        (
            ["creation_utc=gte." + enc(QuerySupport.timestamp(1040))],
            #"{"creation_utc": {"$gte": ""#
                + QuerySupport.timestamp(1040) + #""}}"#
        ),
        (
            ["creation_utc=eq." + enc(QuerySupport.timestamp(1007))],
            #"{"creation_utc": ""#
                + QuerySupport.timestamp(1007) + #""}"#
        ),
        (["extra.tier=eq.gold"], #"{"extra.tier": "gold"}"#),
        (["extra.tier=neq.gold"], #"{"extra.tier": {"$ne": "gold"}}"#),
        (["extra.tier=eq.1"], #"{"extra.tier": 1}"#),
        (["extra.tier=eq.null"], #"{"extra.tier": null}"#),
        (["extra.tier=in.(gold,silver)"], #"{"extra.tier": {"$in": ["gold", "silver"]}}"#),
        (["extra.level=gte.2"], #"{"extra.level": {"$gte": 2}}"#),
        (["extra.level=neq.1"], #"{"extra.level": {"$ne": 1}}"#),
        (["extra=eq.flat"], #"{"extra": "flat"}"#),
        (["extra=neq.flat"], #"{"extra": {"$ne": "flat"}}"#),
        (["status=neq.open", "age=gte.0"], #"{"status": {"$ne": "open"}, "age": {"$gte": 0}}"#),
        (
            ["active=eq.true", "extra.tier=neq.silver", "score=lt.12"],
            #"{"$and": [{"active": true}, {"extra.tier": {"$ne": "silver"}}, {"score": {"$lt": 12}}]}"#
        ),
        (
            ["where=" + enc(#"{"$or": [{"active": true}, {"code": "30"}]}"#), "extra.tier=neq.silver", "age=lt.45"],
            #"{"$and": [{"$or": [{"active": true}, {"code": "30"}]}, {"extra.tier": {"$ne": "silver"}}, {"age": {"$lt": 45}}]}"#
        ),
        (
            ["status=in.(open,closed,pending)", "where=" + enc(#"{"score": {"$gte": 5}}"#)],
            #"{"status": {"$in": ["open", "closed", "pending"]}, "score": {"$gte": 5}}"#
        ),
    ]

    static func expectedIDs(_ whereJSON: String) throws -> [String] {
        let filter = try Where.parse(json: whereJSON)
        return QuerySupport.keysetOrder(documents.filter { ReferenceFilter.matches(filter, $0.objectValue!) })
    }

    @Test func postgRESTPairsEqualTheEquivalentWhere() throws {
        let client = TestService.shared.client()
        let path = "/sessions/\(Self.seeded)"
        var nonTrivial = 0
        for (pairs, whereJSON) in Self.cases {
            let expected = try Self.expectedIDs(whereJSON)
            let viaWhere = try client.call("GET", "\(path)?where=\(QuerySupport.encode(whereJSON))")
            #expect(viaWhere.status == 200, "where \(whereJSON): \(viaWhere.text)")
            #expect(QuerySupport.ids(viaWhere) == expected, "where \(whereJSON)")

            let query = pairs.joined(separator: "&")
            let viaPairs = try client.call("GET", "\(path)?\(query)")
            #expect(viaPairs.status == 200, "?\(query): \(viaPairs.text)")
            #expect(QuerySupport.ids(viaPairs) == QuerySupport.ids(viaWhere), "?\(query) vs where \(whereJSON)")

            // The same through a page with a limit, so both the streamed and the paged paths are covered.
            let paged = try client.call("GET", "\(path)?\(query)&limit=1000&count=exact")
            #expect(QuerySupport.ids(paged) == expected, "?\(query)&limit=1000")
            #expect(paged.object["total_count"] as? Int == expected.count)
            if !expected.isEmpty && expected.count < Self.documents.count { nonTrivial += 1 }
        }
        // The comparisons above mean something only if most filters select some but not all documents.
        #expect(nonTrivial >= Self.cases.count - 8, "only \(nonTrivial) of \(Self.cases.count) cases are selective")
    }

    /// The literal rules, checked against the seed directly rather than through a `where`.
    @Test func operandLiteralRules() throws {
        let client = TestService.shared.client()
        let path = "/sessions/\(Self.seeded)"
        func ids(_ query: String) throws -> Set<String> {
            let response = try client.call("GET", "\(path)?\(query)")
            #expect(response.status == 200, "?\(query): \(response.text)")
            return Set(QuerySupport.ids(response))
        }
        func seeded(_ field: String, _ predicate: (JSONValue) -> Bool) -> Set<String> {
            Set(
                Self.documents.compactMap { document in
                    let object = document.objectValue!
                    guard let value = object[field], predicate(value) else { return nil }
                    return object["id"]!.stringValue!
                })
        }
        let numberThirty = seeded("code") { $0.numberLiteral.flatMap(Double.init) == 30 }
        let stringThirty = seeded("code") { $0.stringValue == "30" }
        #expect(!numberThirty.isEmpty && !stringThirty.isEmpty)
        #expect(try ids("code=eq.30") == numberThirty)
        #expect(try ids("code=eq.%2230%22") == stringThirty)
        #expect(try ids("code=eq.030") == seeded("code") { $0.stringValue == "030" })
        #expect(try ids("code=in.(30,%2230%22)") == numberThirty.union(stringThirty))
        #expect(try ids("active=eq.true") == seeded("active") { $0.boolValue == true })
        #expect(try ids("active=eq.%22true%22") == seeded("active") { $0.stringValue == "true" })
        // null is the JSON null: a present null matches, a missing field does not.
        let nulls = seeded("active") { $0.isNull }
        #expect(!nulls.isEmpty)
        #expect(try ids("active=eq.null") == nulls)
        // in.(a,b,"c,d"): the quoted item keeps its comma.
        let inList = seeded("status") { ["open", "closed", "a,b"].contains($0.stringValue ?? "-") }
        #expect(try ids("status=in.(open,closed,%22a,b%22)") == inList)
        #expect(
            try ids("status=in.(open,closed,a,b)")
                == seeded("status") {
                    ["open", "closed", "a", "b"].contains($0.stringValue ?? "-")
                })
        // Numbers compare numerically: 30 matches 30 and 30.0, not "30".
        #expect(try ids("age=eq.30") == seeded("age") { $0.numberLiteral.flatMap(Double.init) == 30 })
    }
}
