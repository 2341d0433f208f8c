import EventLoop

/// The PostgreSQL connections of one event loop and the requests waiting for them. A connection carries
/// one request (its statements and a Sync, in pipeline mode) at a time, so a statement that waits for a
/// lock or runs long holds up no other request; requests wait in order for a free connection, and more
/// connections are opened, up to `limit`, while requests wait. Row operations (point reads, inserts,
/// merges) of one kind and collection that wait at the same time go to PostgreSQL as one statement, and
/// while one such statement runs the next ones gather for the one after it: under load, fewer and larger
/// statements, and fewer commits. Each keeps its own outcome (`RowOperation`).
///
/// Everything here runs on the loop's thread; connections are opened on a worker (a blocking connect)
/// and handed over.
final class LoopPipeline: @unchecked Sendable {
    // @unchecked: every stored var is touched on the loop only; a worker that opens a connection gets the
    // pipeline only to hand the connection back through `EventLoop.execute`.

    typealias Completion = PipelinedConnection.Completion

    /// Row operations of one kind on one collection, sent as one statement once a connection is free.
    private final class RowBatch {
        let collection: DocumentCollection
        let kind: RowOperation.Kind
        var waiting: [(operation: RowOperation, cancellation: Cancellation?, deliver: RowDelivery)] = []
        var keys: Set<String> = []

        init(collection: DocumentCollection, kind: RowOperation.Kind) {
            self.collection = collection
            self.kind = kind
        }

        var key: BatchKey { BatchKey(table: collection.names, kind: kind) }

        /// Whether `operation` may join: a write never shares a batch with another write of its key.
        func admits(_ operation: RowOperation) -> Bool {
            !operation.needsDistinctKey || !keys.contains(operation.key)
        }

        func add(_ operation: RowOperation, _ cancellation: Cancellation?, _ deliver: @escaping RowDelivery) {
            waiting.append((operation, cancellation, deliver))
            if operation.needsDistinctKey { keys.insert(operation.key) }
        }
    }

    private struct BatchKey: Hashable {
        let table: TableNames
        let kind: RowOperation.Kind
    }

    typealias RowDelivery = (Result<[String?]?, DatabaseError>) -> Void

    private enum Work {
        case statements([PipelineStatement], Cancellation?, Completion)
        case rows(RowBatch)
    }

    private struct Waiting {
        let work: Work
        let since: ContinuousClock.Instant
    }

    private let loop: EventLoop
    private let database: DocumentDatabase
    private let workers: WorkerPool
    private let limit: Int
    /// How long a request may wait for a connection before it fails as unavailable (`DB_POOL_TIMEOUT_MS`).
    private let waitLimit: Duration
    /// Every open connection; a connection is either idle or carries one request.
    private var connections: [PipelinedConnection] = []
    /// The open connections with nothing in flight, and since when.
    private var idle: [(connection: PipelinedConnection, since: ContinuousClock.Instant)] = []
    private var busy: Int { connections.count - idle.count }
    private var connecting = 0
    private var waiting = FIFO<Waiting>()
    /// The waiting row batch of each collection and kind, which later row operations join.
    private var waitingBatches: [BatchKey: RowBatch] = [:]
    /// Collections and kinds with a batch statement running.
    private var batchesRunning: Set<BatchKey> = []
    /// Row operations gathering while their collection's statement of their kind runs; queued when it
    /// returns.
    private var heldBatches: [BatchKey: RowBatch] = [:]
    /// Connections with bytes to send at the end of the turn.
    private var unflushed: [PipelinedConnection] = []
    /// How long a request may keep its connection before the pipeline gives up on both.
    private let deadline: Duration
    /// No connection is opened before this, after a failed or refused attempt (the link backs off).
    private var nextAttempt = ContinuousClock.now
    /// Idle connections beyond the first are closed after this long unused.
    private static let idleLifetime = Duration.seconds(60)

    init(loop: EventLoop, database: DocumentDatabase, workers: WorkerPool, limit: Int) {
        self.loop = loop
        self.database = database
        self.workers = workers
        self.limit = limit
        waitLimit = database.pool.settings.acquireTimeout
        deadline = database.statementDeadline
        loop.atEndOfTurn { [unowned self] in self.endOfTurn() }
        scheduleIdleCheck()
        scheduleDeadlineCheck()
        open()
    }

