import Foundation
import TestSupport
import Testing

@testable import DocumentService
@testable import DocumentStore

/// Auth, routing (404, 405, bad collection names), the open routes, verification and body limits,
/// through real sockets against the in-process service (SPEC section 7).
@Suite struct RouteProtocolTests {
    // MARK: Auth on every route

    @Test(arguments: Route.all.filter(\.requiresKey).map(RouteCase.init))
    func routeRefusesMissingKey(_ route: RouteCase) throws {
        let client = TestService.shared.client()
        let target = route.target(collection: TestService.uniqueCollection())
        let response = try client.send(route.method, target, headers: route.bodyHeaders, body: route.body)
        RouteCheck.expectError(response, status: 401, code: "unauthorized")
        #expect(response.header("WWW-Authenticate") == "Bearer", "\(route.method) \(target)")
    }

    @Test func bothCredentialsMustHoldTheSameValidKey() throws {
        let client = TestService.shared.client()
        let key = TestService.key
        let wrong = "wrong-key-0123456789abcdef"
        let cases: [(headers: [(String, String)], status: Int)] = [
            ([("Authorization", "Bearer \(key)"), ("apikey", key)], 200),
            ([("Authorization", "Bearer \(key)"), ("apikey", wrong)], 401),
            ([("Authorization", "Bearer \(wrong)"), ("apikey", key)], 401),
            ([("Authorization", "Basic \(key)"), ("apikey", key)], 401),
            ([("Authorization", "Bearer \(key)"), ("apikey", "")], 401),
            // Blanks around the key count the same in both headers.
            ([("Authorization", "Bearer \(key)  ")], 200),
            ([("apikey", "  \(key)\t")], 200),
            ([("Authorization", "Bearer \(key) "), ("apikey", " \(key)")], 200),
        ]
        for (headers, status) in cases {
            let response = try client.call("GET", "/sessions", key: nil, headers: headers)
            #expect(response.status == status, "\(headers.map(\.0)): \(response.text)")
            if status == 401 { RouteCheck.expectError(response, status: 401, code: "unauthorized") }
        }
    }

    @Test(arguments: Route.all.filter(\.requiresKey).map(RouteCase.init))
    func routeRefusesWrongKeys(_ route: RouteCase) throws {
        let client = TestService.shared.client()
        let target = route.target(collection: TestService.uniqueCollection())
        let wrong: [(String, String)] = [
            ("Authorization", "Bearer wrong-key"),
            ("Authorization", "Bearer \(TestService.key)x"),
            ("Authorization", "Bearer \(TestService.key.dropLast())"),
            ("Authorization", "Bearer "),
            ("Authorization", TestService.key),
            ("Authorization", "Basic \(TestService.key)"),
            ("apikey", "wrong-key"),
            ("apikey", ""),
            ("apikey", "\(TestService.key)x"),
            ("X-Api-Key", TestService.key),
        ]
        for header in wrong {
            let response = try client.send(
                route.method, target, headers: [header] + route.bodyHeaders, body: route.body)
            RouteCheck.expectError(response, status: 401, code: "unauthorized")
            #expect(response.header("WWW-Authenticate") == "Bearer", "\(header.0): \(header.1)")
            #expect(!response.text.contains("wrong-key"), "the refusal echoes the credential")
        }
    }

    @Test(arguments: Route.all.filter(\.requiresKey).map(RouteCase.init))
    func routeAcceptsKeyAsBearerAndAsAPIKey(_ route: RouteCase) throws {
        let client = TestService.shared.client()
        let accepted: [(String, String)] = [
            ("Authorization", "Bearer \(TestService.key)"),
            ("Authorization", "bearer \(TestService.key)"),
            ("apikey", TestService.key),
        ]
        for header in accepted {
            let target = route.target(collection: TestService.uniqueCollection())
            let response = try client.send(
                route.succeedingMethod, target, headers: [header] + route.bodyHeaders, body: route.body)
            #expect(response.status != 401, "\(route.method) \(target) with \(header.0): \(response.text)")
            #expect(response.status != 500, "\(route.method) \(target): \(response.text)")
            #expect(!response.text.contains(TestService.key))
        }
    }

