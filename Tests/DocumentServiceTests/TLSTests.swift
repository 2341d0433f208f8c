import Foundation
import TestSupport
import Testing

@testable import DocumentService
@testable import DocumentStore

/// The service over TLS with `sslmode=verify-full` (SPEC section 7b), against a PostgreSQL whose
/// certificate a throwaway CA signed for `localhost`.
@Suite struct TLSTests {
    @Test func verifyFullWithTheCAWorks() throws {
        let url = "\(TestPostgres.tlsURL)?sslmode=verify-full&sslrootcert=\(TestPostgres.tlsCA)"
        let service = try TestService(label: "tls", url: url)
        defer { service.application.stop() }
        let client = service.client()
        let path = "/sessions/\(TestService.uniqueCollection("tls"))"
        #expect(try client.call("POST", path, json: #"{"id": "d1"}"#).status == 201)
        #expect(try client.call("GET", "\(path)/d1").status == 200)
        #expect(try client.call("GET", path).status == 200)
        let report = try client.call("GET", "/verify")
        let connection = (report.object["checks"] as? [[String: Any]])?.first { $0["name"] as? String == "connection" }
        #expect((connection?["detail"] as? String)?.contains("over TLS") == true, "\(report.text)")
    }

    @Test(arguments: [
        // A CA that did not sign the server's certificate.
        ("localhost", TestPostgres.otherCA, "certificate verify failed"),
        // A host name the certificate does not name.
        ("127.0.0.1", TestPostgres.tlsCA, "does not match host name"),
    ])
    func aWrongCAOrHostNameStopsTheServiceAtStartNamingTheCause(host: String, ca: String, cause: String) throws {
        let url = TestPostgres.tlsURL.replacingOccurrences(of: "@localhost:", with: "@\(host):")
        let result = try DocstoreCommand.run(
            ["serve"],
            environment: [
                "DATABASE_URL": "\(url)?sslmode=verify-full&sslrootcert=\(ca)", "SERVICE_KEY": TestService.key,
                "HOST": "127.0.0.1", "PORT": "0",
            ],
            timeout: 60)
        #expect(result.status == 2, "\(result.output)")
        #expect(result.stderr.contains(cause), "\(result.stderr)")
    }
}
