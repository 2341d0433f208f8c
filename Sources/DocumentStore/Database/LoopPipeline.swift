import EventLoop

/// The PostgreSQL connections of one event loop, in pipeline mode, and the point reads it coalesces.
/// Everything here runs on the loop's thread; connections are opened on a worker (a blocking connect)
/// and handed over.
final class LoopPipeline: @unchecked Sendable {
    // @unchecked: every stored var is touched on the loop only; a worker that opens a connection gets the
    // pipeline only to hand the connection back through `EventLoop.execute`.
    private let loop: EventLoop
    private let database: DocumentDatabase
    private let workers: WorkerPool
    private let wanted: Int
    private var connections: [PipelinedConnection] = []
    private var connecting = 0
    /// Connections with bytes to send at the end of the turn.
    private var unflushed: [ObjectIdentifier: PipelinedConnection] = [:]
    /// Point reads of this turn, by collection table, sent at the end of the turn as one statement each.
    private var pointReads: [TableNames: (collection: DocumentCollection, waiting: [PointRead])] = [:]
    /// The delay before the next attempt to connect after a failed one; doubles up to a bound.
    private var retryDelay = Duration.milliseconds(250)

    init(loop: EventLoop, database: DocumentDatabase, workers: WorkerPool, connections: Int) {
        self.loop = loop
        self.database = database
        self.workers = workers
        wanted = connections
        loop.atEndOfTurn { [unowned self] in self.endOfTurn() }
        openConnections()
    }

    deinit {
        close()
    }

    /// Whether a connection is ready to take statements.
    var isReady: Bool { !connections.isEmpty }

    /// Sends `statements` as one request on the least busy connection; `completion` runs on the loop.
    func send(_ statements: [PipelineStatement], completion: @escaping PipelinedConnection.Completion) {
        guard let connection = connections.min(by: { $0.inFlight < $1.inFlight }) else {
            completion(.failure(DatabaseError(kind: .connectFailed, detail: "no pipelined connection is open")))
            return
        }
        connection.send(statements, completion: completion)
        unflushed[ObjectIdentifier(connection)] = connection
    }

    /// Reads the row of `id` together with the other point reads of the turn on the same collection.
    func pointRead(_ id: String, in collection: DocumentCollection, deliver: @escaping PointRead.Delivery) {
        pointReads[collection.names, default: (collection, [])].waiting.append(PointRead(id: id, deliver: deliver))
    }

    /// One waiting point read.
    struct PointRead {
        typealias Delivery = (Result<[String?]?, DatabaseError>) -> Void
        let id: String
        let deliver: Delivery
    }

    private func endOfTurn() {
        sendPointReads()
        for connection in unflushed.values { connection.flush() }
        unflushed.removeAll(keepingCapacity: true)
    }

    /// One `WHERE id = ANY($1)` statement per collection for the point reads of the turn; each read gets
    /// its own row, or nil.
    private func sendPointReads() {
        guard !pointReads.isEmpty else { return }
        let batches = pointReads
        pointReads.removeAll(keepingCapacity: true)
        for batch in batches.values {
            let table = batch.collection.table
            let ids = batch.waiting.map(\.id)
            let query: SQLQuery = """
                SELECT \(table.selection) FROM \(table.name.sql) WHERE id = ANY(\(bind: ArrayLiteral.text(ids))::text[])
                """
            let waiting = batch.waiting
            send([PipelineStatement(query: query, reusable: true)]) { result in
                switch result {
                case .success(let results):
                    var rows: [String: [String?]] = [:]
                    for row in results.first?.rows ?? [] {
                        if let id = row[1] { rows[id] = row }
                    }
                    for read in waiting { read.deliver(.success(rows[read.id])) }
                case .failure(let error):
                    for read in waiting { read.deliver(.failure(error)) }
                }
            }
        }
    }

    /// Opens connections on a worker until there are `wanted`; a failure is retried after a growing delay.
    private func openConnections() {
        while connections.count + connecting < wanted {
            connecting += 1
            let settings = database.pool.settings
            let loop = self.loop
            workers.submit { [self] in
                let outcome = Result { () throws(DatabaseError) -> SendableHandle in
                    SendableHandle(
                        pointer: try LibPQ.connect(
                            conninfo: settings.conninfo, connectTimeoutSeconds: settings.connectTimeoutSeconds))
                }
                loop.execute { [self] in self.connected(outcome) }
            }
        }
    }

    private func connected(_ outcome: Result<SendableHandle, DatabaseError>) {
        connecting -= 1
        switch outcome {
        case .success(let handle):
            let connection = PipelinedConnection(
                handle: handle.pointer, loop: loop, usesPreparedStatements: database.pool.settings.usesPreparedStatements)
            connection.whenBroken = { [unowned self, unowned connection] in self.lost(connection) }
            connections.append(connection)
            retryDelay = .milliseconds(250)
        case .failure:
            loop.schedule(after: retryDelay) { [unowned self] in self.openConnections() }
            retryDelay = min(retryDelay * 2, .seconds(10))
        }
    }

    private func lost(_ connection: PipelinedConnection) {
        connections.removeAll { $0 === connection }
        unflushed[ObjectIdentifier(connection)] = nil
        loop.schedule(after: .zero) { [unowned self] in self.openConnections() }
    }

    /// Closes every connection; statements still waiting fail.
    func close() {
        for connection in connections { connection.close() }
        connections.removeAll()
    }
}

/// A libpq connection handle on its way from the worker that opened it to the loop that drives it.
private struct SendableHandle: @unchecked Sendable {
    // @unchecked: the handle is used by one thread at a time: the worker until it hands it over.
    let pointer: OpaquePointer
}