    @Test(arguments: Route.all.filter { !$0.requiresKey }.map(RouteCase.init))
    func openRouteAnswersWithoutKey(_ route: RouteCase) throws {
        let client = TestService.shared.client()
        let response = try client.call(route.method, route.target(collection: "unused"), key: nil)
        #expect(response.status == 200, "\(route.template): \(response.text)")
        #expect(response.header("Content-Type")?.hasPrefix("application/json") == true)
        #expect(response.json is [String: Any], "\(route.template) answers a JSON object")
        // A wrong key does not turn an open route into a refusal.
        let withWrongKey = try client.call(route.method, route.target(collection: "unused"), key: "wrong")
        #expect(withWrongKey.status == 200)
    }

    @Test func everySpecRouteIsInTheRouteTable() {
        // SPEC section 7's table and its change feed, written out independently of Route.all.
        let spec: Set<String> = [
            "GET /{store}", "GET /{store}/{collection}", "POST /{store}/{collection}",
            "GET /{store}/{collection}/{id}", "PATCH /{store}/{collection}/{id}", "PUT /{store}/{collection}/{id}",
            "DELETE /{store}/{collection}/{id}", "POST /{store}/{collection}:find",
            "POST /{store}/{collection}:findOne", "POST /{store}/{collection}:updateOne",
            "POST /{store}/{collection}:deleteOne", "POST /{store}/{collection}:ensureIndexes",
            "POST /{store}/{collection}:quarantine", "GET /{store}/{collection}:failedMigrations",
            "PUT /{store}/{collection}", "DELETE /{store}/{collection}", "GET /verify", "GET /healthz",
            "GET /readyz", "GET /openapi.json", "GET /{store}/{collection}:versions",
            "GET /metrics", "GET /{store}/{collection}:watch",
        ]
        let served = Set(Route.all.map { "\($0.method) \($0.template)" })
        #expect(served == spec)
        #expect(Route.all.count == spec.count, "no route is listed twice")
    }

    // MARK: Routing errors

    @Test(arguments: [
        "/nope", "/", "/sessions/a/b/c", "/foo/bar", "/foo/bar/baz", "/sessions/events:nope", "/sessions/events:",
        "/sessions/", "/sessions//x", "/healthz/", "/healthz/x", "/sessions/events/x/", "/{store}",
        "/sessions/{collection}", "/SESSIONS",
    ])
    func unknownPathIsNotFound(_ target: String) throws {
        let client = TestService.shared.client()
        for method in ["GET", "POST"] {
            let response = try client.call(method, target, json: method == "POST" ? "{}" : nil)
            RouteCheck.expectError(response, status: 404, code: "not_found")
        }
    }

    @Test(arguments: [
        RouteMethodCase("DELETE", "/healthz", ["GET", "HEAD"]),
        RouteMethodCase("POST", "/healthz", ["GET", "HEAD"]),
        RouteMethodCase("PUT", "/readyz", ["GET", "HEAD"]),
        RouteMethodCase("POST", "/openapi.json", ["GET", "HEAD"]),
        RouteMethodCase("POST", "/verify", ["GET", "HEAD"]),
        RouteMethodCase("POST", "/sessions", ["GET", "HEAD"]),
        RouteMethodCase("DELETE", "/customers", ["GET", "HEAD"]),
        RouteMethodCase("PATCH", "/sessions/events", ["GET", "HEAD", "POST", "PUT", "DELETE"]),
        RouteMethodCase("POST", "/variables/values/x", ["GET", "HEAD", "PATCH", "PUT", "DELETE"]),
        RouteMethodCase("GET", "/sessions/events:find", ["POST"]),
        RouteMethodCase("PUT", "/sessions/events:findOne", ["POST"]),
        RouteMethodCase("GET", "/sessions/events:updateOne", ["POST"]),
        RouteMethodCase("DELETE", "/sessions/events:deleteOne", ["POST"]),
        RouteMethodCase("GET", "/sessions/events:ensureIndexes", ["POST"]),
        RouteMethodCase("GET", "/sessions/events:quarantine", ["POST"]),
        RouteMethodCase("POST", "/sessions/events:failedMigrations", ["GET", "HEAD"]),
    ])
    func wrongMethodIsNotAllowed(_ test: RouteMethodCase) throws {
        let client = TestService.shared.client()
        let response = try client.call(test.method, test.target, json: test.method == "GET" ? nil : "{}")
        RouteCheck.expectError(response, status: 405, code: "method_not_allowed")
        let allow = try #require(response.header("Allow"), "405 without an Allow header")
        let listed = allow.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(Set(listed) == test.allowed, "Allow: \(allow)")
        #expect(listed.count == Set(listed).count, "Allow lists a method twice: \(allow)")
    }