    deinit {
        close()
    }

    /// Whether a connection is open, so that requests sent now will be served by this pipeline.
    var isReady: Bool { !connections.isEmpty }

    /// The pipeline's connections and the requests waiting for one, now.
    var statistics: (open: Int, busy: Int, waiting: Int) {
        (connections.count, busy, waiting.count)
    }

    /// Opens a first connection if none is open or opening.
    func prepare() {
        if connections.isEmpty && connecting == 0 { open() }
    }

    /// Sends `statements` as one request once a connection is free; `completion` runs on the loop. When
    /// `cancellation` is cancelled first, the request is not sent, or its connection is given up and its
    /// statement cancelled.
    func send(_ statements: [PipelineStatement], cancellation: Cancellation? = nil, completion: @escaping Completion) {
        enqueue(.statements(statements, cancellation, completion))
    }

    /// Runs `operation` and delivers its row (or nil), in one statement with the other row operations of
    /// its kind and collection that wait. A write whose key is already in the gathering batch runs alone.
    /// When `cancellation` is cancelled first, the operation is left out; when it is cancelled while the
    /// operation runs alone, its connection is given up and its statement cancelled (a batch never waits
    /// for a row lock, and runs on).
    func run(
        _ operation: RowOperation, in collection: DocumentCollection, cancellation: Cancellation?,
        deliver: @escaping RowDelivery
    ) {
        let key = BatchKey(table: collection.names, kind: operation.kind)
        if let batch = waitingBatches[key] ?? heldBatches[key] {
            if batch.admits(operation) {
                batch.add(operation, cancellation, deliver)
            } else {
                runAlone(operation, in: collection, cancellation: cancellation, deliver: deliver)
            }
            return
        }
        let batch = RowBatch(collection: collection, kind: operation.kind)
        batch.add(operation, cancellation, deliver)
        if batchesRunning.contains(key) {
            heldBatches[key] = batch
        } else {
            waitingBatches[key] = batch
            enqueue(.rows(batch))
        }
    }

    /// Runs `operation` as a statement of its own.
    private func runAlone(
        _ operation: RowOperation, in collection: DocumentCollection, cancellation: Cancellation?,
        deliver: @escaping RowDelivery
    ) {
        send([collection.statement(for: [operation])], cancellation: cancellation) { result in
            deliver(result.map { $0.first?.rows.first })
        }
    }

    /// Closes every connection; requests in flight or waiting fail.
    func close() {
        let open = connections
        connections.removeAll()
        idle.removeAll()
        for connection in open { connection.close() }
        let lost = DatabaseError(kind: .poolClosed, detail: "")
        while let next = dequeue() { fail(next.work, lost) }
        let held = heldBatches.values
        heldBatches.removeAll()
        for batch in held { fail(.rows(batch), lost) }
    }

    private func enqueue(_ work: Work) {
        waiting.append(Waiting(work: work, since: .now))
    }

    private func dequeue() -> Waiting? {
        guard let next = waiting.popFirst() else { return nil }
        if case .rows(let batch) = next.work { waitingBatches[batch.key] = nil }
        return next
    }

    private var waitingCount: Int { waiting.count }

    /// Hands waiting requests to free connections, opens more if requests still wait, and sends the turn's
    /// bytes.
    private func endOfTurn() {
        if waitingCount > 0 {
            failExpired()
            while waitingCount > 0, let (connection, _) = idle.popLast() {
                start(dequeue()!.work, on: connection)
            }
            let wanted = min(waitingCount, limit - connections.count) - connecting
            if wanted > 0 { open(wanted) }
        }
        guard !unflushed.isEmpty else { return }
        for connection in unflushed { connection.flush() }
        unflushed.removeAll(keepingCapacity: true)
    }

