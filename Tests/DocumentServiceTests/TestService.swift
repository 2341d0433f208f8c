import Foundation
import TestSupport

@testable import DocumentService
@testable import DocumentStore

/// A real server on a free loopback port, in this test process, over a PostgreSQL schema of its own.
final class TestService: Sendable {
    static let key = "test-service-key-0123456789"
    /// The first 8 hex digits of the key's SHA-256 (`printf %s <key> | sha256sum`).
    static let keyFingerprint = "b4f5dc88"

    /// The server most suites share; each test uses collections of its own in it.
    static let shared: TestService = {
        do {
            return try TestService(label: "http")
        } catch {
            fatalError("cannot start the test service: \(error)")
        }
    }()

    let port: Int
    let schema: String
    let application: DocumentApplication
    var database: DocumentDatabase { application.database }
    var server: HTTPServer { application.server }

    /// A server like `shared` over a database whose collation is en_US.UTF-8, as many production databases
    /// are, for the tests of order.
    static let english: TestService = {
        do {
            return try TestService(label: "http_en", url: TestPostgres.englishCollationURL)
        } catch {
            fatalError("cannot start the en_US test service: \(error)")
        }
    }()

    /// `shared`, or `english` for `en_US.UTF-8`.
    static func on(collation: String) -> TestService {
        collation == "en_US.UTF-8" ? english : shared
    }

    /// The collations `on(collation:)` serves.
    static let collations = ["C.UTF-8", "en_US.UTF-8"]

    /// Built by `DocumentApplication`, as `docstore serve` builds it.
    init(
        label: String,
        url: String = TestPostgres.url,
        maxBodyBytes: Int = 1 << 20,
        poolSize: Int = 16,
        keys: [AccessKey] = [AccessKey(secret: TestService.key)],
        metricsEnabled: Bool = true,
        metricsPort: Int? = nil,
        connectionsPerLoop: Int = 8,
        eventLoops: Int = HTTPServer.defaultEventLoops,
        headerTimeoutSeconds: Int = 10,
        connectionLimitPerAddress: Int = 0,
        connectionLimit: Int = 4096,
        database adjust: (inout DatabaseSettings) -> Void = { _ in }
    ) throws {
        schema = TestPostgres.uniqueSchema(label)
        var database = DatabaseSettings(conninfo: url, schema: schema, poolSize: poolSize)
        adjust(&database)
        application = try DocumentApplication(
            configuration: Configuration(database: database, accessKeys: keys),
            server: ServerConfiguration(
                host: "127.0.0.1",
                port: 0,
                maxBodyBytes: maxBodyBytes,
                connectionLimit: connectionLimit,
                connectionTimeoutSeconds: 60,
                eventLoops: eventLoops,
                databaseConnectionsPerLoop: connectionsPerLoop,
                metricsEnabled: metricsEnabled,
                metricsPort: metricsPort,
                headerTimeoutSeconds: headerTimeoutSeconds,
                connectionLimitPerAddress: connectionLimitPerAddress
            ),
            log: .silent
        )
        try application.start()
        port = application.port
    }

    /// A new keep-alive connection to the server.
    func client() -> HTTPClient {
        HTTPClient(port: port)
    }

    /// A collection name no other test uses.
    static func uniqueCollection(_ label: String = "c") -> String {
        "\(label)_\(UUID().uuidString.prefix(8).lowercased())"
    }
}

extension TestPostgres {
    /// Runs SQL on a connection of its own and returns the rows as text.
    @discardableResult
    static func sql(_ query: SQLQuery) throws -> [[String?]] {
        let connection = try PostgresConnection(conninfo: url, connectTimeoutSeconds: 5, usesPreparedStatements: false)
        return try connection.query(query).rows
    }
}

extension HTTPClient {
    /// A request with the service key (unless `key` is nil) and, when `json` is given, a JSON body.
    func call(
        _ method: String,
        _ target: String,
        json: String? = nil,
        key: String? = TestService.key,
        headers: [(String, String)] = []
    ) throws -> Response {
        var all = headers
        if let key { all.append(("Authorization", "Bearer \(key)")) }
        if json != nil { all.append(("Content-Type", "application/json")) }
        return try send(method, target, headers: all, body: json.map { Array($0.utf8) })
    }
}