    @Test func headAnswersAsGetWithoutABody() throws {
        let client = TestService.shared.client()
        let collection = "/sessions/\(TestService.uniqueCollection())"
        #expect(try client.call("PUT", "\(collection)/doc1", json: #"{"title": "head"}"#).status == 201)
        let targets = [
            "/healthz", "/openapi.json", "\(collection)/doc1", "\(collection)/missing", "\(collection)?limit=5",
        ]
        for target in targets {
            let get = try client.call("GET", target)
            let head = try client.call("HEAD", target)
            #expect(head.status == get.status, "HEAD \(target)")
            #expect(head.header("Content-Type") == get.header("Content-Type"), "HEAD \(target)")
            #expect(head.header("Content-Length") == String(get.body.count), "HEAD \(target)")
            // The same keep-alive connection answers the next request in step only if HEAD sent no body.
            #expect(try client.call("GET", "/healthz").object["status"] as? String == "ok", "after HEAD \(target)")
        }
        // An unlimited find is a stream: its answer to HEAD has no chunked framing (so not even the
        // last chunk follows the headers) and ends the connection. It must hand its database
        // connection back unread, every time: 48 is three times the shared service's pool.
        for _ in 0..<48 {
            let streamed = try client.call("HEAD", collection)
            #expect(streamed.status == 200)
            #expect(streamed.header("Transfer-Encoding") == nil)
            #expect(streamed.header("Connection")?.lowercased() == "close")
        }
        let port = TestService.shared.port
        let socket = try #require(RawSocket.connect(port: port))
        try socket.send(RawSocket.request("HEAD", collection, port: port))
        #expect(socket.receiveUntilClosed(timeout: 5) == .closed)
        let received = String(decoding: socket.received, as: UTF8.self)
        #expect(received.hasPrefix("HTTP/1.1 200") && received.hasSuffix("\r\n\r\n"), "\(received)")
        #expect(received.components(separatedBy: "\r\n\r\n").count == 2, "bytes after the headers: \(received)")
        #expect(try client.call("GET", "\(collection)/doc1").object["title"] as? String == "head")
        let unauthorized = try client.call("HEAD", "\(collection)/doc1", key: nil)
        #expect(unauthorized.status == 401)
        #expect(unauthorized.header("WWW-Authenticate") == "Bearer")
        let refused = try client.call("HEAD", "\(collection):find")
        #expect(refused.status == 405)
        #expect(refused.header("Allow") == "POST")
        #expect(try client.call("GET", "/healthz").status == 200, "the connection stays in step after a 405 to HEAD")
    }

    @Test(arguments: [
        "GET /sessions/Bad-Name", "GET /sessions/Events", "GET /sessions/1abc", "GET /sessions/_abc",
        "GET /sessions/failed_migrations", "GET /sessions/events_failed_migrations",
        "POST /sessions/x_failed_migrations", "PUT /sessions/x_failed_migrations", "GET /sessions/caf%C3%A9",
        "GET /sessions/a%20b", "GET /sessions/\(String(repeating: "a", count: 64))", "GET /sessions/Bad-Name/x",
        "PUT /sessions/Bad-Name/x", "POST /sessions/Bad-Name:find", "POST /customers/x_failed_migrations:updateOne",
        "GET /variables/BAD:failedMigrations", "DELETE /sessions/Bad-Name",
    ])
    func badCollectionNameIsRejected(_ request: String) throws {
        let parts = request.split(separator: " ", maxSplits: 1).map(String.init)
        let client = TestService.shared.client()
        let body = parts[0] == "GET" || parts[0] == "DELETE" ? nil : #"{"a": 1}"#
        let response = try client.call(parts[0], parts[1], json: body)
        RouteCheck.expectError(response, status: 400, code: "invalid_collection")
    }

