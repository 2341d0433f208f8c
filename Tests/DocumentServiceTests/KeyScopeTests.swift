import Foundation
import TestSupport
import Testing

@testable import DocumentService
@testable import DocumentStore

/// Several keys, and scoped keys (`stores=...`, `access=read`), over real sockets (SPEC section 7, Auth).
@Suite struct KeyScopeTests {
    static let reader = "reader-key-0123456789"
    static let sessionsOnly = "sessions-key-0123456789"
    static let customersReader = "customers-reader-key-0123"

    /// A service with a full key, a read-only key, a key for the sessions store, and a read-only key for
    /// the customers store.
    static let service: TestService = {
        do {
            return try TestService(
                label: "scopes",
                keys: [
                    AccessKey(secret: TestService.key),
                    AccessKey(secret: reader, scope: KeyScope(readOnly: true)),
                    AccessKey(secret: sessionsOnly, scope: KeyScope(stores: [.sessions])),
                    AccessKey(secret: customersReader, scope: KeyScope(stores: [.customers], readOnly: true)),
                ])
        } catch {
            fatalError("cannot start the scoped-keys service: \(error)")
        }
    }()

    /// A request on `route` that succeeds with a full key, in `store`, on a collection holding `doc1`.
    struct Call: Sendable, CustomTestStringConvertible {
        let route: Route

        var testDescription: String { "\(route.method) \(route.template)" }

        /// The method of a request expected to succeed: the route's, but HEAD for `:watch`, whose answer
        /// to GET streams until the client leaves (HEAD passes the same checks, then ends).
        var succeedingMethod: String { route.operation == .watch ? "HEAD" : route.method }

        func target(store: Store, collection: String) -> String {
            route.template.replacingOccurrences(of: "{store}", with: store.rawValue)
                .replacingOccurrences(of: "{collection}", with: collection)
                .replacingOccurrences(of: "{id}", with: "doc1")
        }

        var json: String? {
            switch route.operation {
            case .insert: return #"{"id": "new"}"#
            case .mergeDocument: return #"{"x": 1}"#
            case .replaceDocument: return #"{"x": 2}"#
            case .findByBody, .findOne: return #"{"where": {"id": "doc1"}}"#
            case .updateOne: return #"{"where": {"id": "doc1"}, "params": {"x": 3}}"#
            case .deleteOne: return #"{"where": {"id": "doc1"}}"#
            case .ensureIndexes: return #"{"indexes": [{"fields": [["x", "asc"]]}]}"#
            case .quarantine: return #"{"ids": ["doc1"], "reason": "test"}"#
            default: return nil
            }
        }

        /// Makes a collection in `store` holding `doc1` (`{"x": 0}`), with the full key.
        static func prepare(_ client: HTTPClient, store: Store) throws -> String {
            let collection = TestService.uniqueCollection("scope")
            let created = try client.call("POST", "/\(store.rawValue)/\(collection)", json: #"{"id": "doc1", "x": 0}"#)
            #expect(created.status == 201, "\(created.text)")
            return collection
        }

        /// The collection's documents, read with the full key.
        static func documents(_ client: HTTPClient, store: Store, collection: String) throws -> String {
            try client.call("GET", "/\(store.rawValue)/\(collection)").text
        }
    }

    static let storeRoutes = Route.all.filter { $0.template.hasPrefix("/{store}") }.map(Call.init)
    static let writeRoutes = storeRoutes.filter { $0.route.operation.writes }
    static let readRoutes = storeRoutes.filter { !$0.route.operation.writes }

    @Test func writeRoutesAreNamedAsTheIssueListsThem() {
        #expect(Self.writeRoutes.count == 10)
        #expect(Self.readRoutes.count == 8)
    }

    @Test(arguments: writeRoutes)
    func readOnlyKeyGets403OnEveryWriteRouteAndChangesNothing(_ call: Call) throws {
        let client = Self.service.client()
        let collection = try Call.prepare(client, store: .sessions)
        let before = try Call.documents(client, store: .sessions, collection: collection)
        let target = call.target(store: .sessions, collection: collection)
        for key in [Self.reader, Self.customersReader] {
            let refused = try client.call(call.route.method, target, json: call.json, key: key)
            RouteCheck.expectError(refused, status: 403, code: "forbidden")
            #expect(!refused.text.contains(key))
        }
        #expect(try Call.documents(client, store: .sessions, collection: collection) == before, "nothing changed")
        let allowed = try client.call(call.route.method, target, json: call.json)
        #expect((200..<300).contains(allowed.status), "the same request with a full key: \(allowed.text)")
        let scopedWriter = try client.call(call.route.method, target, json: call.json, key: Self.sessionsOnly)
        #expect(scopedWriter.status != 403, "a key for the sessions store writes there: \(scopedWriter.text)")
    }

