import DocumentStore
import Metrics
import Synchronization

/// Gathers a scrape of the service's metrics: each event loop hands over what it counted (nothing is
/// shared while requests are counted), then the database's pools and the process's figures are read.
public final class ServiceMetrics: Sendable {
    private let executor: StoreExecutor
    /// The server whose requests are counted; weak, since the server's handler holds these metrics.
    private let server = Mutex<WeakServer>(WeakServer(server: nil))

    private struct WeakServer: Sendable {
        weak let server: HTTPServer?
    }

    public init(executor: StoreExecutor) {
        self.executor = executor
    }

    /// Counts `server`'s requests and connections from now on in every scrape.
    public func observe(_ server: HTTPServer) {
        self.server.withLock { $0 = WeakServer(server: server) }
    }

    /// The metrics now, in Prometheus' text format; `completion` runs on an event loop.
    func scrape(_ completion: @escaping @Sendable ([UInt8]) -> Void) {
        let executor = self.executor
        let gatherDatabase: @Sendable (HTTPMetrics.Snapshot) -> Void = { http in
            executor.gatherMetrics { database in
                completion(MetricsExposition(http: http, database: database, process: .current()).text.bytes)
            }
        }
        if let server = server.withLock({ $0.server }) {
            server.gatherMetrics(gatherDatabase)
        } else {
            gatherDatabase(HTTPMetrics.Snapshot())
        }
    }
}
