import DocumentStore

/// What the HTTP server reads from the environment: where it listens, what it accepts, how many threads
/// serve, and how long a shutdown may take.
public struct ServerConfiguration: Sendable {
    /// The address to listen on (`HOST`, default `0.0.0.0`; `PORT`, default 8080).
    public var host: String
    public var port: Int
    /// The largest request body accepted, in bytes (`MAX_BODY_BYTES`, default 1 MiB).
    public var maxBodyBytes: Int
    /// Most client connections open at once (`CONNECTION_LIMIT`, default 10,000).
    public var connectionLimit: Int
    /// Most connections one client address may hold (`CONNECTION_LIMIT_PER_ADDRESS`, default 0: no cap,
    /// as behind a load balancer every client comes from its address).
    public var connectionLimitPerAddress: Int
    /// Seconds an idle client connection is kept (`CONNECTION_TIMEOUT`, default 30).
    public var connectionTimeoutSeconds: Int
    /// Seconds requests in flight get to finish on SIGTERM (`SHUTDOWN_GRACE_SECONDS`, default 25).
    public var shutdownGraceSeconds: Int
    /// Event loops serving connections (`EVENT_LOOPS`, default one per core).
    public var eventLoops: Int
    /// Threads doing the blocking database work of requests (`WORKER_THREADS`, default `DB_POOL_SIZE`).
    public var workerThreads: Int?
    /// The most PostgreSQL connections each event loop opens for requests, as they need them
    /// (`DB_LOOP_CONNECTIONS`, default 8; 0 sends every database operation to the workers).
    public var databaseConnectionsPerLoop: Int
    /// How log lines are written (`LOG_FORMAT`: `text`, the default, or `json`).
    public var logFormat: Log.Format
    /// Whether requests and database operations are counted and `GET /metrics` served (`METRICS`: `on`, the
    /// default, or `off`).
    public var metricsEnabled: Bool
    /// A second port, on `host`, serving `/metrics`, `/healthz` and `/readyz` without a key (`METRICS_PORT`;
    /// unset: none).
    public var metricsPort: Int?
    /// Seconds a request's headers may take to arrive after its request line (`HEADER_TIMEOUT`, default 10).
    public var headerTimeoutSeconds: Int
    /// The slowest average rate a body may arrive at after that, in bytes a second (`MIN_BODY_RATE`,
    /// default 1024; 0 for none).
    public var minimumBodyRate: Int
    /// The longest a find waits for a first match with `wait=S`, in seconds (`WAIT_MAX_SECONDS`,
    /// default 60); a longer `wait` is shortened to it. Below a load balancer's idle timeout, a long
    /// poll is answered before the balancer cuts it.
    public var longestWaitSeconds: Int

    public init(
        host: String = "0.0.0.0",
        port: Int = 8080,
        maxBodyBytes: Int = 1 << 20,
        connectionLimit: Int = 10_000,
        connectionTimeoutSeconds: Int = 30,
        shutdownGraceSeconds: Int = 25,
        eventLoops: Int = HTTPServer.defaultEventLoops,
        workerThreads: Int? = nil,
        databaseConnectionsPerLoop: Int = 8,
        logFormat: Log.Format = .text,
        metricsEnabled: Bool = true,
        metricsPort: Int? = nil,
        headerTimeoutSeconds: Int = 10,
        minimumBodyRate: Int = 1024,
        connectionLimitPerAddress: Int = 0,
        longestWaitSeconds: Int = 60
    ) {
        self.host = host
        self.port = port
        self.maxBodyBytes = maxBodyBytes
        self.connectionLimit = connectionLimit
        self.connectionTimeoutSeconds = connectionTimeoutSeconds
        self.shutdownGraceSeconds = shutdownGraceSeconds
        self.eventLoops = eventLoops
        self.workerThreads = workerThreads
        self.databaseConnectionsPerLoop = databaseConnectionsPerLoop
        self.logFormat = logFormat
        self.metricsEnabled = metricsEnabled
        self.metricsPort = metricsPort
        self.headerTimeoutSeconds = headerTimeoutSeconds
        self.minimumBodyRate = minimumBodyRate
        self.connectionLimitPerAddress = connectionLimitPerAddress
        self.longestWaitSeconds = longestWaitSeconds
    }

