import Foundation
import TestSupport
import Testing

@testable import DocumentService
@testable import DocumentStore

/// Many distinct large filters must not grow PostgreSQL's memory per connection without bound: their
/// statements are one-offs, sent unnamed rather than prepared and kept (issue of a probe: 256 filters took
/// one backend from 37 MiB to 1.27 GiB).
@Suite struct PreparedStatementMemoryTests {
    @Test func distinctLargeFiltersLeaveBackendMemoryBounded() throws {
        let application = "docstore_memory_\(UUID().uuidString.prefix(8).lowercased())"
        let service = try TestService(label: "prepared_memory", url: "\(TestPostgres.url)?application_name=\(application)")
        defer { service.application.stop() }
        let client = service.client()
        let path = "/sessions/\(TestService.uniqueCollection("memory"))"
        #expect(try client.call("POST", path, json: #"{"id": "d1"}"#).status == 201)
        for shape in 0..<256 {
            // 300 conditions over as many fields: nothing folds into an array, every statement differs.
            let conditions = (0..<300).map { #"{"f\#(shape)_\#($0)": {"$eq": "v"}}"# }.joined(separator: ",")
            let body = #"{"where": {"$or": [\#(conditions)]}, "limit": 1, "count": "exact"}"#
            #expect(try client.call("POST", "\(path):find", json: body).status == 200)
        }
        let backends = try TestPostgres.sql("SELECT pid FROM pg_stat_activity WHERE application_name = \(bind: application)")
        #expect(!backends.isEmpty)
        var largest = 0
        for row in backends {
            guard let pid = row.first.flatMap({ $0 }) else { continue }
            let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
            let kib = status.split(separator: "\n").first { $0.hasPrefix("RssAnon:") }
                .flatMap { Int($0.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") } ?? 0
            largest = max(largest, kib)
        }
        #expect(largest > 0, "no backend's RssAnon could be read")
        #expect(largest < 64 * 1024, "a backend of the service holds \(largest / 1024) MiB of its own memory")
    }
}
