import Foundation
import TestSupport
import Testing

@testable import DocumentStore

/// Query and collection routes: find (body and query string), findOne, updateOne, deleteOne,
/// ensureIndexes, quarantine, failedMigrations, collection create/drop, and `/{store}` (SPEC sections 5-7).
@Suite struct RouteQueryTests {
    /// Five documents `n = 1...5` with increasing `creation_utc`, so the keyset order is `n`'s.
    private static func seed(_ client: HTTPClient, _ collection: String) throws -> [[String: Any]] {
        let documents: [[String: Any]] = (1...5).map { n in
            ["id": "d\(n)", "creation_utc": "2024-01-0\(n)T00:00:00+00:00", "n": n, "even": n % 2 == 0]
        }
        let response = try client.call("POST", "/sessions/\(collection)", json: RouteCheck.json(documents))
        try #require(response.status == 201, "\(response.text)")
        return documents
    }

    private static func ids(_ items: [[String: Any]]) -> [String] {
        items.map { $0["id"] as? String ?? "?" }
    }

    // MARK: POST :find

    @Test func findByBody() throws {
        let client = TestService.shared.client()
        let collection = TestService.uniqueCollection()
        let documents = try Self.seed(client, collection)

        for body: String? in [nil, "{}"] {
            let all = try RouteCheck.find(client, collection, body)
            #expect(RouteCheck.equal(all.items, documents), "body \(body ?? "none")")
            #expect(all.page["total_count"] as? Int == 5)
            #expect(all.page["has_more"] as? Bool == false)
            #expect(all.page["next_cursor"] is NSNull)
        }

        let filtered = try RouteCheck.find(client, collection, #"{"where": {"n": {"$gte": 3}, "even": false}}"#)
        #expect(Self.ids(filtered.items) == ["d3", "d5"])
        let nested = try RouteCheck.find(
            client, collection, #"{"where": {"$or": [{"n": 1}, {"$and": [{"even": true}, {"n": {"$in": [4, 5]}}]}]}}"#)
        #expect(Self.ids(nested.items) == ["d1", "d4"])
        let descending = try RouteCheck.find(client, collection, #"{"sort": "desc"}"#)
        #expect(Self.ids(descending.items) == ["d5", "d4", "d3", "d2", "d1"])
        let counted = try RouteCheck.find(
            client, collection, #"{"where": {"even": true}, "limit": 1, "count": "exact"}"#)
        #expect(counted.page["total_count"] as? Int == 2)
        #expect(counted.items.count == 1)
    }

    @Test func findByBodyPages() throws {
        let client = TestService.shared.client()
        let collection = TestService.uniqueCollection()
        _ = try Self.seed(client, collection)
        var seen: [String] = []
        var cursor: Any = NSNull()
        var pages = 0
        while pages < 10 {
            let body = RouteCheck.json(["limit": 2, "cursor": cursor])
            let page = try RouteCheck.find(client, collection, body)
            pages += 1
            seen += Self.ids(page.items)
            #expect(page.page["total_count"] as? Int == page.items.count)
            if page.page["has_more"] as? Bool == true {
                cursor = try #require(page.page["next_cursor"] as? String)
                #expect(page.items.count == 2)
            } else {
                #expect(page.page["next_cursor"] is NSNull)
                break
            }
        }
        #expect(seen == ["d1", "d2", "d3", "d4", "d5"])
        #expect(pages == 3)

        let descending = try RouteCheck.find(client, collection, #"{"limit": 3, "sort": "desc"}"#)
        #expect(Self.ids(descending.items) == ["d5", "d4", "d3"])
        let next = try #require(descending.page["next_cursor"] as? String)
        let rest = try RouteCheck.find(
            client, collection, RouteCheck.json(["limit": 3, "sort": "desc", "cursor": next]))
        #expect(Self.ids(rest.items) == ["d2", "d1"])

        // The documented token format: base64url, no padding, of [creation_utc, id].
        let token = Data(#"["2024-01-02T00:00:00+00:00","d2"]"#.utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
        let handMade = try RouteCheck.find(client, collection, RouteCheck.json(["limit": 10, "cursor": token]))
        #expect(Self.ids(handMade.items) == ["d3", "d4", "d5"])
    }

    @Test(arguments: [
        RouteErrorCase(#"{"bogus": 1}"#, "invalid_request"),
        RouteErrorCase(#"{"where": {}, "filter": {}}"#, "invalid_request"),
        RouteErrorCase(#"{"limit": 0}"#, "invalid_request"), RouteErrorCase(#"{"limit": 1001}"#, "invalid_request"),
        RouteErrorCase(#"{"limit": "5"}"#, "invalid_request"), RouteErrorCase(#"{"limit": 2.5}"#, "invalid_request"),
        RouteErrorCase(#"{"sort": "up"}"#, "invalid_request"), RouteErrorCase(#"{"sort": 1}"#, "invalid_request"),
        RouteErrorCase(#"{"cursor": "!!!"}"#, "invalid_cursor"), RouteErrorCase(#"{"cursor": 5}"#, "invalid_cursor"),
        RouteErrorCase(#"{"cursor": "WzFd"}"#, "invalid_cursor"), RouteErrorCase("[]", "invalid_request"),
        RouteErrorCase("5", "invalid_request"), RouteErrorCase(#"{"where": "#, "invalid_json"),
        RouteErrorCase(#"{"where": 5}"#, "invalid_filter"), RouteErrorCase(#"{"where": []}"#, "invalid_filter"),
    ])
    func findByBodyRejectsBadParameters(_ test: RouteErrorCase) throws {
        let client = TestService.shared.client()
        let collection = TestService.uniqueCollection()
        _ = try Self.seed(client, collection)
        let response = try client.call("POST", "/sessions/\(collection):find", json: test.body)
        RouteCheck.expectError(response, status: 400, code: test.code)
    }

    @Test(arguments: [
        RouteFilterCase(#"{"n": {"$foo": 1}}"#, ["n", "$foo"]),
        RouteFilterCase(#"{"n": {"$in": 5}}"#, ["n", "$in"]),
        RouteFilterCase(#"{"$and": [{"a": 1}, {"b": {"$gt": [1]}}]}"#, ["$and", "[1]", "b", "$gt"]),
        RouteFilterCase(#"{"$or": {"a": 1}}"#, ["$or"]),
        RouteFilterCase(#"{"$nor": [{"a": 1}]}"#, ["$nor"]),
        RouteFilterCase(#"{"a": {"$eq": {"x": 1}}}"#, ["a", "$eq"]),
        RouteFilterCase(#"{"": 1}"#, ["where"]),
    ])
    func badWhereNamesWhereItIsWrong(_ test: RouteFilterCase) throws {
        let client = TestService.shared.client()
        let collection = TestService.uniqueCollection()
        _ = try Self.seed(client, collection)
        let response = try client.call("POST", "/sessions/\(collection):find", json: #"{"where": \#(test.filter)}"#)
        RouteCheck.expectError(response, status: 400, code: "invalid_filter")
        let message = (response.object["error"] as? [String: Any])?["message"] as? String ?? ""
        for part in test.mentions {
            #expect(message.contains(part), "'\(message)' does not name \(part)")
        }
        let viaQuery = try client.call("GET", "/sessions/\(collection)?where=\(RouteCheck.encode(test.filter))")
        RouteCheck.expectError(viaQuery, status: 400, code: "invalid_filter")
    }

    /// `levels` nested `$and`s around `{"n": 2}`.
    private static func nested(_ levels: Int) -> String {
        var filter = #"{"n": 2}"#
        for _ in 0..<levels { filter = #"{"$and": [\#(filter)]}"# }
        return filter
    }

    @Test func filterAtTheDepthLimitIsAccepted() throws {
        let client = TestService.shared.client()
        let collection = TestService.uniqueCollection()
        _ = try Self.seed(client, collection)
        // SPEC section 5: up to 32 levels of $and/$or are a valid filter, in a body as in a URL.
        let filter = Self.nested(32)
        let viaBody = try client.call("POST", "/sessions/\(collection):find", json: #"{"where": \#(filter)}"#)
        #expect(viaBody.status == 200, "32 levels in a :find body: \(viaBody.text)")
        let viaQuery = try client.call("GET", "/sessions/\(collection)?where=\(RouteCheck.encode(filter))")
        #expect(viaQuery.status == 200, "32 levels in ?where=: \(viaQuery.text)")
        #expect(Self.ids(try RouteCheck.findShape(viaQuery).items) == ["d2"])
        let viaFindOne = try client.call("POST", "/sessions/\(collection):findOne", json: #"{"where": \#(filter)}"#)
        #expect(viaFindOne.status == 200, "32 levels in a :findOne body: \(viaFindOne.text)")
        let viaUpdate = try client.call(
            "POST", "/sessions/\(collection):updateOne", json: #"{"where": \#(filter), "params": {"seen": true}}"#)
        #expect(viaUpdate.status == 200, "32 levels in an :updateOne body: \(viaUpdate.text)")
    }

    @Test func filterDeeperThanAllowedIsRejected() throws {
        let client = TestService.shared.client()
        let collection = TestService.uniqueCollection()
        for levels in [33, 40] {
            let filter = Self.nested(levels)
            let viaBody = try client.call("POST", "/sessions/\(collection):find", json: #"{"where": \#(filter)}"#)
            RouteCheck.expectError(viaBody, status: 400, code: "invalid_filter")
            let viaQuery = try client.call("GET", "/sessions/\(collection)?where=\(RouteCheck.encode(filter))")
            RouteCheck.expectError(viaQuery, status: 400, code: "invalid_filter")
        }
        let allowed = (0..<999).map { #"{"f\#($0)": \#($0)}"# }.joined(separator: ",")
        let atLimit = try client.call(
            "POST", "/sessions/\(collection):find", json: #"{"where": {"$or": [\#(allowed), {"g": 1}]}}"#)
        #expect(atLimit.status == 200, "1,000 conditions are allowed: \(atLimit.text)")
        let over = try client.call(
            "POST", "/sessions/\(collection):find", json: #"{"where": {"$or": [\#(allowed), {"g": 1}, {"h": 1}]}}"#)
        RouteCheck.expectError(over, status: 400, code: "invalid_filter")
        let many = (0..<1200).map { #"{"f\#($0)": \#($0)}"# }.joined(separator: ",")
        let wide = try client.call("POST", "/sessions/\(collection):find", json: #"{"where": {"$or": [\#(many)]}}"#)
        RouteCheck.expectError(wide, status: 400, code: "invalid_filter")
    }

    // MARK: GET find

    @Test func findByQueryString() throws {
        let client = TestService.shared.client()
        let collection = TestService.uniqueCollection()
        let documents = try Self.seed(client, collection)
        let all = try client.call("GET", "/sessions/\(collection)")
        #expect(all.status == 200)
        #expect(RouteCheck.equal(try RouteCheck.findShape(all).items, documents))
        #expect(all.header("Link") == nil, "a Link header without a next page")

        let filter = RouteCheck.encode(#"{"even": true}"#)
        let viaWhere = try client.call("GET", "/sessions/\(collection)?where=\(filter)")
        #expect(Self.ids(try RouteCheck.findShape(viaWhere).items) == ["d2", "d4"])
        let postgrest = try client.call("GET", "/sessions/\(collection)?n=gte.2&even=eq.false")
        #expect(Self.ids(try RouteCheck.findShape(postgrest).items) == ["d3", "d5"])
        let combined = try client.call("GET", "/sessions/\(collection)?where=\(filter)&n=in.(1,2,3)")
        #expect(Self.ids(try RouteCheck.findShape(combined).items) == ["d2"])
        let descending = try client.call("GET", "/sessions/\(collection)?sort=desc&n=lt.3")
        #expect(Self.ids(try RouteCheck.findShape(descending).items) == ["d2", "d1"])
        let counted = try client.call("GET", "/sessions/\(collection)?limit=1&count=exact&n=gt.1")
        let countedPage = try RouteCheck.findShape(counted)
        #expect(countedPage.page["total_count"] as? Int == 4)
        #expect(Self.ids(countedPage.items) == ["d2"])
    }

    @Test func findByQueryStringFollowsLinks() throws {
        let client = TestService.shared.client()
        let collection = TestService.uniqueCollection()
        _ = try Self.seed(client, collection)
        var target: String? = "/sessions/\(collection)?limit=2&n=gte.2"
        var seen: [String] = []
        var requests = 0
        while let current = target, requests < 10 {
            let response = try client.call("GET", current)
            try #require(response.status == 200, "GET \(current): \(response.text)")
            requests += 1
            let page = try RouteCheck.findShape(response)
            seen += Self.ids(page.items)
            guard let link = response.header("Link") else {
                #expect(page.page["has_more"] as? Bool == false)
                break
            }
            #expect(page.page["has_more"] as? Bool == true)
            let match = link.range(of: #"^<([^>]+)>; rel="next"$"#, options: .regularExpression)
            try #require(match != nil, "Link: \(link)")
            target = String(link.dropFirst().prefix { $0 != ">" })
            #expect(target?.contains("cursor=\(page.page["next_cursor"] as? String ?? "-")") == true)
        }
        #expect(seen == ["d2", "d3", "d4", "d5"])
        #expect(requests == 2)
    }

    @Test(arguments: [
        RouteErrorCase("limit=0", "invalid_request"), RouteErrorCase("limit=1001", "invalid_request"),
        RouteErrorCase("limit=x", "invalid_request"), RouteErrorCase("sort=sideways", "invalid_request"),
        RouteErrorCase("cursor=%%%", "invalid_request"), RouteErrorCase("cursor=abc", "invalid_cursor"),
        RouteErrorCase("where=%7Bbroken", "invalid_filter"), RouteErrorCase("n=zz.1", "invalid_filter"),
        RouteErrorCase("n=5", "invalid_filter"), RouteErrorCase("n=in.5", "invalid_filter"),
        RouteErrorCase("count=maybe", "invalid_request"), RouteErrorCase("limit=1&limit=2", "invalid_request"),
        RouteErrorCase("novalue", "invalid_request"),
    ])
    func findByQueryStringRejectsBadParameters(_ test: RouteErrorCase) throws {
        let client = TestService.shared.client()
        let collection = TestService.uniqueCollection()
        _ = try Self.seed(client, collection)
        for path in ["/sessions/\(collection)", "/sessions/\(collection):failedMigrations"] {
            RouteCheck.expectError(try client.call("GET", "\(path)?\(test.body)"), status: 400, code: test.code)
        }
    }

    // MARK: :findOne

    @Test func findOnePicksBySort() throws {
        let client = TestService.shared.client()
        let collection = TestService.uniqueCollection()
        for (id, n) in [("a", 3), ("b", 9), ("c", 5), ("d", 10.5), ("e", -1)] {
            try RouteCheck.insert(client, collection, ["id": id, "n": n, "kind": n == 9 ? "odd" : "x"])
        }
        func findOne(_ body: String) throws -> [String: Any]? {
            let response = try client.call("POST", "/sessions/\(collection):findOne", json: body)
            try #require(response.status == 200, "\(body): \(response.text)")
            #expect(Set(response.object.keys) == ["document"], "\(response.text)")
            return response.object["document"] as? [String: Any]
        }
        #expect(try findOne(#"{"where": {}, "sort": [["n", "desc"]]}"#)?["id"] as? String == "d")
        #expect(try findOne(#"{"where": {"n": {"$lt": 10}}, "sort": [["n", "desc"]]}"#)?["id"] as? String == "b")
        #expect(try findOne(#"{"where": {"n": {"$lt": 9}}, "sort": [["n", "asc"]]}"#)?["id"] as? String == "e")
        #expect(
            try findOne(#"{"where": {"kind": "x"}, "sort": [["kind", "asc"], ["n", "desc"]]}"#)?["id"] as? String == "d"
        )
        #expect(try findOne(#"{"where": {"kind": "odd"}}"#)?["n"] as? Int == 9)
        #expect(try findOne("{}") != nil)

        let none = try client.call("POST", "/sessions/\(collection):findOne", json: #"{"where": {"n": 1000}}"#)
        #expect(none.status == 200)
        #expect(none.object["document"] is NSNull, "\(none.text)")
        #expect(Set(none.object.keys) == ["document"])
        let missing = try client.call(
            "POST", "/sessions/\(TestService.uniqueCollection()):findOne", json: #"{"where": {}}"#)
        #expect(missing.status == 200)
        #expect(missing.object["document"] is NSNull, "\(missing.text)")
    }

    @Test func findOneTakesAtMost32SortKeys() throws {
        let client = TestService.shared.client()
        let collection = TestService.uniqueCollection()
        try RouteCheck.insert(client, collection, ["id": "a", "n": 1])
        func body(_ count: Int) -> String {
            let keys = (0..<count).map { #"["f\#($0)", "asc"]"# }.joined(separator: ",")
            return #"{"where": {}, "sort": [\#(keys)]}"#
        }
        let most = try client.call("POST", "/sessions/\(collection):findOne", json: body(32))
        #expect(most.status == 200, "\(most.text)")
        #expect((most.object["document"] as? [String: Any])?["id"] as? String == "a")
        for count in [33, 333, 5000] {
            let tooMany = try client.call("POST", "/sessions/\(collection):findOne", json: body(count))
            RouteCheck.expectError(tooMany, status: 400, code: "invalid_request")
            #expect(tooMany.text.contains("at most 32 keys"), "\(tooMany.text)")
        }
    }

    @Test(arguments: [
        RouteErrorCase(#"{"sort": [["n", "up"]]}"#, "invalid_request"),
        RouteErrorCase(#"{"sort": "desc"}"#, "invalid_request"),
        RouteErrorCase(#"{"sort": [["n"]]}"#, "invalid_request"), RouteErrorCase(#"{"limit": 1}"#, "invalid_request"),
        RouteErrorCase(#"{"where": {"n": {"$x": 1}}}"#, "invalid_filter"), RouteErrorCase("[]", "invalid_request"),
    ])
    func findOneRejectsBadParameters(_ test: RouteErrorCase) throws {
        let client = TestService.shared.client()
        let collection = TestService.uniqueCollection()
        try RouteCheck.insert(client, collection, ["n": 1])
        let response = try client.call("POST", "/sessions/\(collection):findOne", json: test.body)
        RouteCheck.expectError(response, status: 400, code: test.code)
    }

    // MARK: :updateOne

    @Test func updateOneMergesIntoTheFirstMatch() throws {
        let client = TestService.shared.client()
        let collection = TestService.uniqueCollection()
        try RouteCheck.insert(client, collection, ["id": "u1", "creation_utc": "2024-01-01T00:00:00+00:00", "k": "a"])
        try RouteCheck.insert(
            client, collection, ["id": "u2", "creation_utc": "2024-01-02T00:00:00+00:00", "k": "b", "n": 2])
        try RouteCheck.insert(
            client, collection, ["id": "u3", "creation_utc": "2024-01-03T00:00:00+00:00", "k": "b", "n": 3])

        let response = try client.call(
            "POST", "/sessions/\(collection):updateOne",
            json: #"{"where": {"k": "b"}, "params": {"n": 20, "extra": true}}"#)
        #expect(response.status == 200, "\(response.text)")
        let outcome = response.object
        #expect(Set(outcome.keys) == ["matched_count", "modified_count", "updated_document"], "\(response.text)")
        #expect(outcome["matched_count"] as? Int == 1)
        #expect(outcome["modified_count"] as? Int == 1)
        let updated = try #require(outcome["updated_document"] as? [String: Any])
        let expected: [String: Any] = [
            "id": "u2", "creation_utc": "2024-01-02T00:00:00+00:00", "k": "b", "n": 20, "extra": true,
        ]
        #expect(RouteCheck.equal(updated, expected), "\(response.text)")
        #expect(RouteCheck.equal(try client.call("GET", "/sessions/\(collection)/u2").object, expected))
        #expect(try client.call("GET", "/sessions/\(collection)/u3").object["n"] as? Int == 3, "a second match changed")

        let noMatch = try client.call(
            "POST", "/sessions/\(collection):updateOne", json: #"{"where": {"k": "zzz"}, "params": {"n": 1}}"#)
        #expect(noMatch.status == 200)
        #expect(noMatch.object["matched_count"] as? Int == 0)
        #expect(noMatch.object["modified_count"] as? Int == 0)
        #expect(noMatch.object["updated_document"] is NSNull, "\(noMatch.text)")
        let explicitFalse = try client.call(
            "POST", "/sessions/\(collection):updateOne",
            json: #"{"where": {"k": "zzz"}, "params": {"n": 1}, "upsert": false}"#)
        #expect(explicitFalse.object["updated_document"] is NSNull)
        #expect(try RouteCheck.rowCount(collection) == 3)
    }

    @Test func updateOneUpsertInsertsWhenNothingMatches() throws {
        let client = TestService.shared.client()
        let collection = TestService.uniqueCollection()
        try RouteCheck.insert(client, collection, ["id": "existing", "k": "a"])
        let response = try client.call(
            "POST", "/sessions/\(collection):updateOne",
            json: #"{"where": {"k": "c"}, "params": {"n": 3, "tags": ["x"]}, "upsert": true}"#)
        #expect(response.status == 200, "\(response.text)")
        #expect(response.object["matched_count"] as? Int == 0)
        let inserted = try #require(response.object["updated_document"] as? [String: Any], "\(response.text)")
        #expect(inserted["k"] as? String == "c")
        #expect(inserted["n"] as? Int == 3)
        #expect(RouteCheck.equal(inserted["tags"], ["x"]))
        let id = try #require(inserted["id"] as? String)
        #expect(inserted["creation_utc"] is String)
        #expect(
            RouteCheck.equal(
                try client.call("GET", "/sessions/\(collection)/\(RouteCheck.encode(id))").object, inserted))
        #expect(try RouteCheck.rowCount(collection) == 2)

        // With a match, upsert updates instead of inserting.
        let again = try client.call(
            "POST", "/sessions/\(collection):updateOne",
            json: #"{"where": {"k": "c"}, "params": {"n": 4}, "upsert": true}"#)
        #expect(again.object["matched_count"] as? Int == 1)
        #expect((again.object["updated_document"] as? [String: Any])?["id"] as? String == id)
        #expect(try RouteCheck.rowCount(collection) == 2)

        let upsertOnNew = TestService.uniqueCollection()
        let created = try client.call(
            "POST", "/sessions/\(upsertOnNew):updateOne",
            json: #"{"where": {"id": "fresh"}, "params": {}, "upsert": true}"#)
        #expect(created.status == 200, "\(created.text)")
        #expect((created.object["updated_document"] as? [String: Any])?["id"] as? String == "fresh")
        #expect(try RouteCheck.rowCount(upsertOnNew) == 1)
    }

    @Test(arguments: [
        RouteErrorCase(#"{"where": {"k": "a"}}"#, "invalid_request"),
        RouteErrorCase(#"{"params": {"n": 1}}"#, "invalid_request"),
        RouteErrorCase(#"{"where": {"k": "a"}, "params": {"n": 1}, "upsert": "yes"}"#, "invalid_request"),
        RouteErrorCase(#"{"where": {"k": "a"}, "params": {"n": 1}, "upsert": 1}"#, "invalid_request"),
        RouteErrorCase(#"{"where": {"k": "a"}, "params": [1]}"#, "invalid_document"),
        RouteErrorCase(#"{"where": {"k": "a"}, "params": 5}"#, "invalid_document"),
        RouteErrorCase(#"{"where": {"k": "a"}, "params": {"id": 5}}"#, "invalid_document"),
        RouteErrorCase(#"{"where": {"k": {"$bad": 1}}, "params": {}}"#, "invalid_filter"),
        RouteErrorCase(#"{"where": {"k": "a"}, "params": {}, "extra": 1}"#, "invalid_request"),
        RouteErrorCase("{}", "invalid_request"),
        RouteErrorCase("[]", "invalid_request"),
    ])
    func updateOneRejectsBadParameters(_ test: RouteErrorCase) throws {
        let client = TestService.shared.client()
        let collection = TestService.uniqueCollection()
        let original = try RouteCheck.insert(client, collection, ["id": "a1", "k": "a", "n": 0])
        let response = try client.call("POST", "/sessions/\(collection):updateOne", json: test.body)
        #expect(response.status == 400, "\(test.body): \(response.text)")
        RouteCheck.expectErrorShape(response)
        if test.code != "invalid_document" {
            #expect(response.errorCode == test.code, "\(test.body): \(response.text)")
        }
        #expect(RouteCheck.equal(try client.call("GET", "/sessions/\(collection)/a1").object, original))
        #expect(try RouteCheck.rowCount(collection) == 1)
    }

    // MARK: :deleteOne

    @Test func deleteOneDeletesTheFirstMatch() throws {
        let client = TestService.shared.client()
        let collection = TestService.uniqueCollection()
        let documents = try Self.seed(client, collection)
        let response = try client.call("POST", "/sessions/\(collection):deleteOne", json: #"{"where": {"even": true}}"#)
        #expect(response.status == 200, "\(response.text)")
        #expect(Set(response.object.keys) == ["deleted_count", "deleted_document"])
        #expect(response.object["deleted_count"] as? Int == 1)
        #expect(RouteCheck.equal(response.object["deleted_document"], documents[1]), "\(response.text)")
        RouteCheck.expectError(
            try client.call("GET", "/sessions/\(collection)/d2"), status: 404, code: "document_not_found")
        #expect(try RouteCheck.rowCount(collection) == 4)

        let none = try client.call("POST", "/sessions/\(collection):deleteOne", json: #"{"where": {"n": 99}}"#)
        #expect(none.status == 200)
        #expect(none.object["deleted_count"] as? Int == 0)
        #expect(none.object["deleted_document"] is NSNull, "\(none.text)")
        #expect(try RouteCheck.rowCount(collection) == 4)

        let onMissing = try client.call(
            "POST", "/sessions/\(TestService.uniqueCollection()):deleteOne", json: #"{"where": {}}"#)
        #expect(onMissing.status == 200, "\(onMissing.text)")
        #expect(onMissing.object["deleted_count"] as? Int == 0)
    }

    @Test(arguments: [
        RouteErrorCase("{}", "invalid_request"), RouteErrorCase(#"{"filter": {}}"#, "invalid_request"),
        RouteErrorCase(#"{"where": {}, "limit": 1}"#, "invalid_request"),
        RouteErrorCase(#"{"where": 1}"#, "invalid_filter"),
        RouteErrorCase(#"{"where": {"n": {"$in": 1}}}"#, "invalid_filter"), RouteErrorCase("[]", "invalid_request"),
    ])
    func deleteOneRejectsBadParameters(_ test: RouteErrorCase) throws {
        let client = TestService.shared.client()
        let collection = TestService.uniqueCollection()
        _ = try Self.seed(client, collection)
        let response = try client.call("POST", "/sessions/\(collection):deleteOne", json: test.body)
        RouteCheck.expectError(response, status: 400, code: test.code)
        #expect(try RouteCheck.rowCount(collection) == 5)
        let noBody = try client.call("POST", "/sessions/\(collection):deleteOne")
        #expect(noBody.status == 400, "deleteOne without a body: \(noBody.text)")
        #expect(try RouteCheck.rowCount(collection) == 5)
    }

    // MARK: :ensureIndexes

    @Test func updateOneRenamesWithAnIDInParamsAsParlantDoes() throws {
        let client = TestService.shared.client()
        let collection = TestService.uniqueCollection()
        try RouteCheck.insert(client, collection, ["id": "old", "k": "a"])
        try RouteCheck.insert(client, collection, ["id": "taken", "k": "b"])
        // Parlant replaces a context variable's value by upserting a document with a new id.
        let renamed = try client.call(
            "POST", "/sessions/\(collection):updateOne",
            json: #"{"where": {"k": "a"}, "params": {"id": "new", "n": 1}, "upsert": true}"#)
        #expect(renamed.status == 200, "\(renamed.text)")
        #expect(renamed.object["matched_count"] as? Int == 1)
        #expect(try client.call("GET", "/sessions/\(collection)/old").status == 404)
        let moved = try client.call("GET", "/sessions/\(collection)/new")
        #expect(moved.object["k"] as? String == "a" && moved.object["n"] as? Int == 1, "\(moved.text)")
        // The id column follows `data`, so the renamed document is found by id in SQL too.
        let rows = try TestPostgres.sql(
            "SELECT id, data ->> 'id' FROM \(unsafeSQL: TestService.shared.schema).\(unsafeSQL: "parlant_sessions_" + collection) ORDER BY id"
        )
        #expect(rows == [["new", "new"], ["taken", "taken"]])
        let clash = try client.call(
            "POST", "/sessions/\(collection):updateOne", json: #"{"where": {"k": "a"}, "params": {"id": "taken"}}"#)
        RouteCheck.expectError(clash, status: 409, code: "duplicate_id")
        #expect(try client.call("GET", "/sessions/\(collection)/new").object["k"] as? String == "a")
        #expect(try RouteCheck.rowCount(collection) == 2)
    }

    @Test func ensureIndexesTakesFieldNamesWithCapitals() throws {
        let client = TestService.shared.client()
        let collection = TestService.uniqueCollection()
        for fields in [#"[["Tier", "asc"]]"#, #"[["tier", "asc"]]"#, #"[["Extra.Level", "desc"], ["A", "asc"]]"#] {
            let response = try client.call(
                "POST", "/sessions/\(collection):ensureIndexes",
                json: #"{"indexes": [{"fields": \#(fields), "unique": true}]}"#)
            #expect(response.status == 200, "\(fields): \(response.text)")
        }
        #expect(try client.call("GET", "/healthz", key: nil).status == 200, "the service must still be up")
        // "Tier" and "tier" are different fields, so a document may hold the same value in each.
        try RouteCheck.insert(client, collection, ["Tier": "gold", "tier": "gold"])
        let duplicate = try client.call("POST", "/sessions/\(collection)", json: #"{"Tier": "gold"}"#)
        RouteCheck.expectError(duplicate, status: 409, code: "unique_violation")
    }

    @Test func ensureIndexesIsIdempotent() throws {
        let client = TestService.shared.client()
        let collection = TestService.uniqueCollection()
        let body =
            #"{"indexes": [{"fields": [["k", "asc"]], "unique": false}, {"fields": [["a.b", "desc"], ["n", "asc"]]}]}"#
        for _ in 0..<2 {
            let response = try client.call("POST", "/sessions/\(collection):ensureIndexes", json: body)
            #expect(response.status == 200, "\(response.text)")
            #expect(response.header("Content-Type")?.hasPrefix("application/json") == true)
        }
        let indexes = try TestPostgres.sql(
            """
            SELECT count(*) FROM pg_indexes WHERE schemaname = \(bind: TestService.shared.schema) \
            AND tablename = \(bind: "parlant_sessions_\(collection)") AND indexdef LIKE '%data ->%'
            """
        )
        #expect(indexes.first?.first == "2", "expected the two expression indexes once each")
        let empty = try client.call("POST", "/sessions/\(collection):ensureIndexes", json: #"{"indexes": []}"#)
        #expect(empty.status == 200, "\(empty.text)")
        // The indexes change nothing about the documents.
        try RouteCheck.insert(client, collection, ["k": "same"])
        try RouteCheck.insert(client, collection, ["k": "same"])
        #expect(try RouteCheck.rowCount(collection) == 2)
    }

    @Test(arguments: [
        "{}", #"{"indexes": "x"}"#, #"{"indexes": [5]}"#, #"{"indexes": [{"fields": []}]}"#,
        #"{"indexes": [{"fields": [["k", "up"]]}]}"#, #"{"indexes": [{"fields": [["k"]]}]}"#,
        #"{"indexes": [{"fields": [[1, "asc"]]}]}"#, #"{"indexes": [{"fields": [["k", "asc"]], "unique": "yes"}]}"#,
        #"{"indexes": [{"fields": [["k", "asc"]], "sparse": true}]}"#, #"{"indexes": [], "extra": 1}"#,
        #"{"indexes": [{"fields": [["bad field'); DROP TABLE x; --", "asc"]]}]}"#, "[]",
    ])
    func ensureIndexesRejectsMalformed(_ body: String) throws {
        let client = TestService.shared.client()
        let collection = TestService.uniqueCollection()
        let response = try client.call("POST", "/sessions/\(collection):ensureIndexes", json: body)
        #expect(response.status == 400, "\(body): \(response.text)")
        RouteCheck.expectErrorShape(response)
    }

    @Test func uniqueIndexRefusesDuplicates() throws {
        let client = TestService.shared.client()
        let collection = TestService.uniqueCollection()
        let response = try client.call(
            "POST", "/sessions/\(collection):ensureIndexes",
            json: #"{"indexes": [{"fields": [["email", "asc"]], "unique": true}]}"#)
        #expect(response.status == 200, "\(response.text)")
        try RouteCheck.insert(client, collection, ["id": "first", "email": "a@example.com"])
        let duplicate = try client.call(
            "POST", "/sessions/\(collection)", json: #"{"id": "second", "email": "a@example.com"}"#)
        RouteCheck.expectError(duplicate, status: 409, code: "unique_violation")
        let viaPut = try client.call("PUT", "/sessions/\(collection)/third", json: #"{"email": "a@example.com"}"#)
        RouteCheck.expectError(viaPut, status: 409, code: "unique_violation")
        try RouteCheck.insert(client, collection, ["id": "other", "email": "b@example.com"])
        let viaPatch = try client.call("PATCH", "/sessions/\(collection)/other", json: #"{"email": "a@example.com"}"#)
        RouteCheck.expectError(viaPatch, status: 409, code: "unique_violation")
        let inArray = try client.call(
            "POST", "/sessions/\(collection)",
            json: #"[{"id": "x1", "email": "c@example.com"}, {"id": "x2", "email": "c@example.com"}]"#)
        RouteCheck.expectError(inArray, status: 409, code: "unique_violation")
        #expect(try RouteCheck.rowCount(collection) == 2)
        #expect(try client.call("GET", "/sessions/\(collection)/other").object["email"] as? String == "b@example.com")
    }

    // MARK: :quarantine and :failedMigrations

    @Test func quarantineMovesDocumentsToFailedMigrations() throws {
        let client = TestService.shared.client()
        let collection = TestService.uniqueCollection()
        let documents = try Self.seed(client, collection)
        let response = try client.call(
            "POST", "/sessions/\(collection):quarantine",
            json: #"{"ids": ["d1", "d3", "missing"], "reason": "bad shape"}"#)
        #expect(response.status == 200, "\(response.text)")
        #expect(Set(response.object.keys) == ["moved"], "\(response.text)")
        #expect(response.object["moved"] as? Int == 2)

        let remaining = try RouteCheck.find(client, collection)
        #expect(Self.ids(remaining.items) == ["d2", "d4", "d5"])
        RouteCheck.expectError(
            try client.call("GET", "/sessions/\(collection)/d1"), status: 404, code: "document_not_found")

        let failed = try client.call("GET", "/sessions/\(collection):failedMigrations")
        #expect(failed.status == 200, "\(failed.text)")
        let page = try RouteCheck.findShape(failed)
        #expect(RouteCheck.equal(page.items, [documents[0], documents[2]]), "\(failed.text)")
        #expect(page.page["total_count"] as? Int == 2)
        #expect(page.page["has_more"] as? Bool == false)
        let filtered = try client.call("GET", "/sessions/\(collection):failedMigrations?n=eq.3")
        #expect(Self.ids(try RouteCheck.findShape(filtered).items) == ["d3"])
        let limited = try client.call("GET", "/sessions/\(collection):failedMigrations?limit=1")
        let first = try RouteCheck.findShape(limited)
        #expect(Self.ids(first.items) == ["d1"])
        #expect(first.page["has_more"] as? Bool == true)
        let link = try #require(limited.header("Link"), "no Link to the next failed page")
        let next = try client.call("GET", String(link.dropFirst().prefix { $0 != ">" }))
        #expect(Self.ids(try RouteCheck.findShape(next).items) == ["d3"])

        let reasons = try TestPostgres.sql(
            "SELECT id, reason FROM \(unsafeSQL: "\"\(TestService.shared.schema)\".\"parlant_sessions_\(collection)_failed_migrations\"") ORDER BY id"
        )
        #expect(reasons.map { $0[0] ?? "" } == ["d1", "d3"])
        #expect(reasons.allSatisfy { $0[1] == "bad shape" })
        #expect(try RouteCheck.rowCount(collection) == 3)

        let none = try client.call("POST", "/sessions/\(collection):quarantine", json: #"{"ids": [], "reason": "r"}"#)
        #expect(none.status == 200)
        #expect(none.object["moved"] as? Int == 0)
        let emptyFailed = try client.call("GET", "/sessions/\(TestService.uniqueCollection()):failedMigrations")
        #expect(emptyFailed.status == 200)
        #expect(try RouteCheck.findShape(emptyFailed).items.isEmpty)
    }

    @Test(arguments: [
        #"{"ids": ["d1"]}"#, #"{"reason": "r"}"#, #"{"ids": "d1", "reason": "r"}"#,
        #"{"ids": ["d1", 2], "reason": "r"}"#,
        #"{"ids": ["d1"], "reason": 5}"#, #"{"ids": ["d1", ""], "reason": "r"}"#,
        #"{"ids": ["d1"], "reason": "r", "extra": 1}"#, "[]", "{}",
    ])
    func quarantineRejectsBadParameters(_ body: String) throws {
        let client = TestService.shared.client()
        let collection = TestService.uniqueCollection()
        _ = try Self.seed(client, collection)
        let response = try client.call("POST", "/sessions/\(collection):quarantine", json: body)
        #expect(response.status == 400, "\(body): \(response.text)")
        RouteCheck.expectErrorShape(response)
        #expect(try RouteCheck.rowCount(collection) == 5)
        #expect(try RouteCheck.rowCount(collection, failedMigrations: true) == 0)
    }

    // MARK: Collections

    @Test func createAndDropCollection() throws {
        let client = TestService.shared.client()
        let collection = TestService.uniqueCollection()
        let created = try client.call("PUT", "/sessions/\(collection)")
        #expect(created.status == 201, "\(created.text)")
        #expect(try RouteCheck.tableExists(collection))
        // `<collection>_failed_migrations` derives the failed-migrations table's name, which must exist too.
        #expect(try RouteCheck.tableExists("\(collection)_failed_migrations"), "no failed-migrations table")
        let existed = try client.call("PUT", "/sessions/\(collection)")
        #expect(existed.status == 200, "\(existed.text)")

        try RouteCheck.insert(client, collection, ["id": "gone"])
        #expect(
            try client.call("POST", "/sessions/\(collection):quarantine", json: #"{"ids": ["gone"], "reason": "r"}"#)
                .status == 200)
        try RouteCheck.insert(client, collection, ["id": "also_gone"])
        let dropped = try client.call("DELETE", "/sessions/\(collection)")
        #expect(dropped.status == 204, "\(dropped.text)")
        #expect(dropped.body.isEmpty)
        #expect(try !RouteCheck.tableExists(collection))
        let failedTable = try TestPostgres.sql(
            "SELECT to_regclass(\(bind: "\"\(TestService.shared.schema)\".\"parlant_sessions_\(collection)_failed_migrations\"")) IS NULL"
        )
        #expect(failedTable.first?.first == "t", "the failed-migrations table survived the drop")

        let afterDrop = try client.call("GET", "/sessions/\(collection)")
        #expect(afterDrop.status == 200, "\(afterDrop.text)")
        #expect(try RouteCheck.findShape(afterDrop).items.isEmpty)
        RouteCheck.expectError(
            try client.call("GET", "/sessions/\(collection)/also_gone"), status: 404, code: "document_not_found")
        #expect(try client.call("DELETE", "/sessions/\(collection)").status == 204, "dropping twice")
        #expect(try client.call("PUT", "/sessions/\(collection)").status == 201, "created again after the drop")
    }

    @Test func readsOfAMissingCollectionAreEmptyAndCreateNothing() throws {
        let client = TestService.shared.client()
        let collection = TestService.uniqueCollection()
        let get = try client.call("GET", "/sessions/\(collection)")
        #expect(get.status == 200, "\(get.text)")
        #expect(try RouteCheck.findShape(get).items.isEmpty)
        let limited = try client.call("GET", "/sessions/\(collection)?limit=5&count=exact")
        #expect(limited.status == 200, "\(limited.text)")
        #expect(try RouteCheck.findShape(limited).page["total_count"] as? Int == 0)
        #expect(try RouteCheck.find(client, collection, #"{"where": {"a": 1}}"#).items.isEmpty)
        let failed = try client.call("GET", "/sessions/\(collection):failedMigrations")
        #expect(failed.status == 200)
        let one = try client.call("POST", "/sessions/\(collection):findOne", json: "{}")
        #expect(one.status == 200 && one.object["document"] is NSNull)
        let update = try client.call(
            "POST", "/sessions/\(collection):updateOne", json: #"{"where": {}, "params": {"a": 1}}"#)
        #expect(update.status == 200 && update.object["matched_count"] as? Int == 0, "\(update.text)")
        RouteCheck.expectError(
            try client.call("DELETE", "/sessions/\(collection)/x"), status: 404, code: "document_not_found")
        RouteCheck.expectError(
            try client.call("PATCH", "/sessions/\(collection)/x", json: "{}"), status: 404, code: "document_not_found")
        #expect(try !RouteCheck.tableExists(collection), "a read created the table")
    }

    // MARK: /{store}

    @Test(arguments: Store.allCases.map(\.rawValue))
    func storeRouteFindsInThePrimaryCollection(_ store: String) throws {
        let client = TestService.shared.client()
        let marker = UUID().uuidString
        let primary = try #require(Store(rawValue: store)).primaryCollection.rawValue
        let inPrimary = try RouteCheck.insert(client, primary, ["marker": marker, "place": "primary"], store: store)
        try RouteCheck.insert(client, "metadata", ["marker": marker, "place": "metadata"], store: store)

        let response = try client.call("GET", "/\(store)?marker=eq.\(marker)")
        #expect(response.status == 200, "\(response.text)")
        let items = try RouteCheck.findShape(response).items
        #expect(RouteCheck.equal(items, [inPrimary]), "\(response.text)")
        let viaWhere = try client.call(
            "GET", "/\(store)?where=\(RouteCheck.encode(RouteCheck.json(["marker": marker])))")
        #expect(RouteCheck.equal(try RouteCheck.findShape(viaWhere).items, [inPrimary]))

        // The document is in the primary collection's table, as SPEC section 3 names it.
        let table = RouteCheck.tableName(store: try #require(Store(rawValue: store)), collection: primary)
        let rows = try TestPostgres.sql(
            """
            SELECT count(*) FROM \(unsafeSQL: "\"\(TestService.shared.schema)\".\"\(table)\"") \
            WHERE data ->> 'marker' = \(bind: marker)
            """
        )
        #expect(rows.first?.first == "1", "not in \(table)")
        let id = try #require(inPrimary["id"] as? String)
        let viaCollection = try client.call("GET", "/\(store)/\(primary)/\(RouteCheck.encode(id))")
        #expect(RouteCheck.equal(viaCollection.object, inPrimary))
    }
}

/// A request body and the error code it must get.
struct RouteErrorCase: Sendable, CustomTestStringConvertible {
    let body: String
    let code: String

    init(_ body: String, _ code: String) {
        self.body = body
        self.code = code
    }

    var testDescription: String { "\(body) -> \(code)" }
}

/// A malformed filter and what its error message must name.
struct RouteFilterCase: Sendable, CustomTestStringConvertible {
    let filter: String
    let mentions: [String]

    init(_ filter: String, _ mentions: [String]) {
        self.filter = filter
        self.mentions = mentions
    }

    var testDescription: String { filter }
}