    @Test(arguments: readRoutes)
    func readOnlyKeyReadsOnEveryReadRoute(_ call: Call) throws {
        let client = Self.service.client()
        let collection = try Call.prepare(client, store: .sessions)
        let response = try client.call(
            call.succeedingMethod, call.target(store: .sessions, collection: collection), json: call.json, key: Self.reader)
        #expect((200..<300).contains(response.status), "\(response.text)")
    }

    @Test(arguments: storeRoutes)
    func storeScopedKeyGets403OnEveryOtherStore(_ call: Call) throws {
        let client = Self.service.client()
        for store in [Store.customers, .variables] {
            let collection = try Call.prepare(client, store: store)
            let before = try Call.documents(client, store: store, collection: collection)
            let refused = try client.call(
                call.route.method, call.target(store: store, collection: collection), json: call.json,
                key: Self.sessionsOnly)
            RouteCheck.expectError(refused, status: 403, code: "forbidden")
            #expect(refused.text.contains("may not use the \(store.rawValue) store"), "\(refused.text)")
            #expect(try Call.documents(client, store: store, collection: collection) == before)
        }
        let collection = try Call.prepare(client, store: .sessions)
        let inScope = try client.call(
            call.succeedingMethod, call.target(store: .sessions, collection: collection), json: call.json,
            key: Self.sessionsOnly)
        #expect((200..<300).contains(inScope.status), "\(inScope.text)")
        if !call.route.operation.writes {
            let customers = try Call.prepare(client, store: .customers)
            let read = try client.call(
                call.succeedingMethod, call.target(store: .customers, collection: customers), json: call.json,
                key: Self.customersReader)
            #expect((200..<300).contains(read.status), "a read in the key's own store: \(read.text)")
        }
    }

    @Test func aStoreScopeAppliesBeforeACollectionNameIsChecked() throws {
        let client = Self.service.client()
        let refused = try client.call("GET", "/customers/Bad-Name", key: Self.sessionsOnly)
        RouteCheck.expectError(refused, status: 403, code: "forbidden")
        let invalid = try client.call("GET", "/sessions/Bad-Name", key: Self.sessionsOnly)
        RouteCheck.expectError(invalid, status: 400, code: "invalid_collection")
    }

    @Test func verifyNeedsAKeyWithoutAScope() throws {
        let client = Self.service.client()
        for key in [Self.reader, Self.sessionsOnly, Self.customersReader] {
            let refused = try client.call("GET", "/verify", key: key)
            RouteCheck.expectError(refused, status: 403, code: "forbidden")
            #expect(refused.text.contains("needs a key without a scope"), "\(refused.text)")
        }
        #expect(try client.call("GET", "/verify").status != 403)
    }

    @Test func everyKeyOfTheListIsAcceptedAndNoOtherIs() throws {
        let client = Self.service.client()
        for key in [TestService.key, Self.reader, Self.sessionsOnly] {
            #expect(try client.call("GET", "/sessions", key: key).status == 200)
            #expect(try client.call("GET", "/sessions", key: nil, headers: [("apikey", key)]).status == 200)
        }
        for key in ["reader-key-012345678", Self.reader + "0", "nobody-key-0123456789"] {
            RouteCheck.expectError(try client.call("GET", "/sessions", key: key), status: 401, code: "unauthorized")
        }
        RouteCheck.expectError(
            try client.call("POST", "/sessions/x", json: "{}", key: nil), status: 401, code: "unauthorized")
    }

    @Test func twoDifferentValidKeysInOneRequestAreRefused() throws {
        let client = Self.service.client()
        // A read-only key in one header never borrows the full key's scope from the other, nor the reverse.
        for (bearer, apikey) in [(Self.reader, TestService.key), (TestService.key, Self.reader)] {
            let response = try client.call("GET", "/sessions", key: bearer, headers: [("apikey", apikey)])
            RouteCheck.expectError(response, status: 401, code: "unauthorized")
        }
        let same = try client.call("GET", "/sessions", key: Self.reader, headers: [("apikey", Self.reader)])
        #expect(same.status == 200)
    }
}
