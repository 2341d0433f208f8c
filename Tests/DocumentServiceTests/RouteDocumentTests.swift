import Foundation
import TestSupport
import Testing

@testable import DocumentStore

/// Single-document routes: insert, get, merge, replace, delete, and the body rules (SPEC sections 4, 7).
@Suite struct RouteDocumentTests {
    // MARK: Insert

    @Test func insertGeneratesIDAndCreationAndKeepsTheBody() throws {
        let client = TestService.shared.client()
        let collection = TestService.uniqueCollection()
        let sent: [String: Any] = [
            "name": "Ünïcode ✓ 日本", "n": 42, "ratio": 1.5, "flag": true, "none": NSNull(),
            "nested": ["list": [1, "two", ["three": 3]], "empty": [String: Any]()], "session_id": "s1",
        ]
        let response = try client.call("POST", "/sessions/\(collection)", json: RouteCheck.json(sent))
        #expect(response.status == 201, "\(response.text)")
        #expect(response.header("Content-Type")?.hasPrefix("application/json") == true)
        let stored = response.object
        let id = try #require(stored["id"] as? String, "no generated id: \(response.text)")
        #expect(!id.isEmpty)
        let creation = try #require(stored["creation_utc"] as? String, "no creation_utc: \(response.text)")
        #expect(
            creation.range(
                of: #"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?\+00:00$"#, options: .regularExpression) != nil,
            "creation_utc '\(creation)' is not Python's isoformat() of a UTC time")
        var expected = sent
        expected["id"] = id
        expected["creation_utc"] = creation
        #expect(RouteCheck.equal(stored, expected), "stored \(response.text)")

        let location = try #require(response.header("Location"), "201 without Location")
        #expect(location == "/sessions/\(collection)/\(RouteCheck.encode(id))", "Location: \(location)")
        let read = try client.call("GET", location)
        #expect(read.status == 200)
        #expect(RouteCheck.equal(read.object, expected), "read back \(read.text)")
        #expect(try RouteCheck.rowCount(collection) == 1)
    }