    /// Reads the variables; every problem found is reported, one line each naming the variable.
    public init(environment: [String: String]) throws(ConfigurationError) {
        var reader = EnvironmentReader(environment: environment)
        let logFormat = Log.Format(rawValue: reader.string("LOG_FORMAT", default: "text"))
        if logFormat == nil { reader.report("LOG_FORMAT: must be text or json") }
        let metrics = reader.string("METRICS", default: "on")
        if metrics != "on" && metrics != "off" { reader.report("METRICS: must be on or off") }
        let metricsPort =
            reader.value("METRICS_PORT") == nil ? nil : reader.integer("METRICS_PORT", default: 9090, in: 0...65535)
        if metricsPort != nil && metrics == "off" { reader.report("METRICS_PORT: set, but METRICS is off") }
        self.init(
            host: reader.string("HOST", default: "0.0.0.0"),
            port: reader.integer("PORT", default: 8080, in: 0...65535),
            maxBodyBytes: reader.integer("MAX_BODY_BYTES", default: 1 << 20, in: 1024...(64 << 20)),
            connectionLimit: reader.integer("CONNECTION_LIMIT", default: 10_000, in: 1...100_000),
            connectionTimeoutSeconds: reader.integer("CONNECTION_TIMEOUT", default: 30, in: 1...3600),
            shutdownGraceSeconds: reader.integer("SHUTDOWN_GRACE_SECONDS", default: 25, in: 0...3600),
            eventLoops: reader.integer("EVENT_LOOPS", default: HTTPServer.defaultEventLoops, in: 1...64),
            workerThreads: reader.value("WORKER_THREADS") == nil
                ? nil : reader.integer("WORKER_THREADS", default: 10, in: 1...500),
            databaseConnectionsPerLoop: reader.integer("DB_LOOP_CONNECTIONS", default: 8, in: 0...64),
            logFormat: logFormat ?? .text,
            metricsEnabled: metrics != "off",
            metricsPort: metricsPort,
            headerTimeoutSeconds: reader.integer("HEADER_TIMEOUT", default: 10, in: 1...300),
            minimumBodyRate: reader.integer("MIN_BODY_RATE", default: 1024, in: 0...(1 << 30)),
            connectionLimitPerAddress: reader.integer("CONNECTION_LIMIT_PER_ADDRESS", default: 0, in: 0...100_000),
            longestWaitSeconds: reader.integer("WAIT_MAX_SECONDS", default: 60, in: 0...60)
        )
        guard reader.problems.isEmpty else { throw ConfigurationError(problems: reader.problems) }
    }

    /// The server's settings.
    public var httpSettings: HTTPServer.Settings {
        HTTPServer.Settings(
            host: host,
            port: port,
            maxBodyBytes: maxBodyBytes,
            connectionLimit: connectionLimit,
            connectionTimeoutSeconds: connectionTimeoutSeconds,
            eventLoops: eventLoops,
            recordsMetrics: metricsEnabled,
            headerTimeout: .seconds(headerTimeoutSeconds),
            minimumBodyRate: minimumBodyRate,
            connectionLimitPerAddress: connectionLimitPerAddress
        )
    }

    /// The settings of the server on `metricsPort`: one loop, a few connections, no body.
    public var metricsServerSettings: HTTPServer.Settings? {
        metricsPort.map { port in
            HTTPServer.Settings(
                host: host, port: port, maxBodyBytes: 1024, connectionLimit: 64,
                connectionTimeoutSeconds: connectionTimeoutSeconds, eventLoops: 1, recordsMetrics: false)
        }
    }
}
