import EventLoop
import Synchronization

/// Runs collection operations for code on an event loop, without ever blocking it: statements go down
/// the loop's own nonblocking connections (point reads, inserts and merges that wait together coalesced
/// into one statement per collection and kind), and what must block (making a collection's tables, a transaction, several round
/// trips, or any operation while the loop has no open connection) runs on `workers`. Unlimited finds
/// stream on connections of their own. Completions run on the loop, which also counts the operations for
/// the metrics.
public final class StoreExecutor: Sendable {
    private let database: DocumentDatabase
    private let workers: WorkerPool
    private let connectionsPerLoop: Int
    private let recordsMetrics: Bool
    /// Every loop this executor has served (what it keeps there is the loop's own, released when it stops).
    private let loops = Mutex<[EventLoop]>([])

    /// What the executor keeps on one event loop; touched on that loop only.
    private final class LoopState {
        let metrics = LoopOperationMetrics()
        var pipeline: LoopPipeline?
    }

    /// - Parameters:
    ///   - connectionsPerLoop: the most connections each event loop opens, as requests need them (0: every
    ///     operation runs on `workers`).
    ///   - recordsMetrics: whether operations are counted for `gatherMetrics` (`METRICS=off` turns it off).
    public init(database: DocumentDatabase, workers: WorkerPool, connectionsPerLoop: Int, recordsMetrics: Bool = true) {
        self.database = database
        self.workers = workers
        self.connectionsPerLoop = connectionsPerLoop
        self.recordsMetrics = recordsMetrics
    }

    private func state(on loop: EventLoop) -> LoopState {
        loop.local(ObjectIdentifier(self)) {
            loops.withLock { $0.append(loop) }
            return LoopState()
        }
    }

    /// `completion`, counting the operation `name` started now in `metrics` when it runs (on their loop).
    private func counted<Outcome>(
        _ name: String,
        in metrics: LoopOperationMetrics,
        _ completion: @escaping @Sendable (Result<Outcome, DocumentStoreError>) -> Void
    ) -> @Sendable (Result<Outcome, DocumentStoreError>) -> Void {
        guard recordsMetrics else { return completion }
        let started = ContinuousClock.now
        // The metrics object is the loop's, and the completion runs on that loop.
        nonisolated(unsafe) let metrics = metrics
        return { outcome in
            var failure: DocumentStoreError?
            if case .failure(let error) = outcome { failure = error }
            metrics.record(name, .now - started, error: failure)
            completion(outcome)
        }
    }

    /// Runs `operation`; `completion` gets its outcome on `loop`. Call on `loop`. When `cancellation` is
    /// cancelled (the client went away), statements on the loop's connections are cancelled.
    public func run<Outcome>(
        _ operation: CollectionOperation<Outcome>,
        on loop: EventLoop,
        cancellation: Cancellation? = nil,
        completion: @escaping @Sendable (Result<Outcome, DocumentStoreError>) -> Void
    ) {
        let state = state(on: loop)
        let completion = counted(operation.name, in: state.metrics, completion)
        let collection = operation.collection
        guard connectionsPerLoop > 0,
            !operation.writes || database.schemaManager.isEnsured(collection.names)
        else {
            return runOnWorker(operation, on: loop, cancellation: cancellation, completion: completion)
        }
        let pipeline =
            state.pipeline
            ?? {
                let made = LoopPipeline(loop: loop, database: database, workers: workers, limit: connectionsPerLoop)
                state.pipeline = made
                return made
            }()
        guard pipeline.isReady else {
            pipeline.prepare()
            return runOnWorker(operation, on: loop, cancellation: cancellation, completion: completion)
        }
        // PostgreSQL's answer, decoded; or its failure, where a missing table may still be an answer.
        func finish<Answer>(
            _ result: Result<Answer, DatabaseError>, _ decode: (Answer) throws(DocumentStoreError) -> Outcome
        ) {
            switch result {
            case .success(let answer):
                completion(Result { () throws(DocumentStoreError) in try decode(answer) })
            case .failure(let error) where error.isMissingTable:
                if let empty = operation.whenMissing {
                    completion(.success(empty))
                } else if operation.writes {
                    // Dropped meanwhile (by another replica): the blocking path makes the tables again.
                    database.schemaManager.forget(collection.names)
                    runOnWorker(operation, on: loop, cancellation: cancellation, completion: completion)
                } else {
                    completion(.failure(DocumentStoreError(translating: error)))
                }
            case .failure(let error):
                completion(.failure(DocumentStoreError(translating: error)))
            }
        }
        switch operation.plan {
        case .blocking:
            runOnWorker(operation, on: loop, cancellation: cancellation, completion: completion)
        case .row(let row, let decode):
            pipeline.run(row, in: collection, cancellation: cancellation) { result in finish(result, decode) }
        case .statements(let statements, let decode):
            pipeline.send(statements, cancellation: cancellation) { result in finish(result, decode) }
        }
    }