    /// What PostgreSQL's jsonb does to the spelling of a document, as the README and the OpenAPI
    /// description state it: values kept, exponents written out, -0.0 as 0.0, keys reordered.
    @Test func jsonbKeepsValuesButNotSpelling() throws {
        let client = TestService.shared.client()
        let collection = TestService.uniqueCollection()
        let sent = #"{"id": "n1", "big": 1e+20, "f": 1.5e3, "tiny": 1e-7, "kept": 1500.0, "scale": 0.1000, "#
            + #""neg": -0.0, "exact": 0.1000000000000000055511151231257827, "b": 1, "a": 2, "a": 3}"#
        #expect(try client.call("POST", "/sessions/\(collection)", json: sent).status == 201)
        let read = try client.call("GET", "/sessions/\(collection)/n1")
        #expect(read.status == 200)
        for literal in [
            #""big": 100000000000000000000"#, #""f": 1500"#, #""tiny": 0.0000001"#, #""kept": 1500.0"#,
            #""scale": 0.1000"#, #""neg": 0.0"#, #""exact": 0.1000000000000000055511151231257827"#, #""a": 3"#,
        ] {
            #expect(read.text.contains(literal + ",") || read.text.contains(literal + "}"), "\(literal) in \(read.text)")
        }
        #expect(!read.text.contains(#""a": 2"#), "the last of a repeated key wins")
        let keys = read.text.matches(of: #/"([a-z_]+)": /#).map { String($0.output.1) }
        let jsonbOrder = keys.sorted { a, b in
            a.utf8.count != b.utf8.count ? a.utf8.count < b.utf8.count : a.utf8.lexicographicallyPrecedes(b.utf8)
        }
        #expect(keys == jsonbOrder, "shorter keys first, then byte order: \(keys)")
    }

    @Test func insertKeepsGivenIDAndCreation() throws {
        let client = TestService.shared.client()
        let collection = TestService.uniqueCollection()
        let sent: [String: Any] = ["id": "given", "creation_utc": "2024-05-01T12:00:00.000001+00:00", "v": "x"]
        let response = try client.call("POST", "/sessions/\(collection)", json: RouteCheck.json(sent))
        #expect(response.status == 201)
        #expect(RouteCheck.equal(response.object, sent), "\(response.text)")
        #expect(response.header("Location") == "/sessions/\(collection)/given")
    }

    @Test func insertDuplicateIDConflicts() throws {
        let client = TestService.shared.client()
        let collection = TestService.uniqueCollection()
        let first = try RouteCheck.insert(client, collection, ["id": "dup", "v": 1])
        let again = try client.call("POST", "/sessions/\(collection)", json: #"{"id": "dup", "v": 2}"#)
        RouteCheck.expectError(again, status: 409, code: "duplicate_id")
        let read = try client.call("GET", "/sessions/\(collection)/dup")
        #expect(RouteCheck.equal(read.object, first), "the conflicting insert changed the document: \(read.text)")
        #expect(try RouteCheck.rowCount(collection) == 1)
    }

    @Test(arguments: ["version", "creation_utc", "session_id", "customer_id", "agent_id"])
    func indexedFieldsAreBoundedWithAClearError(_ field: String) throws {
        let client = TestService.shared.client()
        let collection = TestService.uniqueCollection()
        // creation_utc stays a valid timestamp: its fraction of a second carries the length.
        func value(_ bytes: Int) -> String {
            field == "creation_utc"
                ? "2025-01-01T00:00:00." + String(repeating: "1", count: bytes - 26) + "+00:00"
                : String(repeating: "x", count: bytes)
        }
        let fits = try client.call("POST", "/sessions/\(collection)", json: #"{"id": "fits", "\#(field)": "\#(value(1024))"}"#)
        #expect(fits.status == 201, "\(fits.text)")
        for bytes in [1025, 500_000] {
            let tooLong = try client.call(
                "POST", "/sessions/\(collection)", json: #"{"id": "long", "\#(field)": "\#(value(bytes))"}"#)
            RouteCheck.expectError(tooLong, status: 400, code: "invalid_document")
            #expect(tooLong.text.contains(field) && tooLong.text.contains("1024"), "\(tooLong.text)")
        }
        let merged = try client.call("PATCH", "/sessions/\(collection)/fits", json: #"{"\#(field)": "\#(value(5000))"}"#)
        RouteCheck.expectError(merged, status: 400, code: "invalid_document")
        let upserted = try client.call(
            "POST", "/sessions/\(collection):updateOne",
            json: #"{"where": {"id": "new"}, "params": {"\#(field)": "\#(value(5000))"}, "upsert": true}"#)
        RouteCheck.expectError(upserted, status: 400, code: "invalid_document")
        #expect(try RouteCheck.rowCount(collection) == 1)
    }

    @Test func insertArrayStoresAllInOrder() throws {
        let client = TestService.shared.client()
        let collection = TestService.uniqueCollection()
        let sent: [[String: Any]] = [
            ["k": "z", "i": 0], ["id": "middle", "k": "a", "i": 1], ["k": "m", "i": 2], ["id": "aaa", "i": 3],
        ]
        let response = try client.call("POST", "/sessions/\(collection)", json: RouteCheck.json(sent))
        #expect(response.status == 201, "\(response.text)")
        let stored = try #require(response.json as? [[String: Any]], "not an array: \(response.text)")
        try #require(stored.count == sent.count)
        for (index, document) in stored.enumerated() {
            var expected = sent[index]
            expected["id"] = expected["id"] ?? document["id"]
            expected["creation_utc"] = document["creation_utc"]
            #expect(document["id"] is String && document["creation_utc"] is String)
            #expect(RouteCheck.equal(document, expected), "item \(index): \(document)")
            let read = try client.call(
                "GET", "/sessions/\(collection)/\(RouteCheck.encode(document["id"] as? String ?? ""))")
            #expect(RouteCheck.equal(read.object, document))
        }
        #expect(try RouteCheck.rowCount(collection) == sent.count)

        let empty = try client.call("POST", "/sessions/\(collection)", json: "[]")
        #expect(empty.status == 201)
        #expect((empty.json as? [Any])?.isEmpty == true, "\(empty.text)")
    }

    @Test(arguments: [
        #"[{"a": 1}, 5]"#, #"[{"a": 1}, "text"]"#, #"[{"a": 1}, null]"#, #"[{"a": 1}, [{"b": 2}]]"#,
        #"[{"a": 1}, {"id": 7}]"#, #"[{"a": 1}, {"id": ""}]"#, #"[{"a": 1}, {"creation_utc": "yesterday"}]"#,
    ])
    func insertArrayWithBadElementWritesNothing(_ body: String) throws {
        let client = TestService.shared.client()
        let collection = TestService.uniqueCollection()
        try RouteCheck.insert(client, collection, ["id": "existing"])
        let response = try client.call("POST", "/sessions/\(collection)", json: body)
        #expect(response.status == 400, "\(body): \(response.text)")
        RouteCheck.expectErrorShape(response)
        #expect(try RouteCheck.rowCount(collection) == 1, "part of \(body) was written")
    }

    @Test func insertArrayWithDuplicateIDsWritesNothing() throws {
        let client = TestService.shared.client()
        let collection = TestService.uniqueCollection()
        try RouteCheck.insert(client, collection, ["id": "existing", "v": 0])
        let withinArray = try client.call(
            "POST", "/sessions/\(collection)", json: #"[{"id": "n1"}, {"id": "twice"}, {"id": "twice"}]"#)
        RouteCheck.expectError(withinArray, status: 409, code: "duplicate_id")
        let againstStored = try client.call(
            "POST", "/sessions/\(collection)", json: #"[{"id": "n2"}, {"id": "existing", "v": 1}]"#)
        RouteCheck.expectError(againstStored, status: 409, code: "duplicate_id")
        #expect(try RouteCheck.rowCount(collection) == 1)
        for id in ["n1", "twice", "n2"] {
            RouteCheck.expectError(
                try client.call("GET", "/sessions/\(collection)/\(id)"), status: 404, code: "document_not_found")
        }
        #expect(try client.call("GET", "/sessions/\(collection)/existing").object["v"] as? Int == 0)
    }

    @Test(arguments: ["5", #""text""#, "null", "true", "1.5"])
    func insertNonDocumentIsBadRequest(_ body: String) throws {
        let client = TestService.shared.client()
        let collection = TestService.uniqueCollection()
        let response = try client.call("POST", "/sessions/\(collection)", json: body)
        #expect(response.status == 400, "\(body): \(response.text)")
        RouteCheck.expectErrorShape(response)
        #expect(try RouteCheck.rowCount(collection) == 0)
    }

    @Test(arguments: [#"{"a": "#, "{a: 1}", #"{"a": 1,}"#, #"{"a": 1} x"#, "[1, 2", #"{"a": "\u12"}"#, "\u{FEFF}"])
    func insertInvalidJSONIsBadRequest(_ body: String) throws {
        let client = TestService.shared.client()
        let collection = TestService.uniqueCollection()
        let response = try client.call("POST", "/sessions/\(collection)", json: body)
        RouteCheck.expectError(response, status: 400, code: "invalid_json")
        #expect(try RouteCheck.rowCount(collection) == 0)
    }

    @Test func insertNeedsABody() throws {
        let client = TestService.shared.client()
        let collection = TestService.uniqueCollection()
        let response = try client.call("POST", "/sessions/\(collection)", json: "")
        #expect(response.status == 400, "\(response.text)")
        RouteCheck.expectErrorShape(response)
        #expect(try RouteCheck.rowCount(collection) == 0)
    }

    @Test(arguments: [
        RouteContentTypeCase("text/plain", 415), RouteContentTypeCase(nil, 415),
        RouteContentTypeCase("application/xml", 415),
        RouteContentTypeCase("application/x-www-form-urlencoded", 415),
        RouteContentTypeCase("application/json; charset=latin1", 415),
        RouteContentTypeCase("application/json", 201), RouteContentTypeCase("application/json; charset=utf-8", 201),
        RouteContentTypeCase("Application/JSON", 201),
    ])
    func insertContentType(_ test: RouteContentTypeCase) throws {
        let client = TestService.shared.client()
        let collection = TestService.uniqueCollection()
        var headers = [("Authorization", "Bearer \(TestService.key)")]
        if let type = test.contentType { headers.append(("Content-Type", type)) }
        let response = try client.send(
            "POST", "/sessions/\(collection)", headers: headers, body: Array(#"{"a": 1}"#.utf8))
        if test.status == 415 {
            RouteCheck.expectError(response, status: 415, code: "unsupported_media_type")
            #expect(try RouteCheck.rowCount(collection) == 0)
        } else {
            #expect(response.status == test.status, "\(response.text)")
            #expect(try RouteCheck.rowCount(collection) == 1)
        }
    }

    @Test func writesWithWrongContentTypeChangeNothing() throws {
        let client = TestService.shared.client()
        let collection = TestService.uniqueCollection()
        let original = try RouteCheck.insert(client, collection, ["id": "d", "v": 1])
        let headers = [("Authorization", "Bearer \(TestService.key)"), ("Content-Type", "text/plain")]
        let body = Array(#"{"v": 2}"#.utf8)
        for (method, target) in [
            ("PATCH", "/sessions/\(collection)/d"), ("PUT", "/sessions/\(collection)/d"),
            ("POST", "/sessions/\(collection):updateOne"), ("POST", "/sessions/\(collection):deleteOne"),
        ] {
            let response = try client.send(method, target, headers: headers, body: body)
            RouteCheck.expectError(response, status: 415, code: "unsupported_media_type")
            let noType = try client.send(method, target, headers: [headers[0]], body: body)
            RouteCheck.expectError(noType, status: 415, code: "unsupported_media_type")
        }
        #expect(RouteCheck.equal(try client.call("GET", "/sessions/\(collection)/d").object, original))
    }

    @Test func hostileBodiesAreClientErrorsAndWriteNothing() throws {
        let client = TestService.shared.client()
        let collection = TestService.uniqueCollection()
        try RouteCheck.insert(client, collection, ["id": "a", "v": 0])
        let bodies: [[UInt8]] = [
            Array(#"{"text": "x\u0000y"}"#.utf8), Array(#"{"id": "a\u0000b"}"#.utf8),
            Array(#"{"s": "\ud800"}"#.utf8), Array(#"{"n": 1e999999}"#.utf8),
            Array(#"{"a": ""#.utf8) + [0xFF, 0xFE] + Array(#""}"#.utf8),
            Array(String(repeating: #"{"a":"#, count: 200).utf8) + Array("1".utf8)
                + Array(String(repeating: "}", count: 200).utf8),
            Array(#"[{"id": "fresh"}, {"text": "\u0000"}]"#.utf8),
        ]
        for body in bodies {
            let text = String(decoding: body, as: UTF8.self)
            for (method, target) in [
                ("POST", "/sessions/\(collection)"), ("PUT", "/sessions/\(collection)/a"),
                ("PATCH", "/sessions/\(collection)/a"),
            ] {
                let response = try client.send(
                    method, target,
                    headers: [("Authorization", "Bearer \(TestService.key)"), ("Content-Type", "application/json")],
                    body: body)
                #expect((400..<500).contains(response.status), "\(method) \(text): \(response.text)")
                RouteCheck.expectErrorShape(response)
            }
        }
        #expect(try RouteCheck.rowCount(collection) == 1)
        #expect(try client.call("GET", "/sessions/\(collection)/a").object["v"] as? Int == 0)
    }

    @Test func nulInPathOrFilterNeverReachesAnotherDocument() throws {
        let client = TestService.shared.client()
        let collection = TestService.uniqueCollection()
        try RouteCheck.insert(client, collection, ["id": "a", "k": "x"])
        for method in ["GET", "DELETE"] {
            let response = try client.call(method, "/sessions/\(collection)/a%00b")
            #expect((400..<500).contains(response.status), "\(method) a%00b: \(response.text)")
            #expect(response.object["id"] == nil, "\(method) a%00b answered document a")
        }
        let patched = try client.call("PATCH", "/sessions/\(collection)/a%00b", json: #"{"k": "changed"}"#)
        #expect((400..<500).contains(patched.status), "\(patched.text)")
        let found = try client.call("POST", "/sessions/\(collection):find", json: #"{"where": {"k": "x\u0000y"}}"#)
        #expect(found.status == 200 || (400..<500).contains(found.status), "\(found.text)")
        #expect(!found.text.contains(#""id":"a""#), "a filter on x<NUL>y matched k = x")
        let deleted = try client.call(
            "POST", "/sessions/\(collection):deleteOne", json: #"{"where": {"k": "x\u0000"}}"#)
        #expect(deleted.object["deleted_count"] as? Int != 1, "\(deleted.text)")
        let stored = try client.call("GET", "/sessions/\(collection)/a")
        #expect(stored.object["k"] as? String == "x")
        #expect(try RouteCheck.rowCount(collection) == 1)
    }

    // MARK: Get

    @Test func getByID() throws {
        let client = TestService.shared.client()
        let collection = TestService.uniqueCollection()
        let stored = try RouteCheck.insert(client, collection, ["id": "one", "deep": ["a": [1, 2, ["b": NSNull()]]]])
        let read = try client.call("GET", "/sessions/\(collection)/one")
        #expect(read.status == 200)
        #expect(read.header("Content-Type")?.hasPrefix("application/json") == true)
        #expect(RouteCheck.equal(read.object, stored), "\(read.text)")
        RouteCheck.expectError(
            try client.call("GET", "/sessions/\(collection)/two"), status: 404, code: "document_not_found")
        RouteCheck.expectError(
            try client.call("GET", "/sessions/\(TestService.uniqueCollection())/one"), status: 404,
            code: "document_not_found")
        RouteCheck.expectError(
            try client.call("GET", "/sessions/\(collection)/\(String(repeating: "x", count: 300))"), status: 404,
            code: "document_not_found")
    }

    @Test func malformedPercentEncodingInIDIsBadRequest() throws {
        let client = TestService.shared.client()
        let collection = TestService.uniqueCollection()
        for id in ["%ZZ", "%", "a%2", "%FF", "%C3"] {
            let response = try client.call("GET", "/sessions/\(collection)/\(id)")
            #expect(response.status == 400, "\(id): \(response.text)")
            RouteCheck.expectErrorShape(response)
        }
    }

    @Test(arguments: [
        "with space", "a/b", "ünï✓ 日本 🙂", #"quo"te"#, "100%", "a+b", "semi;colon?query#frag&x=y", "back\\slash",
        "'single'", "tab\tand\nnewline", "..", "%41",
    ])
    func idNeedingPercentEncodingRoundTrips(_ id: String) throws {
        let client = TestService.shared.client()
        let collection = TestService.uniqueCollection()
        let document: [String: Any] = ["id": id, "v": 1]
        let response = try client.call("POST", "/sessions/\(collection)", json: RouteCheck.json(document))
        try #require(response.status == 201, "\(response.text)")
        var expected = document
        expected["creation_utc"] = response.object["creation_utc"]
        #expect(RouteCheck.equal(response.object, expected), "\(response.text)")
        let location = try #require(response.header("Location"))
        #expect(location.allSatisfy { $0.isASCII }, "Location is not ASCII: \(location)")
        let prefix = "/sessions/\(collection)/"
        #expect(location.hasPrefix(prefix))
        #expect(location.dropFirst(prefix.count).removingPercentEncoding == id, "Location \(location)")
        #expect(!location.dropFirst(prefix.count).contains("/"), "Location splits the id: \(location)")

        let viaLocation = try client.call("GET", location)
        #expect(viaLocation.status == 200, "GET \(location): \(viaLocation.text)")
        #expect(viaLocation.object["id"] as? String == id)
        let encoded = "\(prefix)\(RouteCheck.encode(id))"
        let viaEncoded = try client.call("GET", encoded)
        #expect(viaEncoded.status == 200, "GET \(encoded): \(viaEncoded.text)")
        #expect(viaEncoded.object["id"] as? String == id)
        if encoded.contains("%") {
            let lowercaseHex = RouteCheck.lowercasingEscapes(encoded)
            let viaLowercase = try client.call("GET", lowercaseHex)
            #expect(viaLowercase.object["id"] as? String == id, "GET \(lowercaseHex): \(viaLowercase.text)")
        }

        let patched = try client.call("PATCH", encoded, json: #"{"v": 2}"#)
        #expect(patched.status == 200, "PATCH \(encoded): \(patched.text)")
        #expect(patched.object["id"] as? String == id)
        let replaced = try client.call("PUT", encoded, json: #"{"v": 3}"#)
        #expect(replaced.status == 200, "PUT \(encoded): \(replaced.text)")
        #expect(replaced.object["id"] as? String == id)
        let deleted = try client.call("DELETE", encoded)
        #expect(deleted.status == 200, "DELETE \(encoded): \(deleted.text)")
        #expect(deleted.object["id"] as? String == id)
        #expect(deleted.object["v"] as? Int == 3)
        #expect(try RouteCheck.rowCount(collection) == 0)
    }

    @Test func plusInPathIsNotASpace() throws {
        let client = TestService.shared.client()
        let collection = TestService.uniqueCollection()
        try RouteCheck.insert(client, collection, ["id": "a+b", "which": "plus"])
        try RouteCheck.insert(client, collection, ["id": "a b", "which": "space"])
        #expect(try client.call("GET", "/sessions/\(collection)/a+b").object["which"] as? String == "plus")
        #expect(try client.call("GET", "/sessions/\(collection)/a%2Bb").object["which"] as? String == "plus")
        #expect(try client.call("GET", "/sessions/\(collection)/a%20b").object["which"] as? String == "space")
    }

    // MARK: Patch

    @Test func patchMergesTopLevelFields() throws {
        let client = TestService.shared.client()
        let collection = TestService.uniqueCollection()
        let original = try RouteCheck.insert(
            client, collection, ["id": "p", "a": 1, "b": ["x": 1, "y": 1], "c": "keep", "gone": "soon"])
        let patch: [String: Any] = ["b": ["y": 2], "d": true, "gone": NSNull(), "version": "0.2"]
        let response = try client.call("PATCH", "/sessions/\(collection)/p", json: RouteCheck.json(patch))
        #expect(response.status == 200, "\(response.text)")
        #expect(response.header("Content-Type")?.hasPrefix("application/json") == true)
        let expected = original.merging(patch) { _, new in new }
        #expect(RouteCheck.equal(response.object, expected), "\(response.text)")
        #expect(RouteCheck.equal(try client.call("GET", "/sessions/\(collection)/p").object, expected))
        let column = try TestPostgres.sql(
            "SELECT version FROM \(unsafeSQL: "\"\(TestService.shared.schema)\".\"parlant_sessions_\(collection)\"")")
        #expect(column.first?.first == "0.2", "the version column is not kept in step")

        let samePatch = try client.call("PATCH", "/sessions/\(collection)/p", json: #"{"id": "p"}"#)
        #expect(samePatch.status == 200, "\(samePatch.text)")
        let emptyPatch = try client.call("PATCH", "/sessions/\(collection)/p", json: "{}")
        #expect(emptyPatch.status == 200)
        #expect(RouteCheck.equal(emptyPatch.object, expected))
    }

    @Test func patchMissingDocumentIsNotFound() throws {
        let client = TestService.shared.client()
        let collection = TestService.uniqueCollection()
        RouteCheck.expectError(
            try client.call("PATCH", "/sessions/\(collection)/missing", json: #"{"a": 1}"#), status: 404,
            code: "document_not_found")
        try RouteCheck.insert(client, collection, ["id": "other"])
        RouteCheck.expectError(
            try client.call("PATCH", "/sessions/\(collection)/missing", json: #"{"a": 1}"#), status: 404,
            code: "document_not_found")
        #expect(try RouteCheck.rowCount(collection) == 1, "PATCH created a document")
    }

    @Test(arguments: [
        #"{"id": "changed"}"#, #"{"id": 5}"#, #"{"id": ""}"#, #"{"creation_utc": "not a date"}"#, "[1]", "5",
        #""text""#, "null",
    ])
    func badPatchIsRejectedAndChangesNothing(_ body: String) throws {
        let client = TestService.shared.client()
        let collection = TestService.uniqueCollection()
        let original = try RouteCheck.insert(client, collection, ["id": "p", "a": 1])
        let response = try client.call("PATCH", "/sessions/\(collection)/p", json: body)
        #expect(response.status == 400, "\(body): \(response.text)")
        RouteCheck.expectErrorShape(response)
        #expect(RouteCheck.equal(try client.call("GET", "/sessions/\(collection)/p").object, original))
        RouteCheck.expectError(
            try client.call("GET", "/sessions/\(collection)/changed"), status: 404, code: "document_not_found")
    }

    // MARK: Put

    @Test func putCreatesThenReplaces() throws {
        let client = TestService.shared.client()
        let collection = TestService.uniqueCollection()
        let created = try client.call("PUT", "/sessions/\(collection)/q", json: #"{"a": 1, "b": {"c": 2}}"#)
        #expect(created.status == 201, "\(created.text)")
        let first = created.object
        #expect(first["id"] as? String == "q")
        #expect(first["creation_utc"] is String)
        #expect(
            RouteCheck.equal(first, ["id": "q", "a": 1, "b": ["c": 2], "creation_utc": first["creation_utc"] ?? ""]))
        let location = try #require(created.header("Location"), "201 without Location")
        #expect(location == "/sessions/\(collection)/q")
        #expect(RouteCheck.equal(try client.call("GET", location).object, first))

        let replaced = try client.call("PUT", "/sessions/\(collection)/q", json: #"{"a": 5, "z": [true]}"#)
        #expect(replaced.status == 200, "\(replaced.text)")
        let second = replaced.object
        #expect(second["b"] == nil, "a field absent from the new body survived: \(replaced.text)")
        #expect(second["id"] as? String == "q")
        #expect(second["a"] as? Int == 5)
        #expect(RouteCheck.equal(second["z"], [true]))
        #expect(second["creation_utc"] is String)
        #expect(RouteCheck.equal(try client.call("GET", "/sessions/\(collection)/q").object, second))

        let withID = try client.call("PUT", "/sessions/\(collection)/q", json: #"{"id": "q", "only": 1}"#)
        #expect(withID.status == 200)
        #expect(withID.object["a"] == nil && withID.object["only"] as? Int == 1)
        #expect(try RouteCheck.rowCount(collection) == 1)
    }

    @Test(arguments: [#"{"id": "other", "a": 1}"#, #"{"id": 1}"#, "[]", "5", "null", #"{"creation_utc": 5}"#])
    func badPutIsRejectedAndChangesNothing(_ body: String) throws {
        let client = TestService.shared.client()
        let collection = TestService.uniqueCollection()
        let original = try RouteCheck.insert(client, collection, ["id": "q", "a": 0])
        let response = try client.call("PUT", "/sessions/\(collection)/q", json: body)
        #expect(response.status == 400, "\(body): \(response.text)")
        RouteCheck.expectErrorShape(response)
        let onNew = try client.call("PUT", "/sessions/\(collection)/new", json: body)
        #expect(onNew.status == 400, "\(body) on a new id: \(onNew.text)")
        #expect(RouteCheck.equal(try client.call("GET", "/sessions/\(collection)/q").object, original))
        #expect(try RouteCheck.rowCount(collection) == 1)
    }

    // MARK: Delete

    @Test func deleteReturnsTheDocumentOnce() throws {
        let client = TestService.shared.client()
        let collection = TestService.uniqueCollection()
        let stored = try RouteCheck.insert(client, collection, ["id": "d", "v": ["x": 1]])
        try RouteCheck.insert(client, collection, ["id": "keep"])
        let deleted = try client.call("DELETE", "/sessions/\(collection)/d")
        #expect(deleted.status == 200, "\(deleted.text)")
        #expect(deleted.header("Content-Type")?.hasPrefix("application/json") == true)
        #expect(RouteCheck.equal(deleted.object, stored), "\(deleted.text)")
        RouteCheck.expectError(
            try client.call("GET", "/sessions/\(collection)/d"), status: 404, code: "document_not_found")
        RouteCheck.expectError(
            try client.call("DELETE", "/sessions/\(collection)/d"), status: 404, code: "document_not_found")
        RouteCheck.expectError(
            try client.call("DELETE", "/sessions/\(TestService.uniqueCollection())/d"), status: 404,
            code: "document_not_found")
        #expect(try RouteCheck.rowCount(collection) == 1)
    }
}

/// A Content-Type (or none) and the status an insert with it gets.
struct RouteContentTypeCase: Sendable, CustomTestStringConvertible {
    let contentType: String?
    let status: Int

    init(_ contentType: String?, _ status: Int) {
        self.contentType = contentType
        self.status = status
    }

    var testDescription: String { "\(contentType ?? "no Content-Type") -> \(status)" }
}
