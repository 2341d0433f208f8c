import Foundation
import TestSupport
import Testing

@Suite struct SmokeTests {
    @Test func healthAndAuth() throws {
        let client = TestService.shared.client()
        #expect(try client.call("GET", "/healthz", key: nil).status == 200)
        let refused = try client.call("GET", "/sessions", key: nil)
        #expect(refused.status == 401)
        #expect(refused.header("WWW-Authenticate") == "Bearer")
        #expect(try client.call("GET", "/sessions").status == 200)
    }

    @Test func executableServesAndStopsOnSIGTERM() throws {
        let (process, port) = try ServiceProcess.serve(schema: TestPostgres.uniqueSchema("proc"))
        let client = HTTPClient(port: port)
        #expect(try client.call("GET", "/healthz", key: nil).status == 200)
        process.signal(SIGTERM)
        #expect(process.waitForExit() == 0)
    }
}