    private func start(_ work: Work, on connection: PipelinedConnection) {
        if case .statements(_, let cancellation?, let completion) = work, cancellation.isCancelled {
            idle.append((connection, .now))
            return completion(.failure(Self.abandoned))
        }
        if case .rows(let batch) = work {
            for (_, cancellation, deliver) in batch.waiting where cancellation?.isCancelled == true {
                deliver(.failure(Self.abandoned))
            }
            batch.waiting.removeAll { $0.cancellation?.isCancelled == true }
            if batch.waiting.isEmpty {
                idle.append((connection, .now))
                return
            }
        }
        connection.busySince = .now
        connection.requestsStarted += 1
        // Weak: a pipeline closing as its loop stops fails what is in flight, from its deinit.
        let finished = { [weak self, unowned connection] in
            connection.busySince = nil
            guard let self, !connection.isBroken else { return }
            if ContinuousClock.now - connection.openedAt > database.pool.settings.maxLifetime {
                // Replaced (when requests need one) so that a failover or a pooler's rebalancing is seen.
                connections.removeAll { $0 === connection }
                connection.close()
                return
            }
            idle.append((connection, .now))
        }
        switch work {
        case .statements(let statements, let cancellation, let completion):
            connection.send(statements) { result in
                finished()
                completion(result)
            }
            if let cancellation { cancel(on: connection, when: cancellation) }
        case .rows(let batch):
            let key = batch.key
            // A write alone may wait for a row lock (the batch form skips locked rows): nothing gathers
            // behind it, so that one lock never stalls the writes that follow.
            let gathersFollowers = batch.kind == .read || batch.waiting.count > 1
            if gathersFollowers { batchesRunning.insert(key) }
            let statement = batch.collection.statement(for: batch.waiting.map(\.operation))
            connection.send([statement]) { [weak self] result in
                finished()
                if gathersFollowers { self?.batchReturned(key) }
                self?.deliver(result, to: batch)
            }
            if batch.waiting.count == 1, let cancellation = batch.waiting[0].cancellation {
                cancel(on: connection, when: cancellation)
            }
        }
        unflushed.append(connection)
    }

    /// Gives up on the request `connection` carries now when `cancellation` is cancelled.
    private func cancel(on connection: PipelinedConnection, when cancellation: Cancellation) {
        // The connection is the loop's: the handler, on any thread, names it and the request.
        let key = ObjectIdentifier(connection)
        let request = connection.requestsStarted
        cancellation.whenCancelled { [weak self, loop] in
            loop.execute { [weak self] in self?.cancel(request: request, on: key) }
        }
    }

    /// Hands each operation of `batch` its row. Those the batch skipped, and every write of a batch that
    /// PostgreSQL refused, run again alone for their own outcome.
    private func deliver(_ result: Result<[QueryResult], DatabaseError>, to batch: RowBatch) {
        switch result {
        case .success(let results):
            let answered = results.first?.rows ?? []
            var rows: [String: [String?]] = [:]
            if batch.waiting.count > 1 {
                let keyColumn = batch.waiting[0].operation.resultKeyColumn
                for row in answered {
                    if let key = row[keyColumn] { rows[key] = row }
                }
            }
            for (operation, cancellation, deliver) in batch.waiting {
                let row = batch.waiting.count == 1 ? answered.first : rows[operation.key]
                if let row, row[0] == nil, operation.batchMaySkip {
                    runAlone(operation, in: batch.collection, cancellation: cancellation, deliver: deliver)
                } else {
                    deliver(.success(row))
                }
            }
        case .failure(let error):
            // A statement timeout or cancellation (57014) would only come again, once per operation.
            let retries =
                batch.waiting.count > 1 && batch.waiting[0].operation.retriesAloneAfterFailure
                && !error.isUnavailable && !error.isMissingTable && error.sqlState != "57014"
            for (operation, cancellation, deliver) in batch.waiting {
                if retries {
                    runAlone(operation, in: batch.collection, cancellation: cancellation, deliver: deliver)
                } else {
                    deliver(.failure(error))
                }
            }
        }
    }

    /// The row operations that gathered while the statement of `key` ran take their turn.
    private func batchReturned(_ key: BatchKey) {
        batchesRunning.remove(key)
        guard let held = heldBatches.removeValue(forKey: key) else { return }
        waitingBatches[key] = held
        enqueue(.rows(held))
    }