    /// Starts an unlimited find on a connection of its own; `completion` gets its documents on `loop` once
    /// the first ones (or the end) are in. When `STREAM_LIMIT` finds are streaming, it waits for one to end
    /// for as long as a request waits for a connection (`DB_POOL_TIMEOUT_MS`), then fails with
    /// `.tooManyStreams`. Call on `loop`.
    public func stream(
        _ operation: StreamOperation,
        on loop: EventLoop,
        completion: @escaping @Sendable (Result<StreamedDocuments, DocumentStoreError>) -> Void
    ) {
        let completion = counted("find_stream", in: state(on: loop).metrics, completion)
        let connections = database.streamConnections
        let settings = database.pool.settings
        connections.lease(on: loop, waitingAtMost: settings.acquireTimeout) { [self] lease in
            switch lease {
            case .full:
                completion(
                    .failure(
                        DocumentStoreError(
                            .tooManyStreams,
                            "\(connections.limit) unlimited finds are streaming (STREAM_LIMIT); retry, or ask for pages with limit."
                        )))
            case .idle(let handle):
                startStream(operation, handle: handle, on: loop, completion: completion)
            case .open:
                workers.submit { [self] in
                    do throws(DatabaseError) {
                        // No statement_timeout: a stream lasts as long as its client takes to read it.
                        let handle = try database.link.connect(withServerTimeouts: false)
                        loop.execute { self.startStream(operation, handle: handle, on: loop, completion: completion) }
                    } catch {
                        connections.discard(nil)
                        loop.execute { completion(.failure(DocumentStoreError(translating: error))) }
                    }
                }
            }
        }
    }

    private func startStream(
        _ operation: StreamOperation,
        handle: LibPQ.Handle,
        on loop: EventLoop,
        completion: @escaping @Sendable (Result<StreamedDocuments, DocumentStoreError>) -> Void
    ) {
        let connection: StreamingConnection
        do {
            connection = try StreamingConnection(
                handle: handle, loop: loop, query: operation.query, deadline: database.statementDeadline)
        } catch {
            database.streamConnections.discard(handle)
            return completion(.failure(DocumentStoreError(translating: error)))
        }
        let documents = StreamedDocuments(
            connection: connection, loop: loop, connections: database.streamConnections, workers: workers)
        documents.prime { outcome in completion(outcome.map { documents }) }
    }

    /// Runs blocking work on a worker; `completion` gets its outcome on `loop`.
    public func runBlocking<Outcome: Sendable>(
        on loop: EventLoop,
        _ work: @escaping @Sendable () throws(DocumentStoreError) -> Outcome,
        completion: @escaping @Sendable (Result<Outcome, DocumentStoreError>) -> Void
    ) {
        workers.submit {
            let outcome = Result { () throws(DocumentStoreError) in try work() }
            loop.execute { completion(outcome) }
        }
    }

    private func runOnWorker<Outcome>(
        _ operation: CollectionOperation<Outcome>,
        on loop: EventLoop,
        cancellation: Cancellation?,
        completion: @escaping @Sendable (Result<Outcome, DocumentStoreError>) -> Void
    ) {
        runBlocking(
            on: loop,
            { () throws(DocumentStoreError) in try operation.collection.perform(operation, cancellation: cancellation) },
            completion: completion)
    }

    /// Runs `operation` on the calling thread, which may block (a worker), and counts it on `loop`.
    public func performBlocking<Outcome>(_ operation: CollectionOperation<Outcome>, countedOn loop: EventLoop)
        throws(DocumentStoreError) -> Outcome
    {
        guard recordsMetrics else { return try operation.performBlocking() }
        let started = ContinuousClock.now
        let outcome = Result { () throws(DocumentStoreError) in try operation.performBlocking() }
        let duration = ContinuousClock.now - started
        var failure: DocumentStoreError?
        if case .failure(let error) = outcome { failure = error }
        loop.execute { [self, failure] in state(on: loop).metrics.record(operation.name, duration, error: failure) }
        return try outcome.get()
    }

    /// What the database side has done and holds now; `completion` runs on one of the event loops.
    public func gatherMetrics(_ completion: @escaping @Sendable (DatabaseMetrics) -> Void) {
        EventLoop.gather(
            from: loops.withLock { $0 },
            { [self] loop in
                let state = state(on: loop)
                return (state.metrics.snapshot, state.pipeline?.statistics)
            }
        ) { [database, connectionsPerLoop] perLoop in
            var metrics = DatabaseMetrics()
            var loopPool = DatabaseMetrics.Pool(name: "loop", size: 0, open: 0, busy: 0, waiting: 0)
            for (operations, pipeline) in perLoop {
                metrics.add(operations)
                loopPool.size += connectionsPerLoop
                if let pipeline {
                    loopPool.open += pipeline.open
                    loopPool.busy += pipeline.busy
                    loopPool.waiting += pipeline.waiting
                }
            }
            metrics.pools = [database.pool.statistics, loopPool, database.streamConnections.statistics]
            database.link.add(to: &metrics)
            completion(metrics)
        }
    }
}
