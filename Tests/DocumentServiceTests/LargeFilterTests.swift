import Foundation
import TestSupport
import Testing

@testable import DocumentService
@testable import DocumentStore

/// Filters of 100,000 clauses or values through the HTTP API (SPEC section 5, "Size"): bounded by the
/// body size only, and run as one statement with a bounded number of binds.
@Suite struct LargeFilterTests {
    /// A service that takes 8 MiB bodies, so that 100,000 `$eq` clauses fit.
    static let service: TestService = {
        do {
            return try TestService(label: "large_filters", maxBodyBytes: 8 << 20)
        } catch {
            fatalError("cannot start the large-filter service: \(error)")
        }
    }()

    /// A collection of 300 customers `p0`...`p299`.
    static func customers(_ client: HTTPClient) throws -> String {
        let collection = TestService.uniqueCollection("customers")
        let documents = (0..<300).map { #"{"id": "p\#($0)", "name": "n\#($0)"}"# }.joined(separator: ",")
        let created = try client.call("POST", "/customers/\(collection)", json: "[\(documents)]")
        #expect(created.status == 201, "\(created.text)")
        return collection
    }

    static func ids(_ response: HTTPClient.Response) -> Set<String> {
        Set(((response.object["items"] as? [[String: Any]]) ?? []).compactMap { $0["id"] as? String })
    }

    @Test func orOfOneHundredThousandIDsFindsTheMatches() throws {
        let client = Self.service.client()
        let collection = try Self.customers(client)
        // The 150 even customers, among 100,000 ids that mostly match nothing, as Parlant sends them.
        let wanted = (0..<100_000).map { $0 < 300 && $0 % 2 == 0 ? "p\($0)" : "x\($0)" }
        let clauses = wanted.map { #"{"id": {"$eq": "\#($0)"}}"# }.joined(separator: ",")
        let body = #"{"where": {"$or": [\#(clauses)]}}"#
        #expect(body.utf8.count > 1 << 20, "more than the default body limit: \(body.utf8.count) bytes")
        let found = try client.call("POST", "/customers/\(collection):find", json: body)
        #expect(found.status == 200, "\(found.text.prefix(300))")
        #expect(Self.ids(found) == Set(stride(from: 0, to: 300, by: 2).map { "p\($0)" }))
    }

    @Test func andOfOneHundredThousandNotEqualsKeepsTheRest() throws {
        let client = Self.service.client()
        let collection = try Self.customers(client)
        let excluded = (0..<100_000).map { $0 < 300 && $0 % 3 != 0 ? "p\($0)" : "x\($0)" }
        let clauses = excluded.map { #"{"id": {"$ne": "\#($0)"}}"# }.joined(separator: ",")
        let found = try client.call(
            "POST", "/customers/\(collection):find", json: #"{"where": {"$and": [\#(clauses)]}}"#)
        #expect(found.status == 200, "\(found.text.prefix(300))")
        #expect(Self.ids(found) == Set(stride(from: 0, to: 300, by: 3).map { "p\($0)" }))
    }

    @Test func oneHundredThousandInValuesFitTheDefaultBodyLimit() throws {
        let client = TestService.shared.client()
        let collection = try Self.customers(client)
        let values = (0..<100_000).map { $0 < 300 && $0 % 5 == 0 ? #""p\#($0)""# : "\($0)" }.joined(separator: ",")
        let body = #"{"where": {"id": {"$in": [\#(values)]}}, "limit": 1000}"#
        #expect(body.utf8.count < 1 << 20)
        let found = try client.call("POST", "/customers/\(collection):find", json: body)
        #expect(found.status == 200, "\(found.text.prefix(300))")
        #expect(Self.ids(found) == Set(stride(from: 0, to: 300, by: 5).map { "p\($0)" }))
        let excluded = try client.call(
            "POST", "/customers/\(collection):find", json: body.replacingOccurrences(of: "$in", with: "$nin"))
        #expect(Self.ids(excluded).count == 240)
    }

    @Test func moreThanAThousandConditionsOnDifferentFieldsAreStillRefused() throws {
        let client = Self.service.client()
        let fields = (0...1000).map { #"{"f\#($0)": 1}"# }.joined(separator: ",")
        let refused = try client.call("POST", "/customers/x:find", json: #"{"where": {"$or": [\#(fields)]}}"#)
        RouteCheck.expectError(refused, status: 400, code: "invalid_filter")
        #expect(refused.text.contains("1001 conditions"), "\(refused.text)")
    }
}
