import CLibPQ
import EventLoop

/// One statement whose rows are read only as its reader asks for them, on a nonblocking libpq connection
/// in single-row mode driven by an event loop. Between reads nothing is taken off the socket, so a reader
/// that stops leaves PostgreSQL waiting on a full socket instead of the service buffering its rows.
/// Everything here runs on the loop's thread.
final class StreamingConnection {
    /// How a read ended.
    enum ReadEnd {
        /// The reader had enough for now; rows remain.
        case paused
        /// Every row was read; the connection is idle again.
        case finished
        case failed(DatabaseError)
    }

    /// The connection, owned here until `detach` hands it on.
    private var handle: LibPQ.Handle?
    private let loop: EventLoop
    private let descriptor: Int32
    private var interest: EventLoop.Interest = []
    private var waitingToWrite = false
    /// The socket failed while no read was under way; the loop no longer watches it.
    private var hungUp = false
    /// The error result of the statement, reported once its results end.
    private var failure: DatabaseError?
    /// The read under way: `take` gets each row and says whether to go on.
    private var take: (([String?]) -> Bool)?
    private var done: ((ReadEnd) -> Void)?
    /// How long a read may wait for PostgreSQL's next row before it fails and the statement is cancelled.
    private let deadline: Duration
    /// When the read under way last got a row (or began).
    private var lastProgress = ContinuousClock.now
    /// Whether a deadline check is scheduled: one at a time, however many reads come and go.
    private var deadlineCheckPending = false

    /// Takes over `handle` and sends `query` down it; nothing is read until `read`. Call on `loop`. When
    /// it throws, `handle` is still the caller's. A read that waits longer than `deadline` for a row fails.
    init(handle: LibPQ.Handle, loop: EventLoop, query: SQLQuery, deadline: Duration) throws(DatabaseError) {
        self.loop = loop
        self.deadline = deadline
        let pointer = handle.pointer
        descriptor = PQsocket(pointer)
        let binds = try LibPQ.checked(query.binds)
        PQsetnonblocking(pointer, 1)
        let sent = LibPQ.withCStrings(binds) { values in
            PQsendQueryParams(pointer, query.text, Int32(binds.count), nil, values, nil, nil, 0)
        }
        guard sent == 1, PQsetSingleRowMode(pointer) == 1 else {
            throw LibPQ.failure(of: pointer)
        }
        self.handle = handle
        loop.register(descriptor, for: []) { [unowned self] readiness in self.ready(readiness) }
        flush()
    }

    deinit {
        detach()?.finish()
    }

    /// Reads rows, handing each to `take` until it returns false, the rows end or the statement fails;
    /// then calls `done`, possibly before returning. Call again after `.paused` for more.
    func read(_ take: @escaping ([String?]) -> Bool, done: @escaping (ReadEnd) -> Void) {
        self.take = take
        self.done = done
        lastProgress = .now
        if !deadlineCheckPending { scheduleDeadlineCheck() }
        pump()
    }

    /// Fails the read under way when PostgreSQL has sent nothing for `deadline` (a runaway statement behind
    /// no timeout of its own, or a link gone silent), and asks PostgreSQL to cancel the statement. Checks
    /// four times per deadline while reads go on; a later read starts the checks again.
    private func scheduleDeadlineCheck() {
        deadlineCheckPending = true
        loop.schedule(after: deadline / 4) { [weak self] in
            guard let self else { return }
            deadlineCheckPending = false
            guard take != nil, let pointer = handle?.pointer else { return }
            guard ContinuousClock.now - lastProgress >= deadline else { return scheduleDeadlineCheck() }
            LibPQ.Canceller(pointer)?.sendInBackground()
            end(.failed(DatabaseError(kind: .deadlineExceeded, detail: "no row within \(deadline.wholeMilliseconds) ms")))
        }
    }

    /// Stops driving the connection and hands it over, with whatever its statement has left to send.
    func detach() -> LibPQ.Handle? {
        guard let handle else { return nil }
        if !hungUp { loop.unregister(descriptor) }
        self.handle = nil
        take = nil
        done = nil
        return handle
    }

    private func pump() {
        guard let pointer = handle?.pointer, let take else { return }
        while true {
            if PQisBusy(pointer) == 1 {
                guard PQconsumeInput(pointer) == 1 else { return end(.failed(LibPQ.failure(of: pointer))) }
                if PQisBusy(pointer) == 1 {
                    if hungUp {
                        return end(.failed(DatabaseError(kind: .connectionLost, detail: "the connection closed")))
                    }
                    return watch(reading: true)
                }
            }
            guard let result = PQgetResult(pointer) else {
                return end(failure.map { .failed($0) } ?? .finished)
            }
            let status = PQresultStatus(result)
            if status == PGRES_SINGLE_TUPLE {
                lastProgress = .now
                let more = take(LibPQ.row(0, of: result))
                PQclear(result)
                if !more { return end(.paused) }
            } else {
                if status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK && failure == nil {
                    failure = LibPQ.failure(of: pointer, result: result)
                }
                PQclear(result)
            }
        }
    }

    private func end(_ outcome: ReadEnd) {
        let done = self.done
        take = nil
        self.done = nil
        watch(reading: false)
        done?(outcome)
    }

    private func ready(_ readiness: EventLoop.Readiness) {
        if readiness.writable { flush() }
        if take != nil {
            if readiness.readable || readiness.failed { pump() }
        } else if readiness.failed {
            // Watched for nothing, a failed socket would still wake the loop every turn.
            hungUp = true
            loop.unregister(descriptor)
        }
    }

    /// Sends what libpq has buffered (a long statement may not fit the socket at once).
    private func flush() {
        guard let pointer = handle?.pointer else { return }
        let flushed = PQflush(pointer)
        waitingToWrite = flushed == 1
        watch(reading: take != nil)
        if flushed == -1, take != nil { end(.failed(LibPQ.failure(of: pointer))) }
    }

    private func watch(reading: Bool) {
        guard handle != nil, !hungUp else { return }
        var wanted: EventLoop.Interest = []
        if reading { wanted.insert(.readable) }
        if waitingToWrite { wanted.insert(.writable) }
        if wanted != interest {
            interest = wanted
            loop.change(descriptor, to: wanted)
        }
    }
}