    @Test func reservedCollectionNameCreatesNothing() throws {
        let client = TestService.shared.client()
        let owner = TestService.uniqueCollection()
        let reserved = "\(owner)_failed_migrations"
        RouteCheck.expectError(
            try client.call("POST", "/sessions/\(reserved)", json: #"{"a": 1}"#), status: 400,
            code: "invalid_collection")
        RouteCheck.expectError(try client.call("PUT", "/sessions/\(reserved)"), status: 400, code: "invalid_collection")
        RouteCheck.expectError(
            try client.call("PUT", "/sessions/\(reserved)/x", json: "{}"), status: 400, code: "invalid_collection")
        // That name is the failed-migrations table of `owner`, which must not exist yet.
        #expect(try !RouteCheck.tableExists(reserved))
        #expect(try !RouteCheck.tableExists(owner))
    }

    @Test func longestCollectionNameIsAccepted() throws {
        let client = TestService.shared.client()
        let unique = TestService.uniqueCollection()
        let name = unique + String(repeating: "a", count: 63 - unique.count)
        let empty = try client.call("GET", "/sessions/\(name)")
        #expect(empty.status == 200, "63 characters is allowed: \(empty.text)")
        let created = try client.call("PUT", "/sessions/\(name)/doc", json: #"{"a": 1}"#)
        #expect(created.status == 201, "\(created.text)")
        let read = try client.call("GET", "/sessions/\(name)/doc")
        #expect(read.status == 200)
        #expect(read.object["a"] as? Int == 1)
        RouteCheck.expectError(
            try client.call("GET", "/sessions/\(name)b"), status: 400, code: "invalid_collection")
    }

    // MARK: Operator routes

    @Test func healthz() throws {
        let response = try TestService.shared.client().call("GET", "/healthz", key: nil)
        #expect(response.status == 200)
        #expect(response.header("Content-Type")?.hasPrefix("application/json") == true)
        #expect(response.object["status"] as? String == "ok")
    }

    @Test func readyz() throws {
        let response = try TestService.shared.client().call("GET", "/readyz", key: nil)
        #expect(response.status == 200)
        #expect(response.header("Content-Type")?.hasPrefix("application/json") == true)
        #expect(response.object["status"] as? String == "ready", "\(response.text)")
    }

    @Test func openAPIDocument() throws {
        let response = try TestService.shared.client().call("GET", "/openapi.json", key: nil)
        #expect(response.status == 200)
        #expect(response.header("Content-Type")?.hasPrefix("application/json") == true)
        let document = try #require(response.json as? [String: Any], "not a JSON object: \(response.text)")
        #expect((document["openapi"] as? String)?.hasPrefix("3.1") == true)
        #expect(document["paths"] is [String: Any])
    }

    @Test func verifyReport() throws {
        let response = try TestService.shared.client().call("GET", "/verify")
        #expect(response.status == 200, "\(response.text)")
        #expect(response.header("Content-Type")?.hasPrefix("application/json") == true)
        let report = response.object
        #expect(Set(report.keys) == ["ok", "checks"], "\(response.text)")
        #expect(RouteCheck.isBool(report["ok"]) && report["ok"] as? Bool == true)
        let checks = try #require(report["checks"] as? [[String: Any]])
        #expect(!checks.isEmpty)
        for check in checks {
            #expect(Set(check.keys) == ["name", "ok", "detail", "ms"], "\(check)")
            #expect((check["name"] as? String)?.isEmpty == false)
            #expect(RouteCheck.isBool(check["ok"]) && check["ok"] as? Bool == true, "\(check)")
            #expect(check["detail"] is String)
            #expect(RouteCheck.isNumber(check["ms"]), "\(check)")
            #expect((check["ms"] as? NSNumber).map { $0.doubleValue >= 0 } == true, "\(check)")
        }
        #expect(Set(checks.compactMap { $0["name"] as? String }).count == checks.count, "check names are unique")
        #expect(!response.text.contains(TestService.key))
    }

    // MARK: Body limits (a second service accepting 4096 bytes)

    @Test func declaredBodyOverLimitIsRefused() throws {
        let service = RouteLimits.service
        let collection = TestService.uniqueCollection("big")
        let response = try service.client().call(
            "POST", "/sessions/\(collection)", json: RouteLimits.document(bytes: RouteLimits.limit + 1))
        RouteCheck.expectError(response, status: 413, code: "payload_too_large")
        #expect(try RouteCheck.rowCount(collection, service: service) == 0)
    }

    @Test func bodyAtLimitIsAccepted() throws {
        let service = RouteLimits.service
        let collection = TestService.uniqueCollection("big")
        let body = RouteLimits.document(bytes: RouteLimits.limit)
        #expect(body.utf8.count == RouteLimits.limit)
        let response = try service.client().call("POST", "/sessions/\(collection)", json: body)
        #expect(response.status == 201, "\(response.text)")
        #expect(try RouteCheck.rowCount(collection, service: service) == 1)
    }

    @Test func chunkedBodyOverLimitIsRefused() throws {
        let service = RouteLimits.service
        let collection = TestService.uniqueCollection("big")
        let client = service.client()
        let body = RouteLimits.document(bytes: RouteLimits.limit * 3)
        let response = try client.sendRaw(
            RouteLimits.chunkedRequest(port: service.port, target: "/sessions/\(collection)", body: body),
            method: "POST")
        RouteCheck.expectError(response, status: 413, code: "payload_too_large")
        #expect(try RouteCheck.rowCount(collection, service: service) == 0)
    }

    @Test func chunkedBodyUnderLimitIsAccepted() throws {
        let service = RouteLimits.service
        let collection = TestService.uniqueCollection("big")
        let body = RouteLimits.document(bytes: 3000)
        let response = try service.client().sendRaw(
            RouteLimits.chunkedRequest(port: service.port, target: "/sessions/\(collection)", body: body),
            method: "POST")
        #expect(response.status == 201, "\(response.text)")
        let stored = response.object
        #expect(RouteCheck.equal(stored["pad"], (RouteCheck.parse(body) as? [String: Any])?["pad"]))
        #expect(try RouteCheck.rowCount(collection, service: service) == 1)
    }

    @Test func oversizedUpdateWritesNothing() throws {
        let service = RouteLimits.service
        let collection = TestService.uniqueCollection("big")
        let client = service.client()
        let created = try client.call("PUT", "/sessions/\(collection)/doc", json: #"{"a": 1}"#)
        #expect(created.status == 201)
        let response = try service.client().call(
            "PATCH", "/sessions/\(collection)/doc", json: RouteLimits.document(bytes: RouteLimits.limit + 100))
        RouteCheck.expectError(response, status: 413, code: "payload_too_large")
        let stored = try service.client().call("GET", "/sessions/\(collection)/doc")
        #expect(stored.status == 200)
        #expect(stored.object["pad"] == nil, "the oversized patch was applied: \(stored.text)")
    }
}

/// A route of `Route.all` made concrete for a request.
struct RouteCase: Sendable, CustomTestStringConvertible {
    let method: String
    let template: String

    init(_ route: Route) {
        method = route.method
        template = route.template
    }

    var testDescription: String { "\(method) \(template)" }

    /// The method of a request expected to get past auth: HEAD for `:watch`, whose answer to GET streams
    /// until the client leaves (HEAD passes the same checks, then ends).
    var succeedingMethod: String { template.hasSuffix(":watch") ? "HEAD" : method }

    func target(collection: String) -> String {
        template.replacingOccurrences(of: "{store}", with: "sessions")
            .replacingOccurrences(of: "{collection}", with: collection)
            .replacingOccurrences(of: "{id}", with: "doc1")
    }

    /// An empty JSON object for the methods that carry a body.
    var body: [UInt8]? { ["POST", "PUT", "PATCH"].contains(method) ? Array("{}".utf8) : nil }
    var bodyHeaders: [(String, String)] { body == nil ? [] : [("Content-Type", "application/json")] }
}

/// A request with a method the path does not serve, and the methods it does.
struct RouteMethodCase: Sendable, CustomTestStringConvertible {
    let method: String
    let target: String
    let allowed: Set<String>

    init(_ method: String, _ target: String, _ allowed: Set<String>) {
        self.method = method
        self.target = target
        self.allowed = allowed
    }

    var testDescription: String { "\(method) \(target)" }
}

/// The second service, with a 4096-byte body limit.
enum RouteLimits {
    static let limit = 4096

    static let service: TestService = {
        do {
            return try TestService(label: "routes_limit", maxBodyBytes: limit, poolSize: 4)
        } catch {
            fatalError("cannot start the small-body test service: \(error)")
        }
    }()

    /// `{"pad":"xxx..."}` of exactly `bytes` bytes.
    static func document(bytes: Int) -> String {
        let overhead = #"{"pad":""}"#.utf8.count
        return #"{"pad":""# + String(repeating: "x", count: bytes - overhead) + #""}"#
    }

    /// A POST with `body` sent in 1000-byte chunks.
    static func chunkedRequest(port: Int, target: String, body: String) -> [UInt8] {
        var bytes = Array(
            """
            POST \(target) HTTP/1.1\r
            Host: 127.0.0.1:\(port)\r
            Authorization: Bearer \(TestService.key)\r
            Content-Type: application/json\r
            Transfer-Encoding: chunked\r
            \r

            """.utf8)
        let payload = Array(body.utf8)
        var start = 0
        while start < payload.count {
            let end = min(start + 1000, payload.count)
            bytes += Array("\(String(end - start, radix: 16))\r\n".utf8) + payload[start..<end] + Array("\r\n".utf8)
            start = end
        }
        bytes += Array("0\r\n\r\n".utf8)
        return bytes
    }
}

/// Checks shared by the route tests.
enum RouteCheck {
    /// An error answer: the status, the code, and exactly `{"error":{"code","message"}}` as JSON.
    static func expectError(
        _ response: HTTPClient.Response,
        status: Int,
        code: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(response.status == status, "body: \(response.text)", sourceLocation: sourceLocation)
        #expect(response.errorCode == code, "body: \(response.text)", sourceLocation: sourceLocation)
        expectErrorShape(response, sourceLocation: sourceLocation)
    }

    /// `{"error":{"code":"snake_case","message":"...","request_id":"<X-Request-Id>"}}`,
    /// `Content-Type: application/json`, no key.
    static func expectErrorShape(_ response: HTTPClient.Response, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(
            response.header("Content-Type")?.lowercased().hasPrefix("application/json") == true,
            "Content-Type: \(response.header("Content-Type") ?? "none")",
            sourceLocation: sourceLocation
        )
        let object = response.json as? [String: Any]
        #expect(object.map { Set($0.keys) } == ["error"], "body: \(response.text)", sourceLocation: sourceLocation)
        let error = object?["error"] as? [String: Any]
        #expect(
            error.map { Set($0.keys) } == ["code", "message", "request_id"], "body: \(response.text)",
            sourceLocation: sourceLocation)
        let requestID = error?["request_id"] as? String
        #expect(
            requestID != nil && requestID == response.header("X-Request-Id"),
            "request_id \(requestID ?? "none"), X-Request-Id \(response.header("X-Request-Id") ?? "none")",
            sourceLocation: sourceLocation)
        let code = error?["code"] as? String ?? ""
        #expect(
            code.range(of: "^[a-z][a-z0-9]*(_[a-z0-9]+)*$", options: .regularExpression) != nil,
            "code '\(code)' is not snake_case",
            sourceLocation: sourceLocation
        )
        let message = error?["message"] as? String ?? ""
        #expect(!message.isEmpty, "empty message", sourceLocation: sourceLocation)
        #expect(!response.text.contains(TestService.key), "the key is in the body", sourceLocation: sourceLocation)
    }