    private func fail(_ work: Work, _ error: DatabaseError) {
        switch work {
        case .statements(_, _, let completion):
            completion(.failure(error))
        case .rows(let batch):
            for (_, _, deliver) in batch.waiting { deliver(.failure(error)) }
        }
    }

    /// Fails the requests that waited longer than `waitLimit` for a connection.
    private func failExpired() {
        let oldest = ContinuousClock.now - waitLimit
        while let first = waiting.first, first.since < oldest {
            let expired = dequeue()!
            fail(
                expired.work,
                DatabaseError(
                    kind: .poolTimeout,
                    detail: "every one of the loop's \(limit) connections stayed busy for \(waitLimit)"))
        }
    }

    /// Opens `count` connections on workers, unless the link backs off after a failure.
    private func open(_ count: Int = 1) {
        guard ContinuousClock.now >= nextAttempt else { return }
        let link = database.link
        let loop = self.loop
        for _ in 0..<count {
            connecting += 1
            workers.submit { [self] in
                let outcome = Result { () throws(DatabaseError) -> LibPQ.Handle in try link.connect() }
                loop.execute { [self] in self.opened(outcome) }
            }
        }
    }

    private func opened(_ outcome: Result<LibPQ.Handle, DatabaseError>) {
        connecting -= 1
        switch outcome {
        case .success(let handle):
            let connection = PipelinedConnection(
                handle: handle.pointer, loop: loop, usesPreparedStatements: database.pool.settings.usesPreparedStatements)
            connection.whenBroken = { [unowned self, unowned connection] in
                database.link.connectionLost()
                connections.removeAll { $0 === connection }
                idle.removeAll { $0.connection === connection }
            }
            connections.append(connection)
            idle.append((connection, .now))
        case .failure(let error):
            // Refused at once while the link backs off: wait as long, rather than asking again every turn.
            nextAttempt = max(database.link.retryAt, .now + .milliseconds(100))
            // Nothing may come to open a connection for them: requests waiting with none open fail now.
            if !isReady && connecting == 0 {
                while let next = dequeue() { fail(next.work, error) }
            }
        }
    }

    /// Gives up on the requests that held their connection past `deadline` (PostgreSQL did not answer: a
    /// statement that ignored its cancellation, or a link gone silent), four times a second: each fails as
    /// unavailable, its statement is cancelled from a thread of its own, and its connection is closed.
    private func scheduleDeadlineCheck() {
        loop.schedule(after: .milliseconds(250)) { [unowned self] in
            let expired = ContinuousClock.now - deadline
            for connection in connections where (connection.busySince ?? .now) < expired {
                giveUp(
                    connection,
                    DatabaseError(
                        kind: .deadlineExceeded,
                        detail: "no answer within \(deadline.wholeMilliseconds) ms (DB_STATEMENT_TIMEOUT_MS)"))
            }
            scheduleDeadlineCheck()
        }
    }

    /// The failure of a request whose client went away.
    private static let abandoned = DatabaseError(kind: .abandoned, detail: "the client went away")

    /// Gives up on the request numbered `request` on the connection `key`, if that connection still
    /// carries it: its client went away.
    private func cancel(request: Int, on key: ObjectIdentifier) {
        guard let connection = connections.first(where: { ObjectIdentifier($0) == key }),
            connection.requestsStarted == request, connection.busySince != nil
        else { return }
        giveUp(connection, Self.abandoned)
    }

    /// Gives up on `connection` and the request it carries, which fails with `error`; its statement is
    /// cancelled from a thread of its own.
    private func giveUp(_ connection: PipelinedConnection, _ error: DatabaseError) {
        connections.removeAll { $0 === connection }
        connection.abandon(error)?.sendInBackground()
    }

    /// Closes connections left idle for `idleLifetime`, keeping one; checks again later.
    private func scheduleIdleCheck() {
        loop.schedule(after: Self.idleLifetime / 2) { [unowned self] in
            let oldest = ContinuousClock.now - Self.idleLifetime
            while connections.count > 1, let index = idle.firstIndex(where: { $0.since < oldest }) {
                let connection = idle.remove(at: index).connection
                connections.removeAll { $0 === connection }
                connection.close()
            }
            scheduleIdleCheck()
        }
    }
}
