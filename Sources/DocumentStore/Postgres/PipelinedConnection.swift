import CLibPQ
import EventLoop

/// A statement to send down a pipeline: its SQL with binds, and whether to prepare it once per connection.
struct PipelineStatement: Sendable {
    let query: SQLQuery
    let reusable: Bool
}

/// One nonblocking libpq connection in pipeline mode, driven by one event loop. Each request's statements
/// go out as they come, followed by a Sync, so each request is a transaction of its own and a failure
/// touches no other; results are read as they arrive, in order, and handed to each request's completion.
/// Everything here runs on the loop's thread.
final class PipelinedConnection {
    typealias Completion = (Result<[QueryResult], DatabaseError>) -> Void

    /// What one sent query is, to know what its result means.
    private enum Query {
        /// A statement of the request; its result is handed back.
        case statement
        /// The preparation of `text` as `name`; on success the connection reuses it.
        case prepare(text: String, name: String)
    }

    /// One request's queries, from their sending to their Sync.
    private struct Entry {
        let queries: [Query]
        /// Queries whose results have ended.
        var ended = 0
        var results: [QueryResult] = []
        var error: DatabaseError?
        let completion: Completion
    }

    private let handle: OpaquePointer
    private let loop: EventLoop
    private let descriptor: Int32
    private let usesPreparedStatements: Bool
    /// Statement text -> its name, once PostgreSQL prepared it on this connection.
    private var preparedNames: [String: String] = [:]
    /// Statement texts whose preparation is under way.
    private var preparing: Set<String> = []
    private static let preparedStatementLimit = 256
    private var entries = FIFO<Entry>()
    private var waitingToWrite = false
    private(set) var isBroken = false
    /// Called once when the connection breaks; it is then unusable.
    var whenBroken: (() -> Void)?
    /// When the connection was opened.
    let openedAt = ContinuousClock.now
    /// Since when the request in flight has waited for its answer, for the pipeline's deadline.
    var busySince: ContinuousClock.Instant?
    /// Requests the pipeline has started on this connection, which tells one from the next.
    var requestsStarted = 0

    /// Takes over `handle`, a connection opened with `LibPQ.connect`, and drives it from `loop`. Call on
    /// the loop.
    init(handle: OpaquePointer, loop: EventLoop, usesPreparedStatements: Bool) {
        self.handle = handle
        self.loop = loop
        self.usesPreparedStatements = usesPreparedStatements
        descriptor = PQsocket(handle)
        PQsetnonblocking(handle, 1)
        PQenterPipelineMode(handle)
        loop.register(descriptor, for: .readable) { [unowned self] readiness in
            if readiness.writable { self.flush() }
            if readiness.readable || readiness.failed { self.readResults() }
        }
    }

    deinit {
        PQfinish(handle)
    }

    /// Requests sent and not yet answered.
    var inFlight: Int { entries.count }

    /// Sends `statements` followed by a Sync; `completion` gets their results in order, or the first error.
    /// The bytes leave at the next `flush`.
    func send(_ statements: [PipelineStatement], completion: @escaping Completion) {
        guard !isBroken else {
            completion(.failure(DatabaseError(kind: .connectionLost, detail: "the connection broke")))
            return
        }
        var prepared: [(query: SQLQuery, binds: [String?])] = []
        for statement in statements {
            do {
                prepared.append((statement.query, try LibPQ.checked(statement.query.binds)))
            } catch {
                completion(.failure(error))
                return
            }
        }
        var queries: [Query] = []
        var sent = true
        for (index, (query, binds)) in prepared.enumerated() {
            let text = query.text
            let count = Int32(binds.count)
            let reusable = usesPreparedStatements && statements[index].reusable && query.isPreparable(text: text)
            var name = reusable ? preparedNames[text] : nil
            if reusable, name == nil, !preparing.contains(text), preparedNames.count < Self.preparedStatementLimit {
                let newName = "docstore_p\(preparedNames.count + preparing.count + 1)"
                sent = sent && PQsendPrepare(handle, newName, text, count, nil) == 1
                queries.append(.prepare(text: text, name: newName))
                preparing.insert(text)
                name = newName
            }
            sent =
                sent
                && LibPQ.withCStrings(binds) { values in
                    if let name {
                        return PQsendQueryPrepared(handle, name, count, values, nil, nil, 0)
                    }
                    return PQsendQueryParams(handle, text, count, nil, values, nil, nil, 0)
                } == 1
            queries.append(.statement)
        }
        sent = sent && PQpipelineSync(handle) == 1
        entries.append(Entry(queries: queries, completion: completion))
        if !sent { broke() }
    }

    /// Sends what is buffered, as far as the socket takes it; waits to write the rest.
    func flush() {
        guard !isBroken else { return }
        switch PQflush(handle) {
        case 0:
            if waitingToWrite {
                waitingToWrite = false
                loop.change(descriptor, to: .readable)
            }
        case 1:
            if !waitingToWrite {
                waitingToWrite = true
                loop.change(descriptor, to: [.readable, .writable])
            }
        default:
            broke()
        }
    }

    /// Stops driving the connection: every request still waiting fails, and the connection is closed.
    func close() {
        guard !isBroken else { return }
        isBroken = true
        loop.unregister(descriptor)
        failAll(DatabaseError(kind: .connectionLost, detail: "the connection was closed"))
    }

    /// Gives up on the connection: every request still waiting fails with `error`, and the connection is
    /// closed. Returns the cancel request for the statement it was running, to send from a thread that may
    /// block (it opens a connection of its own to the server).
    func abandon(_ error: DatabaseError) -> LibPQ.Canceller? {
        guard !isBroken else { return nil }
        let cancel = LibPQ.Canceller(handle)
        isBroken = true
        loop.unregister(descriptor)
        failAll(error)
        return cancel
    }

    private func readResults() {
        guard !isBroken else { return }
        guard PQconsumeInput(handle) == 1 else {
            broke()
            return
        }
        while let current = entries.first {
            if PQisBusy(handle) == 1 { return }
            guard let result = PQgetResult(handle) else {
                // The end of one query's results.
                guard current.ended < current.queries.count else { return }
                entries.updateFirst { $0.ended += 1 }
                continue
            }
            defer { PQclear(result) }
            let status = PQresultStatus(result)
            if status == PGRES_PIPELINE_SYNC {
                _ = entries.popFirst()
                if let error = current.error {
                    current.completion(.failure(error))
                } else {
                    current.completion(.success(current.results))
                }
                continue
            }
            let position = current.ended
            guard position < current.queries.count else { continue }
            let query = current.queries[position]
            if status == PGRES_PIPELINE_ABORTED {
                if case .prepare(let text, _) = query { preparing.remove(text) }
                continue
            }
            switch LibPQ.outcome(of: result, handle: handle) {
            case .success(let outcome):
                switch query {
                case .statement:
                    entries.updateFirst { $0.results.append(outcome) }
                case .prepare(let text, let name):
                    preparing.remove(text)
                    preparedNames[text] = name
                }
            case .failure(let error):
                if case .prepare(let text, _) = query { preparing.remove(text) }
                if current.error == nil { entries.updateFirst { $0.error = error } }
            }
        }
        if PQstatus(handle) != CONNECTION_OK { broke() }
    }

    private func broke() {
        guard !isBroken else { return }
        let error = LibPQ.failure(of: handle)
        isBroken = true
        loop.unregister(descriptor)
        failAll(error)
        whenBroken?()
    }

    private func failAll(_ error: DatabaseError) {
        for entry in entries.removeAll() { entry.completion(.failure(error)) }
    }
}