    /// Rows in the collection's table of the sessions store (0 when the table does not exist).
    static func rowCount(
        _ collection: String,
        store: Store = .sessions,
        failedMigrations: Bool = false,
        service: TestService = .shared
    ) throws -> Int {
        var table = tableName(store: store, collection: collection)
        if failedMigrations { table += "_failed_migrations" }
        let qualified = "\"\(service.schema)\".\"\(table)\""
        let exists = try TestPostgres.sql("SELECT to_regclass(\(bind: qualified)) IS NOT NULL")
        guard exists.first?.first == "t" else { return 0 }
        let rows = try TestPostgres.sql("SELECT count(*) FROM \(unsafeSQL: qualified)")
        return Int(rows.first?.first.flatMap { $0 } ?? "") ?? -1
    }

    /// Whether the collection's table exists.
    static func tableExists(_ collection: String, store: Store = .sessions, service: TestService = .shared) throws
        -> Bool
    {
        let qualified = "\"\(service.schema)\".\"\(tableName(store: store, collection: collection))\""
        return try TestPostgres.sql("SELECT to_regclass(\(bind: qualified)) IS NOT NULL").first?.first == "t"
    }

    /// SPEC section 3's table name, derived here independently of the service.
    static func tableName(store: Store, collection: String) -> String {
        let prefix = store.defaultTablePrefix
        let base = String(prefix.dropLast())
        return base.split(separator: "_").last.map(String.init) == collection ? base : prefix + collection
    }

