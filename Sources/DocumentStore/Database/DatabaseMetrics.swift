import Metrics

/// What the database side of the service has done, as one scrape sees it: collection operations and how
/// long they took, their failures, each set of connections, and connection attempts.
public struct DatabaseMetrics: Sendable {
    /// One set of connections, as it is now.
    public struct Pool: Sendable {
        /// `blocking` (the workers' pool), `loop` (the event loops' pipelines, summed) or `stream` (streamed
        /// finds).
        public var name: String
        /// The most connections it may open.
        public var size: Int
        public var open: Int
        /// Connections carrying a request or a stream now.
        public var busy: Int
        /// Requests (or streams) waiting for one of its connections.
        public var waiting: Int
    }

    /// Durations of finished collection operations, by operation (`get`, `find`, `insert`, ...).
    public var operations: [String: DurationHistogram] = [:]
    /// Operations that failed in PostgreSQL or on the way to it, by SQLSTATE class (`23`, `57`, ...);
    /// `08`, PostgreSQL's class for connection exceptions, also counts connections that could not be
    /// opened or broke.
    public var errorsByClass: [String: Int] = [:]
    /// Operations that failed because no connection became free within `DB_POOL_TIMEOUT_MS`.
    public var poolTimeouts = 0
    public var pools: [Pool] = []
    /// Connections opened for requests, first ones and reconnects alike.
    public var connectsSucceeded = 0
    /// Attempts to open a connection that failed.
    public var connectsFailed = 0
    /// Open connections found broken (PostgreSQL restarted, the network dropped them).
    public var connectionsLost = 0

    mutating func add(_ loop: LoopOperationMetrics.Snapshot) {
        for (name, histogram) in loop.operations { operations[name, default: DurationHistogram()].add(histogram) }
        for (errorClass, count) in loop.errorsByClass { errorsByClass[errorClass, default: 0] += count }
        poolTimeouts += loop.poolTimeouts
    }
}

/// The operations of one event loop, counted on that loop alone, so that recording takes no lock.
final class LoopOperationMetrics {
    struct Snapshot: Sendable {
        var operations: [String: DurationHistogram] = [:]
        var errorsByClass: [String: Int] = [:]
        var poolTimeouts = 0
    }

    private(set) var snapshot = Snapshot()

    /// Counts one finished operation; `error` is its failure, if it failed.
    func record(_ operation: String, _ duration: Duration, error: DocumentStoreError?) {
        snapshot.operations[operation, default: DurationHistogram()].record(duration)
        switch error?.cause {
        case .server(let state)?:
            snapshot.errorsByClass[String(state.prefix(2)), default: 0] += 1
        case .connectFailed?, .connectionLost?:
            snapshot.errorsByClass["08", default: 0] += 1
        case .deadlineExceeded?:
            // Given up on by the service, as PostgreSQL's own cancellation (57014) would have.
            snapshot.errorsByClass["57", default: 0] += 1
        case .poolTimeout?:
            snapshot.poolTimeouts += 1
        case .poolClosed?, .invalidParameter?, .abandoned?, nil:
            break
        }
    }
}
