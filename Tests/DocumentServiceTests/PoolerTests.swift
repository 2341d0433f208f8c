import Foundation
import TestSupport
import Testing

@testable import DocumentService
@testable import DocumentStore

/// The service behind a transaction-mode pooler (PgBouncer, as Supavisor on 6543): session state does not
/// persist between transactions and a server connection serves many clients, so named prepared statements
/// and startup options must be off (SPEC section 7b).
@Suite struct PoolerTests {
    /// The pooler's URL and `DB_PREPARED_STATEMENTS`: the auto rule on the port it recognises, and `off`
    /// on one it does not.
    static let setups: [(url: String, prepared: String)] = [
        (TestPgBouncer.recognisedURL, "auto"), (TestPgBouncer.unrecognisedURL, "off"),
    ]

    /// The database settings the service reads from its environment for this pooler.
    static func settings(url: String, prepared: String) throws -> DatabaseSettings {
        try Configuration(environment: ["DATABASE_URL": url, "SERVICE_KEY": TestService.key, "DB_PREPARED_STATEMENTS": prepared])
            .database
    }

    @Test(arguments: [0, 1])
    func everyKindOfRequestWorksThroughThePooler(_ setup: Int) throws {
        let (url, prepared) = Self.setups[setup]
        let settings = try Self.settings(url: url, prepared: prepared)
        #expect(!settings.usesPreparedStatements && !settings.sendsServerTimeouts)
        #expect(settings.changeListening == .off, "LISTEN through a transaction pooler hears nothing")
        let service = try TestService(label: "pooler_\(prepared)", url: url) { database in
            let schema = database.schema
            database = settings
            database.schema = schema
        }
        defer { service.application.stop() }
        let client = service.client()
        let path = "/sessions/\(TestService.uniqueCollection("pooled"))"
        #expect(try client.call("PUT", path).status == 201)
        for index in 0..<20 {
            let document = #"{"id": "d\#(index)", "customer_id": "c\#(index % 2)", "creation_utc": "2026-01-01T00:00:\#(10 + index)Z"}"#
            #expect(try client.call("POST", path, json: document).status == 201)
        }
        #expect(try client.call("POST", path, json: #"[{"id": "a1"}, {"id": "a2"}]"#).status == 201)
        #expect(try client.call("GET", "\(path)/d3").object["id"] as? String == "d3")
        #expect(try client.call("PATCH", "\(path)/d3", json: #"{"seen": true}"#).object["seen"] as? Bool == true)
        #expect(try client.call("PUT", "\(path)/d4", json: #"{"id": "d4", "kind": "replaced"}"#).status == 200)
        let page = try client.call("GET", "\(path)?customer_id=eq.c1&limit=4")
        #expect((page.object["items"] as? [Any])?.count == 4)
        let cursor = try #require(page.object["next_cursor"] as? String)
        #expect((try client.call("GET", "\(path)?customer_id=eq.c1&limit=4&cursor=\(cursor)").object["items"] as? [Any])?.count == 4)
        #expect((try client.call("GET", path).object["items"] as? [Any])?.count == 22)
        #expect(
            try client.call("POST", "\(path):updateOne", json: #"{"where": {"id": "new"}, "params": {"x": 1}, "upsert": true}"#)
                .status == 200)
        #expect(try client.call("POST", "\(path):deleteOne", json: #"{"where": {"id": "new"}}"#).status == 200)
        #expect(try client.call("DELETE", "\(path)/d5").status == 200)
        #expect(try client.call("GET", "/readyz", key: nil).status == 200)
        #expect(try client.call("GET", "/verify").status == 200)

        // Many clients at once, so that server connections pass between them.
        let failures = ConcurrentResults()
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            let client = service.client()
            for round in 0..<40 {
                let id = "d\((worker + round) % 20)"
                let status =
                    round % 2 == 0
                    ? (try? client.call("GET", "\(path)/\(id)").status)
                    : (try? client.call("PATCH", "\(path)/\(id)", json: #"{"round": \#(round)}"#).status)
                if status != 200 && !(id == "d5" && status == 404) { failures.append("\(id): \(status.map(String.init) ?? "no answer")") }
            }
        }
        #expect(failures.all.isEmpty, "\(failures.all)")

        // The change feed without LISTEN: its reading every second finds the change.
        let stream = try EventStream(port: service.port, target: "\(path):watch?kind=eq.fed")
        defer { stream.close() }
        #expect(try client.call("POST", path, json: #"{"id": "fed", "kind": "fed"}"#).status == 201)
        #expect(stream.next()?.description == "upsert fed")
    }

    @Test func preparedStatementsOnThroughThePoolerFailAsTheREADMESays() throws {
        let schema = TestPostgres.uniqueSchema("pooler_on")
        defer { DocstoreCommand.dropSchema(schema) }
        let (process, port) = try ServiceProcess.serve(
            schema: schema, extra: ["DATABASE_URL": TestPgBouncer.recognisedURL, "DB_PREPARED_STATEMENTS": "on"])
        defer { process.signal(SIGKILL) }
        let path = "/sessions/\(TestService.uniqueCollection("pooled_on"))"
        #expect(try HTTPClient(port: port).call("PUT", path).status == 201)
        for index in 0..<10 {
            _ = try HTTPClient(port: port).call("POST", path, json: #"{"id": "d\#(index)"}"#)
        }
        let failures = ConcurrentResults()
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            let client = HTTPClient(port: port)
            for round in 0..<40 {
                if (try? client.call("GET", "\(path)/d\((worker + round) % 10)").status) != 200 { failures.append(String(worker)) }
            }
        }
        #expect(!failures.all.isEmpty, "prepared statements through a transaction pooler did not fail")
        // The README's troubleshooting row names these messages.
        let output = process.output
        #expect(
            output.contains("prepared statement \"docstore_p")
                && (output.contains("already exists") || output.contains("does not exist")),
            "\(output.suffix(2000))")
    }
}