    static func parse(_ text: String) -> Any? {
        try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
    }

    /// JSON text of a Foundation value.
    static func json(_ value: Any) -> String {
        let data = try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed, .sortedKeys])
        return String(decoding: data ?? Data(), as: UTF8.self)
    }

    /// Deep equality of parsed JSON values, keeping booleans apart from numbers.
    static func equal(_ lhs: Any?, _ rhs: Any?) -> Bool {
        switch (lhs, rhs) {
        case (nil, nil):
            return true
        case (let left as [String: Any], let right as [String: Any]):
            return Set(left.keys) == Set(right.keys) && left.allSatisfy { equal($0.value, right[$0.key]) }
        case (let left as [Any], let right as [Any]):
            return left.count == right.count && zip(left, right).allSatisfy { equal($0, $1) }
        case (let left as String, let right as String):
            return left == right
        case (is NSNull, is NSNull):
            return true
        case (let left as NSNumber, let right as NSNumber):
            return isBoolean(left) == isBoolean(right) && left == right
        default:
            return false
        }
    }

    private static func isBoolean(_ number: NSNumber) -> Bool {
        // JSONSerialization gives booleans as NSNumbers whose objCType is "c"; `is Bool` cannot tell them apart.
        String(cString: number.objCType) == "c"
    }

    /// Whether a parsed JSON value is `true` or `false` (not a number).
    static func isBool(_ value: Any?) -> Bool {
        (value as? NSNumber).map(isBoolean) ?? false
    }

    /// Whether a parsed JSON value is a number (not a boolean).
    static func isNumber(_ value: Any?) -> Bool {
        (value as? NSNumber).map { !isBoolean($0) } ?? false
    }

    /// POSTs one document and requires 201; returns the stored document.
    @discardableResult
    static func insert(
        _ client: HTTPClient,
        _ collection: String,
        _ document: [String: Any],
        store: String = "sessions",
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> [String: Any] {
        let response = try client.call("POST", "/\(store)/\(collection)", json: json(document))
        try #require(response.status == 201, "insert failed: \(response.text)", sourceLocation: sourceLocation)
        return response.object
    }

    /// `POST :find` with `body`; requires 200 and the find shape; returns the items and the whole answer.
    static func find(
        _ client: HTTPClient,
        _ collection: String,
        _ body: String? = "{}",
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> (items: [[String: Any]], page: [String: Any]) {
        let response = try client.call("POST", "/sessions/\(collection):find", json: body)
        try #require(response.status == 200, "find failed: \(response.text)", sourceLocation: sourceLocation)
        return try findShape(response, sourceLocation: sourceLocation)
    }

    /// `{"items":[...],"total_count":n,"has_more":b,"next_cursor":s|null}`.
    static func findShape(
        _ response: HTTPClient.Response,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> (items: [[String: Any]], page: [String: Any]) {
        let page = try #require(response.json as? [String: Any], "\(response.text)", sourceLocation: sourceLocation)
        #expect(
            Set(page.keys) == ["items", "total_count", "has_more", "next_cursor"],
            "\(response.text)",
            sourceLocation: sourceLocation
        )
        #expect(
            response.header("Content-Type")?.hasPrefix("application/json") == true, sourceLocation: sourceLocation)
        let items = try #require(page["items"] as? [[String: Any]], "\(response.text)", sourceLocation: sourceLocation)
        #expect(isBool(page["has_more"]), sourceLocation: sourceLocation)
        #expect(page["next_cursor"] is String || page["next_cursor"] is NSNull, sourceLocation: sourceLocation)
        #expect(isNumber(page["total_count"]), sourceLocation: sourceLocation)
        return (items, page)
    }

    /// `text` with the hex digits of its `%XX` escapes in lowercase.
    static func lowercasingEscapes(_ text: String) -> String {
        var result = ""
        var pending = 0
        for character in text {
            if character == "%" {
                pending = 2
                result.append(character)
            } else if pending > 0 {
                pending -= 1
                result += character.lowercased()
            } else {
                result.append(character)
            }
        }
        return result
    }

    /// An id as one percent-encoded path segment (only RFC 3986 unreserved characters kept).
    static func encode(_ id: String) -> String {
        let unreserved = CharacterSet(
            charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
        return id.addingPercentEncoding(withAllowedCharacters: unreserved) ?? id
    }
}
