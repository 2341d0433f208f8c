import Testing

@testable import DocumentService
@testable import DocumentStore

@Suite("ServerConfiguration(environment:)")
struct ServerConfigurationTests {
    @Test("defaults: 0.0.0.0:8080, 1 MiB bodies, 10,000 connections, one loop per core, workers as the pool")
    func defaults() throws {
        let configuration = try ServerConfiguration(environment: [:])
        #expect(configuration.host == "0.0.0.0")
        #expect(configuration.port == 8080)
        #expect(configuration.maxBodyBytes == 1_048_576)
        #expect(configuration.connectionLimit == 10_000)
        #expect(configuration.connectionTimeoutSeconds == 30)
        #expect(configuration.shutdownGraceSeconds == 25)
        #expect(configuration.eventLoops == HTTPServer.defaultEventLoops)
        #expect(configuration.workerThreads == nil)
        #expect(configuration.longestWaitSeconds == 60)
        #expect(try ServerConfiguration(environment: ["PORT": "", "HOST": ""]).port == 8080, "empty counts as unset")
    }

    @Test("every variable is read")
    func everyVariable() throws {
        let configuration = try ServerConfiguration(
            environment: [
                "HOST": "127.0.0.1", "PORT": "9090", "MAX_BODY_BYTES": "2048", "CONNECTION_LIMIT": "50000",
                "CONNECTION_TIMEOUT": "7", "SHUTDOWN_GRACE_SECONDS": "0", "EVENT_LOOPS": "3", "WORKER_THREADS": "5",
                "WAIT_MAX_SECONDS": "20",
            ])
        #expect(configuration.host == "127.0.0.1")
        #expect(configuration.port == 9090)
        #expect(configuration.maxBodyBytes == 2048)
        #expect(configuration.connectionLimit == 50_000)
        #expect(configuration.connectionTimeoutSeconds == 7)
        #expect(configuration.shutdownGraceSeconds == 0)
        #expect(configuration.eventLoops == 3)
        #expect(configuration.workerThreads == 5)
        #expect(configuration.longestWaitSeconds == 20)
        let settings = configuration.httpSettings
        #expect((settings.host, settings.port, settings.maxBodyBytes, settings.eventLoops) == ("127.0.0.1", 9090, 2048, 3))
    }

    @Test(
        "an invalid number is a problem naming the variable",
        arguments: [
            ("PORT", "abc"), ("PORT", "65536"), ("PORT", "-1"), ("PORT", "80.5"), ("PORT", " 80"),
            ("PORT", "99999999999999999999999"), ("MAX_BODY_BYTES", "1023"), ("MAX_BODY_BYTES", "1e6"),
            ("CONNECTION_LIMIT", "0"), ("CONNECTION_LIMIT", "100001"), ("CONNECTION_TIMEOUT", "0"),
            ("SHUTDOWN_GRACE_SECONDS", "-1"), ("EVENT_LOOPS", "0"), ("EVENT_LOOPS", "65"), ("WORKER_THREADS", "0"),
            ("WAIT_MAX_SECONDS", "61"), ("WAIT_MAX_SECONDS", "-1"),
        ]
    )
    func invalidNumber(name: String, value: String) {
        do {
            _ = try ServerConfiguration(environment: [name: value])
            Issue.record("\(name)=\(value) was accepted")
        } catch {
            #expect(error.problems.count == 1)
            #expect(error.problems.first?.hasPrefix("\(name): must be a whole number from ") == true)
        }
    }

    @Test("numbers at the edges of their ranges are accepted")
    func edges() throws {
        let configuration = try ServerConfiguration(
            environment: ["PORT": "65535", "MAX_BODY_BYTES": "1024", "EVENT_LOOPS": "64"])
        #expect(configuration.port == 65535)
        #expect(configuration.maxBodyBytes == 1024)
        #expect(configuration.eventLoops == 64)
    }
}
