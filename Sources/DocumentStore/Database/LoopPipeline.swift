import EventLoop

/// The PostgreSQL connections of one event loop and the requests waiting for them. A connection carries
/// one request (its statements and a Sync, in pipeline mode) at a time, so a statement that waits for a
/// lock or runs long holds up no other request; requests wait in order for a free connection, and more
/// connections are opened, up to `limit`, while requests wait. Point reads of one collection that wait at
/// the same time go to PostgreSQL as one statement, and while one such statement runs the next reads of
/// that collection gather for the one after it: under load, fewer and larger statements.
///
/// Everything here runs on the loop's thread; connections are opened on a worker (a blocking connect)
/// and handed over.
final class LoopPipeline: @unchecked Sendable {
    // @unchecked: every stored var is touched on the loop only; a worker that opens a connection gets the
    // pipeline only to hand the connection back through `EventLoop.execute`.

    typealias Completion = PipelinedConnection.Completion

    /// Point reads of one collection, sent as one statement once a connection is free.
    private final class PointReads {
        let collection: DocumentCollection
        var waiting: [(id: String, deliver: PointReadDelivery)] = []

        init(collection: DocumentCollection) {
            self.collection = collection
        }
    }

    typealias PointReadDelivery = (Result<[String?]?, DatabaseError>) -> Void

    private enum Work {
        case statements([PipelineStatement], Cancellation?, Completion)
        case pointReads(PointReads)
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
    /// The waiting point reads of each collection, which later point reads join.
    private var waitingPointReads: [TableNames: PointReads] = [:]
    /// Collections with a point-read statement running.
    private var pointReadsRunning: Set<TableNames> = []
    /// Point reads gathering while their collection's statement runs; queued when it returns.
    private var heldPointReads: [TableNames: PointReads] = [:]
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

    /// Reads the row of `id`, in one statement with the other point reads of its collection that wait.
    func pointRead(_ id: String, in collection: DocumentCollection, deliver: @escaping PointReadDelivery) {
        let table = collection.names
        if let reads = waitingPointReads[table] ?? heldPointReads[table] {
            reads.waiting.append((id, deliver))
            return
        }
        let reads = PointReads(collection: collection)
        reads.waiting.append((id, deliver))
        if pointReadsRunning.contains(table) {
            heldPointReads[table] = reads
        } else {
            waitingPointReads[table] = reads
            enqueue(.pointReads(reads))
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
        let held = heldPointReads.values
        heldPointReads.removeAll()
        for reads in held { fail(.pointReads(reads), lost) }
    }

    private func enqueue(_ work: Work) {
        waiting.append(Waiting(work: work, since: .now))
    }

    private func dequeue() -> Waiting? {
        guard let next = waiting.popFirst() else { return nil }
        if case .pointReads(let reads) = next.work { waitingPointReads[reads.collection.names] = nil }
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
            if let cancellation {
                // The connection is the loop's: the handler, on any thread, names it and the request.
                let key = ObjectIdentifier(connection)
                let request = connection.requestsStarted
                cancellation.whenCancelled { [weak self, loop] in
                    loop.execute { [weak self] in self?.cancel(request: request, on: key) }
                }
            }
        case .pointReads(let reads):
            let table = reads.collection.table
            let names = reads.collection.names
            let ids = reads.waiting.map(\.id)
            // One id alone takes the plain statement, which costs PostgreSQL less than an array.
            let query: SQLQuery =
                ids.count == 1
                ? "SELECT \(table.selection) FROM \(table.name.sql) WHERE id = \(bind: ids[0])"
                : "SELECT \(table.selection) FROM \(table.name.sql) WHERE id = ANY(\(bind: ArrayLiteral.text(ids))::text[])"
            pointReadsRunning.insert(names)
            connection.send([PipelineStatement(query: query, reusable: true)]) { [weak self] result in
                finished()
                self?.pointReadsReturned(names)
                switch result {
                case .success(let results):
                    var rows: [String: [String?]] = [:]
                    for row in results.first?.rows ?? [] {
                        if let id = row[1] { rows[id] = row }
                    }
                    for read in reads.waiting { read.deliver(.success(rows[read.id])) }
                case .failure(let error):
                    for read in reads.waiting { read.deliver(.failure(error)) }
                }
            }
        }
        unflushed.append(connection)
    }

    /// The point reads that gathered while `table`'s statement ran take their turn.
    private func pointReadsReturned(_ table: TableNames) {
        pointReadsRunning.remove(table)
        guard let held = heldPointReads.removeValue(forKey: table) else { return }
        waitingPointReads[table] = held
        enqueue(.pointReads(held))
    }

    private func fail(_ work: Work, _ error: DatabaseError) {
        switch work {
        case .statements(_, _, let completion):
            completion(.failure(error))
        case .pointReads(let reads):
            for read in reads.waiting { read.deliver(.failure(error)) }
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
