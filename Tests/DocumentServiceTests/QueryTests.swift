import Foundation
import Testing

@testable import DocumentService
@testable import DocumentStore

/// Helpers shared by the Query* and Streaming* suites.
enum QuerySupport {
    /// The collection `name` of the sessions store, for seeding through the database directly.
    static func collection(_ name: String, in service: TestService = .shared) throws -> DocumentCollection {
        service.database.collection(try CollectionName(name), tablePrefix: "parlant_sessions_")
    }

    /// Inserts `documents` in batches with `insertMany`.
    static func seed(
        _ name: String,
        _ documents: [JSONValue],
        batch: Int = 1000,
        in service: TestService = .shared
    ) throws {
        let collection = try collection(name, in: service)
        var start = 0
        while start < documents.count {
            let end = min(start + batch, documents.count)
            let stored = try collection.insertMany(Array(documents[start..<end]))
            precondition(stored.count == end - start, "insertMany stored \(stored.count) of \(end - start)")
            start = end
        }
    }

    /// Every byte but RFC 3986's unreserved characters percent-encoded (so `+` is `%2B`).
    static func encode(_ text: String) -> String {
        var output = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                output.append(Character(Unicode.Scalar(byte)))
            default:
                output += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return output
    }

    /// base64url without padding (RFC 4648 section 5), computed with Foundation, not the service's code.
    static func base64url(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// The inverse of `base64url`, or nil.
    static func decodeBase64url(_ text: String) -> [UInt8]? {
        var standard = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while standard.count % 4 != 0 { standard += "=" }
        return Data(base64Encoded: standard).map { Array($0) }
    }

    /// A cursor token built by hand, as a Parlant client would: base64url of `[creation_utc, id]`.
    static func token(creationUTC: String, id: String) throws -> String {
        base64url(Array(try JSONSerialization.data(withJSONObject: [creationUTC, id])))
    }

    /// `[creation_utc, id]` from a token, or nil if it is not one.
    static func decodeToken(_ token: String) -> [String]? {
        guard let bytes = decodeBase64url(token),
            let array = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [Any]
        else { return nil }
        let strings = array.compactMap { $0 as? String }
        return strings.count == array.count ? strings : nil
    }

    static func items(_ response: HTTPClient.Response) -> [[String: Any]] {
        response.object["items"] as? [[String: Any]] ?? []
    }

    static func ids(_ response: HTTPClient.Response) -> [String] {
        items(response).map { $0["id"] as? String ?? "<no id>" }
    }

    /// The target of `Link: <...>; rel="next"`, or nil when there is no such header.
    static func nextLink(_ response: HTTPClient.Response) -> String? {
        guard let link = response.header("Link") else { return nil }
        guard link.hasPrefix("<"), let close = link.firstIndex(of: ">") else { return "<malformed: \(link)>" }
        let rest = link[link.index(after: close)...].replacingOccurrences(of: " ", with: "")
        guard rest == ";rel=\"next\"" else { return "<malformed: \(link)>" }
        return String(link[link.index(after: link.startIndex)..<close])
    }

    /// Byte-wise (code point) order of `(creation_utc, id)`, the keyset order for ASCII keys.
    static func precedes(_ a: (String, String), _ b: (String, String)) -> Bool {
        if a.0 != b.0 { return Array(a.0.utf8).lexicographicallyPrecedes(Array(b.0.utf8)) }
        return Array(a.1.utf8).lexicographicallyPrecedes(Array(b.1.utf8))
    }

    /// Ids of `documents` in keyset order.
    static func keysetOrder(_ documents: [JSONValue], descending: Bool = false) -> [String] {
        let keys = documents.map { document in
            (
                document.objectValue?["creation_utc"]?.stringValue ?? "",
                document.objectValue?["id"]?.stringValue ?? ""
            )
        }
        let sorted = keys.sorted(by: precedes).map(\.1)
        return descending ? sorted.reversed() : sorted
    }

    /// An ISO 8601 timestamp `seconds` after 2024-05-01T00:00:00, with a fixed fraction.
    static func timestamp(_ seconds: Int, micros: Int = 250_000) -> String {
        let (hours, rest) = seconds.quotientAndRemainder(dividingBy: 3600)
        let (minutes, secs) = rest.quotientAndRemainder(dividingBy: 60)
        let day = 1 + hours / 24
        return "2024-05-\(pad(day, 2))T\(pad(hours % 24, 2)):\(pad(minutes, 2)):\(pad(secs, 2)).\(pad(micros, 6))+00:00"
    }

    static func pad(_ value: Int, _ width: Int) -> String {
        String(value).leftPadded(to: width)
    }

    /// Follows `Link: rel="next"` from `path?query` until there is none, checking on every page that
    /// `has_more`, `next_cursor` and the Link header agree, that the link keeps every parameter but the
    /// cursor, and that `total_count` is `expectedTotal` (or the page size). Returns the ids in order.
    static func walk(
        _ client: HTTPClient,
        path: String,
        query: [String],
        limit: Int,
        expectedTotal: Int? = nil
    ) throws -> [String] {
        var target = query.isEmpty ? path : "\(path)?\(query.joined(separator: "&"))"
        var ids: [String] = []
        var pages = 0
        while true {
            let response = try client.call("GET", target)
            try #require(response.status == 200, "GET \(target): \(response.status) \(response.text)")
            let body = response.object
            let items = items(response)
            let hasMore = try #require(body["has_more"] as? Bool, "has_more missing: \(response.text.prefix(200))")
            let nextCursor = body["next_cursor"] as? String
            #expect(nextCursor != nil || body["next_cursor"] is NSNull, "next_cursor must be a string or null")
            let link = nextLink(response)
            #expect(hasMore == (link != nil), "has_more \(hasMore) but Link \(link ?? "absent") at \(target)")
            #expect(hasMore == (nextCursor != nil), "has_more \(hasMore) but next_cursor \(nextCursor ?? "null")")
            #expect(items.count <= limit)
            if hasMore { #expect(items.count == limit, "a page with more after it must be full") }
            #expect(body["total_count"] as? Int == (expectedTotal ?? items.count), "total_count at \(target)")
            ids += items.map { $0["id"] as? String ?? "<no id>" }
            pages += 1
            guard hasMore, let link, let nextCursor else { break }
            // The token names the last item of the page.
            let last = try #require(items.last)
            #expect(
                decodeToken(nextCursor) == [last["creation_utc"] as? String ?? "", last["id"] as? String ?? ""],
                "next_cursor \(nextCursor) does not decode to the last item's [creation_utc, id]"
            )
            #expect(!nextCursor.contains("=") && !nextCursor.contains("+") && !nextCursor.contains("/"))
            // A relative link to the same path, every parameter kept, the new cursor last.
            let parts = link.split(separator: "?", maxSplits: 1)
            #expect(parts.first.map(String.init) == path, "Link \(link) is not on \(path)")
            let pairs = parts.count == 2 ? parts[1].split(separator: "&").map(String.init) : []
            #expect(pairs.last == "cursor=\(nextCursor)", "Link \(link) does not carry next_cursor")
            #expect(pairs.filter { $0.hasPrefix("cursor=") }.count == 1, "Link \(link) has several cursors")
            #expect(pairs.filter { !$0.hasPrefix("cursor=") } == query.filter { !$0.hasPrefix("cursor=") })
            try #require(pages <= 5000, "more than 5000 pages: the links do not advance")
            target = link
        }
        return ids
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}

/// Keyset pagination over HTTP: Link headers, cursors, `has_more`, `count=exact`; on a database whose
/// collation is C.UTF-8 and on one whose collation is en_US.UTF-8, where the order must be the same.
@Suite struct QueryPaginationTests {
    /// 1,000 documents; `creation_utc` shared by groups of 4 (so the id decides within a group), inserted
    /// in an order unrelated to either key. Ids start `Doc`, `doc`, `_doc` or `dOC`, whose code-point order
    /// is not en_US's.
    static let documents: [JSONValue] = (0..<1000).map { i in
        let number = (i * 389) % 1000
        return .object(
            JSONObject([
                ("id", .string(["Doc-", "doc-", "_doc-", "dOC-"][number % 4] + QuerySupport.pad(number, 3))),
                ("creation_utc", .string(QuerySupport.timestamp((i * 37) % 250))),
                ("grp", .number(String(i % 3))),
                ("kind", .string(i % 2 == 0 ? "a" : "b")),
                ("n", .number(String(i))),
            ]))
    }

    /// One seeded collection in each service for the suite's tests (each test only reads it).
    static let seededNames: [String: String] = {
        var names: [String: String] = [:]
        for collation in TestService.collations {
            let name = TestService.uniqueCollection("page")
            do {
                try QuerySupport.seed(name, documents, in: .on(collation: collation))
            } catch {
                fatalError("seeding \(name) failed: \(error)")
            }
            names[collation] = name
        }
        return names
    }()

    /// The seeded collection's path, and a client, on the service of `collation`.
    static func seeded(_ collation: String) -> (path: String, client: HTTPClient) {
        ("/sessions/\(seededNames[collation]!)", TestService.on(collation: collation).client())
    }

    static func matching(_ predicate: (JSONObject) -> Bool) -> [JSONValue] {
        documents.filter { predicate($0.objectValue!) }
    }

    @Test func seedHasGroupsSharingCreationTime() {
        let times = Dictionary(grouping: Self.documents) { $0.objectValue?["creation_utc"]?.stringValue ?? "" }
        #expect(times.count == 250)
        #expect(times.values.allSatisfy { $0.count == 4 })
    }

    @Test(arguments: TestService.collations, [7, 100, 500, 1000])
    func ascendingLinksVisitEveryDocumentOnce(collation: String, limit: Int) throws {
        let (path, client) = Self.seeded(collation)
        let ids = try QuerySupport.walk(client, path: path, query: ["limit=\(limit)"], limit: limit)
        #expect(ids.count == 1000)
        #expect(Set(ids).count == ids.count, "a document arrived twice")
        #expect(ids == QuerySupport.keysetOrder(Self.documents))
    }

    @Test(arguments: TestService.collations)
    func descendingLinksVisitEveryDocumentOnceInReverse(collation: String) throws {
        let (path, client) = Self.seeded(collation)
        let ids = try QuerySupport.walk(client, path: path, query: ["sort=desc", "limit=33"], limit: 33)
        #expect(ids.count == 1000)
        #expect(ids == QuerySupport.keysetOrder(Self.documents, descending: true))
    }

    @Test(arguments: TestService.collations)
    func exactCountOnEveryPage(collation: String) throws {
        let (path, client) = Self.seeded(collation)
        let ids = try QuerySupport.walk(
            client, path: path, query: ["limit=64", "count=exact"], limit: 64, expectedTotal: 1000)
        #expect(ids == QuerySupport.keysetOrder(Self.documents))
    }

    @Test(arguments: TestService.collations)
    func filtersArePreservedInLinks(collation: String) throws {
        let (path, client) = Self.seeded(collation)
        // where and a PostgREST pair together; the where is percent-encoded, the pair partly raw.
        let expected = Self.matching { $0["grp"]?.numberLiteral == "1" && $0["kind"]?.stringValue == "a" }
        #expect(expected.count > 100)
        let query = ["where=" + QuerySupport.encode(#"{"grp": {"$eq": 1}}"#), "kind=eq.a", "limit=13", "count=exact"]
        let ids = try QuerySupport.walk(client, path: path, query: query, limit: 13, expectedTotal: expected.count)
        #expect(ids == QuerySupport.keysetOrder(expected))

        // Descending, a PostgREST pair with a quoted value needing escapes, and no count.
        let descending = Self.matching { $0["kind"]?.stringValue == "b" && ($0["grp"]?.numberLiteral ?? "") != "0" }
        let query2 = ["sort=desc", "kind=eq." + QuerySupport.encode(#""b""#), "grp=neq.0", "limit=50"]
        let ids2 = try QuerySupport.walk(client, path: path, query: query2, limit: 50)
        #expect(ids2 == QuerySupport.keysetOrder(descending, descending: true))
    }

    @Test(arguments: TestService.collations)
    func handBuiltCursorStartsStrictlyAfterIt(collation: String) throws {
        let (path, client) = Self.seeded(collation)
        let order = QuerySupport.keysetOrder(Self.documents)
        let byID = Dictionary(uniqueKeysWithValues: Self.documents.map { ($0.objectValue!["id"]!.stringValue!, $0) })
        // The second document of a group sharing one creation_utc: only the id separates it from the third.
        let index = 4 * 60 + 1
        let named = byID[order[index]]!.objectValue!
        let creation = named["creation_utc"]!.stringValue!
        #expect(byID[order[index + 1]]!.objectValue!["creation_utc"]!.stringValue == creation)
        let token = try QuerySupport.token(creationUTC: creation, id: order[index])

        let after = try client.call("GET", "\(path)?limit=5&cursor=\(token)")
        #expect(after.status == 200, "\(after.text)")
        #expect(QuerySupport.ids(after) == Array(order[(index + 1)...(index + 5)]))

        let before = try client.call("GET", "\(path)?limit=5&sort=desc&cursor=\(token)")
        #expect(before.status == 200)
        #expect(QuerySupport.ids(before) == Array(order[(index - 5)..<index].reversed()))

        // A position that names no document: after every id of its group, so the next group follows.
        let gap = try QuerySupport.token(creationUTC: creation, id: "zzz")
        let next = try client.call("GET", "\(path)?limit=3&cursor=\(gap)")
        #expect(QuerySupport.ids(next) == Array(order[(4 * 61)..<(4 * 61 + 3)]))

        // Links from a request that started at a cursor (given first) carry only the new cursor.
        let rest = try QuerySupport.walk(client, path: path, query: ["cursor=\(token)", "limit=100"], limit: 100)
        #expect(rest == Array(order[(index + 1)...]))

        // The token the service issues for that item is the same pair.
        let page = try client.call("GET", "\(path)?limit=\(index + 1)")
        let issued = try #require(page.object["next_cursor"] as? String)
        #expect(QuerySupport.decodeToken(issued) == [creation, order[index]])

        // Past the end: empty, no more, no link.
        let lastID = order[order.count - 1]
        let last = try QuerySupport.token(
            creationUTC: byID[lastID]!.objectValue!["creation_utc"]!.stringValue!, id: lastID)
        let end = try client.call("GET", "\(path)?limit=10&cursor=\(last)")
        #expect(end.status == 200)
        #expect(QuerySupport.ids(end).isEmpty)
        #expect(end.object["has_more"] as? Bool == false)
        #expect(end.object["next_cursor"] is NSNull)
        #expect(end.header("Link") == nil)
    }
}

/// Bad query strings: 400 with the fitting code and a message, never a 500.
@Suite struct QueryErrorTests {
    static let seeded: String = {
        let name = TestService.uniqueCollection("qerr")
        do {
            try QuerySupport.seed(
                name,
                (0..<3).map { i in
                    .object(JSONObject([("id", .string("e\(i)")), ("n", .number(String(i)))]))
                })
        } catch {
            fatalError("seeding \(name) failed: \(error)")
        }
        return name
    }()

    static func nested(_ levels: Int) -> String {
        (0..<levels).reduce(#"{"n": 1}"#) { inner, _ in #"{"$and": [\#(inner)]}"# }
    }

    static func cursor(_ json: String) -> String {
        QuerySupport.base64url(Array(json.utf8))
    }

    static let cases: [(query: String, code: String)] = [
        ("limit=0", "invalid_request"),
        ("limit=1001", "invalid_request"),
        ("limit=abc", "invalid_request"),
        ("limit=-1", "invalid_request"),
        ("limit=", "invalid_request"),
        ("limit=10&limit=20", "invalid_request"),
        ("cursor=not*base64!", "invalid_cursor"),
        ("cursor=" + cursor(#"{"creation_utc": "2024-05-01T00:00:00+00:00", "id": "e1"}"#), "invalid_cursor"),
        ("cursor=" + cursor(#"["2024-05-01T00:00:00+00:00", "e1", "x"]"#), "invalid_cursor"),
        ("cursor=" + cursor(#"[1, 2]"#), "invalid_cursor"),
        ("cursor=" + cursor(#"["2024-05-01T00:00:00+00:00"]"#), "invalid_cursor"),
        ("cursor=" + cursor(#""just a string""#), "invalid_cursor"),
        ("cursor=" + cursor("[\"2024\", \"e1\""), "invalid_cursor"),
        ("limit=5&cursor=A", "invalid_cursor"),
        ("x=foo.1", "invalid_filter"),
        ("x=1", "invalid_filter"),
        ("x=", "invalid_filter"),
        ("x=like.abc", "invalid_filter"),
        ("x=in." + QuerySupport.encode(#"("a,b)"#), "invalid_filter"),
        ("x=in." + QuerySupport.encode(#"(a,"b)"#), "invalid_filter"),
        ("x=in." + QuerySupport.encode(#"("a"b)"#), "invalid_filter"),
        ("x=in.a,b", "invalid_filter"),
        ("where=" + QuerySupport.encode("{not json"), "invalid_filter"),
        ("where=" + QuerySupport.encode(#"{"n": {"$foo": 1}}"#), "invalid_filter"),
        ("where=" + QuerySupport.encode(#"{"$nor": []}"#), "invalid_filter"),
        ("where=" + QuerySupport.encode(#"{"n": {"$in": 1}}"#), "invalid_filter"),
        ("where=" + QuerySupport.encode(#"[]"#), "invalid_filter"),
        ("where=" + QuerySupport.encode(#"{"": 1}"#), "invalid_filter"),
        ("where=" + QuerySupport.encode(nested(33)), "invalid_filter"),
        ("where=" + QuerySupport.encode(nested(200)), "invalid_filter"),
        ("where=%7B%7D&where=%7B%7D", "invalid_request"),
        ("where=%zz", "invalid_request"),
        ("n=eq.%ff", "invalid_request"),
        ("%ff=eq.1", "invalid_request"),
        ("limit=1%2", "invalid_request"),
        ("sort=sideways", "invalid_request"),
        ("sort=", "invalid_request"),
        ("count=maybe", "invalid_request"),
        ("count=exact&count=exact", "invalid_request"),
    ]

    @Test func badQueryStringsAre400WithCodeAndMessage() throws {
        let client = TestService.shared.client()
        for path in ["/sessions/\(Self.seeded)", "/sessions/\(TestService.uniqueCollection("absent"))"] {
            for (query, code) in Self.cases {
                let response = try client.call("GET", "\(path)?\(query)")
                #expect(response.status == 400, "?\(query): \(response.status) \(response.text)")
                #expect(response.errorCode == code, "?\(query): \(response.text)")
                let message = (response.object["error"] as? [String: Any])?["message"] as? String ?? ""
                #expect(message.count > 10, "?\(query) has no useful message: \(response.text)")
                #expect(response.header("Content-Type")?.hasPrefix("application/json") == true)
            }
        }
        // The service is still fine on the same connection.
        let fine = try client.call("GET", "/sessions/\(Self.seeded)?limit=1000")
        #expect(fine.status == 200)
        #expect(QuerySupport.ids(fine) == ["e0", "e1", "e2"])
    }

    @Test func limitBoundsAreAccepted() throws {
        let client = TestService.shared.client()
        for limit in [1, 1000] {
            let response = try client.call("GET", "/sessions/\(Self.seeded)?limit=\(limit)")
            #expect(response.status == 200)
            #expect(QuerySupport.ids(response).count == min(limit, 3))
        }
    }

    @Test func thirtyTwoLevelsAreAccepted() throws {
        let client = TestService.shared.client()
        let response = try client.call("GET", "/sessions/\(Self.seeded)?where=" + QuerySupport.encode(Self.nested(32)))
        #expect(response.status == 200, "\(response.text)")
        #expect(Set(QuerySupport.ids(response)) == ["e1"])
    }

    /// The service ANDs PostgREST pairs with `where`; that must not count against the client's depth.
    @Test func thirtyTwoLevelsWithAPostgRESTPairAreAccepted() throws {
        let client = TestService.shared.client()
        let target = "/sessions/\(Self.seeded)?where=" + QuerySupport.encode(Self.nested(32)) + "&id=neq.e0"
        let response = try client.call("GET", target)
        #expect(response.status == 200, "\(response.text)")
        #expect(Set(QuerySupport.ids(response)) == ["e1"])
    }
}

/// Many clients at once, each checking its own answers.
@Suite struct QueryConcurrencyTests {
    final class Failures: @unchecked Sendable {
        private let lock = NSLock()
        private var list: [String] = []

        func add(_ text: String) {
            lock.lock()
            list.append(text)
            lock.unlock()
        }

        var all: [String] {
            lock.lock()
            defer { lock.unlock() }
            return list
        }
    }

    @Test func parallelClientsInsertReadMergeAndFind() throws {
        let workers = 40
        let rounds = 8
        let name = TestService.uniqueCollection("par")
        let path = "/sessions/\(name)"
        let setup = TestService.shared.client()
        let created = try setup.call("POST", path, json: #"{"id": "shared", "kind": "shared"}"#)
        try #require(created.status == 201, "\(created.text)")

        let failures = Failures()
        let start = DispatchSemaphore(value: 0)
        let done = DispatchGroup()
        for worker in 0..<workers {
            done.enter()
            let thread = Thread {
                defer { done.leave() }
                let client = TestService.shared.client()
                start.wait()
                do {
                    var mine: [String] = []
                    for round in 0..<rounds {
                        let id = "w\(worker)-r\(round)"
                        let body = #"{"id": "\#(id)", "worker": \#(worker), "round": \#(round), "kind": "par"}"#
                        let inserted = try client.call("POST", path, json: body)
                        if inserted.status != 201 || inserted.object["id"] as? String != id {
                            failures.add("insert \(id): \(inserted.status) \(inserted.text)")
                        }
                        mine.append(id)

                        let read = try client.call("GET", "\(path)/\(id)")
                        if read.status != 200 || read.object["worker"] as? Int != worker
                            || read.object["round"] as? Int != round
                        {
                            failures.add("get \(id): \(read.status) \(read.text)")
                        }

                        let field = "f_\(worker)_\(round)"
                        let value = worker * 1000 + round
                        let merged = try client.call("PATCH", "\(path)/shared", json: #"{"\#(field)": \#(value)}"#)
                        if merged.status != 200 || merged.object[field] as? Int != value
                            || merged.object["id"] as? String != "shared"
                        {
                            failures.add("patch \(field): \(merged.status) \(merged.text)")
                        }

                        let pairs = try client.call("GET", "\(path)?worker=eq.\(worker)&kind=eq.par")
                        let found = QuerySupport.ids(pairs)
                        if pairs.status != 200 || found.count != mine.count || Set(found) != Set(mine) {
                            failures.add("find worker \(worker) round \(round): \(pairs.status) \(found)")
                        }

                        let filter = QuerySupport.encode(
                            #"{"$and": [{"kind": "par"}, {"worker": {"$in": [\#(worker)]}}]}"#)
                        let counted = try client.call("GET", "\(path)?where=\(filter)&limit=2&count=exact")
                        if counted.status != 200 || counted.object["total_count"] as? Int != round + 1
                            || QuerySupport.ids(counted).count != min(2, round + 1)
                        {
                            failures.add("count worker \(worker) round \(round): \(counted.status) \(counted.text)")
                        }
                    }
                } catch {
                    failures.add("worker \(worker): \(error)")
                }
            }
            thread.start()
        }
        for _ in 0..<workers { start.signal() }
        done.wait()

        let problems = failures.all
        #expect(problems.isEmpty, "\(problems.count) failures, first: \(problems.prefix(5))")

        let shared = try setup.call("GET", "\(path)/shared")
        try #require(shared.status == 200)
        var missing: [String] = []
        for worker in 0..<workers {
            for round in 0..<rounds where shared.object["f_\(worker)_\(round)"] as? Int != worker * 1000 + round {
                missing.append("f_\(worker)_\(round)")
            }
        }
        #expect(missing.isEmpty, "lost updates: \(missing.count), e.g. \(missing.prefix(5))")
        #expect(shared.object.keys.filter { $0.hasPrefix("f_") }.count == workers * rounds)

        let all = try setup.call("GET", "\(path)?kind=eq.par&limit=1&count=exact")
        #expect(all.object["total_count"] as? Int == workers * rounds)
        let everything = try setup.call("GET", path)
        let ids = QuerySupport.ids(everything)
        #expect(ids.count == workers * rounds + 1)
        #expect(Set(ids).count == ids.count)
    }
}
