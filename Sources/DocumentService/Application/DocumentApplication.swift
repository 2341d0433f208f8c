import DocumentStore
import EventLoop

/// The whole service, assembled one way for `docstore serve` and for the tests: the database, the keys
/// in force, the worker threads, the API and the HTTP server over them.
public final class DocumentApplication: Sendable {
    public let database: DocumentDatabase
    public let keys: KeyRing
    public let workers: WorkerPool
    /// Hands committed changes to watchers; its `LISTEN` connection opens with the first watch.
    public let changes: ChangeHub
    public let server: HTTPServer
    /// The operator's server on `METRICS_PORT` (`/metrics`, `/healthz`, `/readyz`), when that is set.
    public let metricsServer: HTTPServer?

    /// Builds everything; nothing runs and no connection is opened until `start`.
    /// - Parameters:
    ///   - notify: hears of database work done in the background (index builds).
    public init(
        configuration: Configuration,
        server settings: ServerConfiguration,
        log: Log = Log(),
        notify: @escaping @Sendable (DatabaseNotice) -> Void = { _ in }
    ) throws(DocumentStoreError) {
        database = try DocumentDatabase(settings: configuration.database, notify: notify)
        keys = KeyRing(keys: configuration.accessKeys, file: configuration.keyFile, log: log)
        workers = WorkerPool(name: "workers", threads: settings.workerThreads ?? configuration.database.poolSize)
        let executor = StoreExecutor(
            database: database, workers: workers, connectionsPerLoop: settings.databaseConnectionsPerLoop,
            recordsMetrics: settings.metricsEnabled)
        let metrics = settings.metricsEnabled ? ServiceMetrics(executor: executor) : nil
        changes = ChangeHub(database: database)
        let api = DocumentAPI(
            database: database,
            configuration: configuration,
            keys: keys,
            workers: workers,
            executor: executor,
            changes: changes,
            longestWait: .seconds(settings.longestWaitSeconds),
            metrics: metrics,
            openAPIDocument: OpenAPIDocument.json,
            log: log
        )
        server = HTTPServer(settings: settings.httpSettings, handler: api, log: log)
        metrics?.observe(server)
        if let metrics, let metricsSettings = settings.metricsServerSettings {
            metricsServer = HTTPServer(
                settings: metricsSettings, handler: OperatorEndpoint(metrics: metrics, probes: api), log: log)
        } else {
            metricsServer = nil
        }
    }

    /// Starts the workers and the server, which then listens.
    public func start() throws(HTTPServerError) {
        workers.start()
        do {
            try server.start()
        } catch {
            workers.stop()
            throw error
        }
        do {
            try metricsServer?.start()
        } catch {
            server.stop()
            workers.stop()
            throw HTTPServerError("METRICS_PORT: \(error)")
        }
    }

    /// The port the server listens on, known after `start`.
    public var port: Int { server.port }

    /// Stops the server (closing every connection), lets the workers finish and closes the database.
    public func stop() {
        metricsServer?.stop()
        server.stop()
        changes.stop()
        workers.stop()
        database.close()
    }
}
