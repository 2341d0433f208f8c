import Foundation
import Metrics
import TestSupport
import Testing

@testable import DocumentService
@testable import DocumentStore

/// `GET /metrics` (SPEC section 7b) over real sockets: counters that follow a known mix of requests, a
/// scrape that `promtool` accepts, the key rules of both ports, and labels that never hold request data.
@Suite(.serialized) struct MetricsTests {
    static let readOnlyKey = "metrics-reader-key-0123456789"

    /// A service of its own, so that no other suite's requests move its counters (and the suite's tests run
    /// one at a time for the same reason), with a key-less metrics port.
    static let service: TestService = {
        do {
            return try TestService(
                label: "metrics",
                keys: [AccessKey(secret: TestService.key), AccessKey(secret: readOnlyKey, scope: KeyScope(readOnly: true))],
                metricsPort: 0)
        } catch {
            fatalError("cannot start the metrics test service: \(error)")
        }
    }()

    @Test func countersFollowAKnownMixOfRequests() throws {
        let service = Self.service
        let client = service.client()
        let collection = TestService.uniqueCollection("metrics")
        let path = "/sessions/\(collection)"
        #expect(try client.call("PUT", path).status == 201)
        let unique = #"{"indexes": [{"fields": [["email", "asc"]], "unique": true}]}"#
        #expect(try client.call("POST", "\(path):ensureIndexes", json: unique).status == 200)
        let before = try Scrape(client.call("GET", "/metrics"))

        for index in 1...3 {
            #expect(try client.call("POST", path, json: #"{"id": "doc\#(index)"}"#).status == 201)
        }
        #expect(try client.call("POST", path, json: #"{"id": "doc1"}"#).status == 409)
        #expect(try client.call("PATCH", "\(path)/doc1", json: #"{"email": "a@example.com"}"#).status == 200)
        #expect(try client.call("PATCH", "\(path)/doc2", json: #"{"email": "a@example.com"}"#).status == 409)
        #expect(try client.call("GET", "\(path)/doc1").status == 200)
        #expect(try client.call("GET", "\(path)/doc2").status == 200)
        #expect(try client.call("GET", "\(path)/missing").status == 404)
        #expect(try client.call("PATCH", "\(path)/doc3", json: #"{"title": "x"}"#).status == 200)
        #expect(try client.call("GET", "\(path)?limit=2").status == 200)
        #expect(try client.call("GET", path, key: nil).status == 401)
        let after = try Scrape(client.call("GET", "/metrics"))

        let requests = "docstore_http_requests_total"
        let document = "/{store}/{collection}/{id}"
        let collectionRoute = "/{store}/{collection}"
        func delta(_ name: String, _ labels: [String: String]) -> Double {
            after.value(name, labels) - before.value(name, labels)
        }
        #expect(delta(requests, ["route": collectionRoute, "method": "POST", "status": "201"]) == 3)
        #expect(delta(requests, ["route": collectionRoute, "method": "POST", "status": "409"]) == 1)
        #expect(delta(requests, ["route": document, "method": "GET", "status": "200"]) == 2)
        #expect(delta(requests, ["route": document, "method": "GET", "status": "404"]) == 1)
        #expect(delta(requests, ["route": document, "method": "PATCH", "status": "200"]) == 2)
        #expect(delta(requests, ["route": document, "method": "PATCH", "status": "409"]) == 1)
        #expect(delta(requests, ["route": collectionRoute, "method": "GET", "status": "200"]) == 1)
        #expect(delta(requests, ["route": collectionRoute, "method": "GET", "status": "401"]) == 1)
        // The first scrape finished before the second began.
        #expect(delta(requests, ["route": "/metrics", "method": "GET", "status": "200"]) == 1)
        #expect(
            delta("docstore_http_request_duration_seconds_count", ["route": document, "method": "GET"]) == 3)
        #expect(
            delta(
                "docstore_http_request_duration_seconds_bucket", ["route": document, "method": "GET", "le": "+Inf"])
                == 3)

        let operations = "docstore_db_operation_duration_seconds_count"
        #expect(delta(operations, ["operation": "insert"]) == 4)
        #expect(delta(operations, ["operation": "get"]) == 3)
        #expect(delta(operations, ["operation": "merge"]) == 3)
        #expect(delta(operations, ["operation": "find"]) == 1)
        // The merge that breaks the unique index: SQLSTATE 23505. (A duplicate id is found without an error.)
        #expect(delta("docstore_db_errors_total", ["sqlstate_class": "23"]) == 1)

        #expect(after.value("docstore_http_connections_open", [:]) >= 1, "this client's connection is open")
        #expect(after.value("docstore_db_pool_open_connections", ["pool": "loop"]) >= 1)
        #expect(after.value("docstore_db_pool_size", ["pool": "blocking"]) == 16)
        #expect(after.value("docstore_db_connects_total", ["result": "success"]) >= 1)
        #expect(after.value("docstore_build_info", ["version": BuildInfo.version, "commit": BuildInfo.commit]) == 1)
        #expect(after.value("process_resident_memory_bytes", [:]) > 1_048_576)
        #expect(after.value("process_open_fds", [:]) >= 3)
        #expect(after.value("process_cpu_seconds_total", [:]) > 0)
        let started = after.value("process_start_time_seconds", [:])
        let now = Date().timeIntervalSince1970
        #expect(started > now - 86_400 && started <= now, "\(started) is not a start time of this process")
    }

    @Test func everyLinePassesPromtool() throws {
        let service = Self.service
        let client = service.client()
        let collection = TestService.uniqueCollection("promtool")
        #expect(try client.call("POST", "/customers/\(collection)", json: #"{"id": "c1"}"#).status == 201)
        #expect(try client.call("GET", "/customers/\(collection)/c1").status == 200)
        let response = try client.call("GET", "/metrics")
        #expect(response.status == 200)
        #expect(response.header("Content-Type") == PrometheusText.contentType)
        let exposition = String(decoding: response.body, as: UTF8.self)
        let (status, output) = try PipedTool.run("/usr/bin/promtool", ["check", "metrics"], input: exposition)
        #expect(status == 0, "promtool check metrics: \(output)")
        #expect(!output.contains("problem"), "\(output)")
    }

    @Test func theMainPortWantsAFullKeyAndTheMetricsPortNone() throws {
        let service = Self.service
        let keyless = try service.client().call("GET", "/metrics", key: nil)
        #expect(keyless.status == 401)
        #expect(keyless.header("WWW-Authenticate") == "Bearer")
        #expect(!String(decoding: keyless.body, as: UTF8.self).contains("docstore_"))
        let scoped = try service.client().call("GET", "/metrics", key: Self.readOnlyKey)
        #expect(scoped.status == 403)

        let metricsPort = try #require(service.application.metricsServer).port
        #expect(metricsPort != service.port)
        let open = HTTPClient(port: metricsPort)
        let scraped = try open.call("GET", "/metrics", key: nil)
        #expect(scraped.status == 200)
        #expect(String(decoding: scraped.body, as: UTF8.self).contains("docstore_http_requests_total"))
        #expect(try open.call("HEAD", "/metrics", key: nil).status == 200)
        // That port serves the probes too, and nothing else.
        #expect(try open.call("GET", "/healthz", key: nil).status == 200)
        #expect(try open.call("GET", "/readyz", key: nil).status == 200)
        #expect(try open.call("GET", "/sessions/events", key: nil).status == 404)
        #expect(try open.call("GET", "/openapi.json", key: nil).status == 404)
        let posted = try open.call("POST", "/metrics", key: nil)
        #expect(posted.status == 405)
        #expect(posted.header("Allow") == "GET, HEAD")
    }

    @Test func labelsNeverHoldIdsFilterValuesOrKeys() throws {
        let service = Self.service
        let client = service.client()
        let collection = TestService.uniqueCollection("labels")
        let secretID = "zq-secret-id-4411"
        let secretValue = "zq-filter-value-7302"
        #expect(try client.call("POST", "/sessions/\(collection)", json: #"{"id": "\#(secretID)"}"#).status == 201)
        #expect(try client.call("GET", "/sessions/\(collection)/\(secretID)").status == 200)
        #expect(try client.call("GET", "/sessions/\(collection)?title=eq.\(secretValue)").status == 200)
        #expect(try client.call("GET", "/sessions/\(collection)/x", key: "zq-wrong-key-9911").status == 401)
        #expect(try client.call("GET", "/nope/\(secretID)").status == 404)
        #expect(try client.send("BREW", "/sessions/\(collection)", headers: []).status >= 400)
        let exposition = String(decoding: try client.call("GET", "/metrics").body, as: UTF8.self)
        for secret in [secretID, secretValue, collection, "zq-wrong-key", TestService.key, "BREW"] {
            #expect(!exposition.contains(secret), "\(secret) leaked into the metrics")
        }
    }

    @Test func metricsOffAnswersNotFound() throws {
        let service = try TestService(label: "metrics_off", metricsEnabled: false)
        defer { service.application.stop() }
        let response = try service.client().call("GET", "/metrics")
        #expect(response.status == 404)
        #expect(String(decoding: response.body, as: UTF8.self).contains("METRICS=off"))
    }

    @Test func theMetricsVariablesAreChecked() throws {
        let on = try ServerConfiguration(environment: ["METRICS_PORT": "9464"])
        #expect(on.metricsEnabled && on.metricsPort == 9464)
        #expect(try ServerConfiguration(environment: [:]).metricsPort == nil)
        #expect(throws: ConfigurationError.self) { try ServerConfiguration(environment: ["METRICS": "maybe"]) }
        #expect(throws: ConfigurationError.self) {
            try ServerConfiguration(environment: ["METRICS": "off", "METRICS_PORT": "9464"])
        }
        #expect(throws: ConfigurationError.self) { try ServerConfiguration(environment: ["METRICS_PORT": "99999"]) }
    }

    @Test func histogramsAndLabelValuesAreWrittenAsPrometheusReadsThem() {
        var histogram = DurationHistogram()
        histogram.record(.microseconds(300))
        histogram.record(.milliseconds(3))
        histogram.record(.seconds(30))
        var text = PrometheusText()
        text.family("x_seconds", .histogram, help: "A test.\nSecond line \\ here.")
        text.histogram("x_seconds", histogram, labels: [("route", "a\"b\\c\nd")])
        let written = String(decoding: text.bytes, as: UTF8.self)
        #expect(written.contains(#"# HELP x_seconds A test.\nSecond line \\ here."#))
        #expect(written.contains(#"x_seconds_bucket{route="a\"b\\c\nd",le="0.0005"} 1"#))
        #expect(written.contains(#"x_seconds_bucket{route="a\"b\\c\nd",le="0.005"} 2"#))
        #expect(written.contains(#"x_seconds_bucket{route="a\"b\\c\nd",le="10"} 2"#))
        #expect(written.contains(#"x_seconds_bucket{route="a\"b\\c\nd",le="+Inf"} 3"#))
        #expect(written.contains(#"x_seconds_count{route="a\"b\\c\nd"} 3"#))
        #expect(written.contains(#"x_seconds_sum{route="a\"b\\c\nd"} 30.0033"#))
    }
}

/// One scrape, parsed: every sample by its name and labels.
struct Scrape {
    private var samples: [String: Double] = [:]

    init(_ response: HTTPClient.Response) throws {
        #expect(response.status == 200)
        for line in String(decoding: response.body, as: UTF8.self).split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else {
                Issue.record("not a sample line: \(line)")
                continue
            }
            let series = line[..<space]
            let name = series.prefix { $0 != "{" }
            var labels: [String: String] = [:]
            if let open = series.firstIndex(of: "{") {
                for pair in series[series.index(after: open)..<series.index(before: series.endIndex)]
                    .split(separator: "\",")
                {
                    let parts = pair.split(separator: "=", maxSplits: 1)
                    labels[String(parts[0])] = String(parts[1].drop { $0 == "\"" }.trimmingCharacters(in: ["\""]))
                }
            }
            samples[Self.key(String(name), labels)] = value
        }
    }

    /// The sample's value; 0 when the scrape does not have it (a counter not yet incremented).
    func value(_ name: String, _ labels: [String: String]) -> Double {
        samples[Self.key(name, labels)] ?? 0
    }

    private static func key(_ name: String, _ labels: [String: String]) -> String {
        name + "{" + labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",") + "}"
    }
}
