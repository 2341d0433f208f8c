import CLibPQ
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One libpq connection, used with libpq's blocking calls (see `PipelinedConnection` for the event
/// loops' nonblocking ones).
///
/// Not thread-safe, like the `PGconn` it wraps: a connection is used by one thread at a time, which
/// the pool guarantees by handing each one to a single lease holder.
final class PostgresConnection {
    private let handle: OpaquePointer
    /// Cancels this connection's statement: made at connect, the one part of a connection another thread
    /// may use (`cancelRunningStatement`, the pool's watchdog).
    let canceller: LibPQ.Canceller?
    /// A duplicate of the connection's socket, so that another thread can shut the socket down (`cutOff`)
    /// even after libpq closed its own descriptor, whose number may then belong to another file.
    private let watchedSocket: Int32
    /// When the statement running now began, in nanoseconds of `statementClock`; 0 between statements.
    /// Written by the connection's user, read by the pool's watchdog.
    private let statementStart = Atomic<Int64>(0)
    private static let statementClock = ContinuousClock.now
    private let usesPreparedStatements: Bool
    /// Statement text -> server-side prepared statement name, for this connection only.
    private var preparedNames: [String: String] = [:]
    private static let preparedStatementLimit = 256
    private var isStreaming = false

    /// When the connection was opened.
    let openedAt = ContinuousClock.now

    /// Takes over `handle`, a connection opened with `LibPQ.connect`.
    init(handle: LibPQ.Handle, usesPreparedStatements: Bool) {
        self.handle = handle.pointer
        canceller = LibPQ.Canceller(handle.pointer)
        watchedSocket = dup(PQsocket(handle.pointer))
        self.usesPreparedStatements = usesPreparedStatements
    }

    /// Opens a connection with the default link options and no server-side deadlines; `conninfo` is a
    /// libpq connection string or URL.
    convenience init(conninfo: String, connectTimeoutSeconds: Int, usesPreparedStatements: Bool) throws(DatabaseError) {
        let options = LinkOptions(connectTimeoutSeconds: connectTimeoutSeconds)
        self.init(
            handle: LibPQ.Handle(pointer: try LibPQ.connect(conninfo: conninfo, options: options)),
            usesPreparedStatements: usesPreparedStatements)
    }

    deinit {
        if watchedSocket >= 0 { close(watchedSocket) }
        PQfinish(handle)
    }

    /// Asks PostgreSQL to cancel the statement this connection is running, if any. Unlike every other
    /// method, safe to call from any thread while the connection's user is blocked in a query.
    func cancelRunningStatement() {
        canceller?.send()
    }

    /// Shuts the connection's socket down, from any thread: a call blocked on it returns with the connection
    /// lost. The connection is unusable afterwards.
    func cutOff() {
        if watchedSocket >= 0 { shutdown(watchedSocket, Int32(SHUT_RDWR)) }
    }

    /// How long the statement running now has run, from any thread; nil between statements. With its start,
    /// which tells one statement from the next.
    var runningStatement: (start: Int64, age: Duration)? {
        let start = statementStart.load(ordering: .relaxed)
        guard start != 0 else { return nil }
        return (start, .nanoseconds(Self.now() - start))
    }

    /// Marks a statement (or the wait for a streamed row) as running for the duration of `body`.
    private func timed<T, Failure: Error>(_ body: () throws(Failure) -> T) throws(Failure) -> T {
        statementStart.store(Self.now(), ordering: .relaxed)
        defer { statementStart.store(0, ordering: .relaxed) }
        return try body()
    }

    private static func now() -> Int64 {
        max(1, (ContinuousClock.now - statementClock).wholeNanoseconds)
    }

    /// The host and port a connection string or URL names, as libpq reads it (`nil` where it names none).
    static func target(of conninfo: String) -> (host: String?, port: String?) {
        guard let options = PQconninfoParse(conninfo, nil) else { return (nil, nil) }
        defer { PQconninfoFree(options) }
        var host: String?
        var port: String?
        var option = options
        while let keyword = option.pointee.keyword {
            let name = String(cString: keyword)
            let value = option.pointee.val.map { String(cString: $0) }
            if name == "host" { host = value }
            if name == "port" { port = value }
            option += 1
        }
        return (host, port)
    }

    /// Whether libpq's own state says the connection is open and between statements, with no
    /// stream or transaction left running. Costs no system call.
    var isIdle: Bool {
        !isStreaming && PQstatus(handle) == CONNECTION_OK && PQtransactionStatus(handle) == PQTRANS_IDLE
    }

    /// False when the connection is known or suspected to be broken (see `LibPQ.Handle.isReusable`).
    var isUsable: Bool {
        !isStreaming && LibPQ.Handle(pointer: handle).isReusable
    }

    /// Runs `body` in a transaction: committed when it returns, rolled back when it throws.
    func transaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN")
        do {
            let value = try body()
            try execute("COMMIT")
            return value
        } catch {
            if PQstatus(handle) == CONNECTION_OK {
                PQclear(PQexec(handle, "ROLLBACK"))
            }
            throw error
        }
    }

    /// The server's version number, e.g. 150018.
    var serverVersion: Int { Int(PQserverVersion(handle)) }

    /// Whether the connection is encrypted with TLS.
    var usesTLS: Bool { PQsslInUse(handle) == 1 }

    /// Runs one statement and returns all of its rows, each value as text (`nil` for NULL).
    ///
    /// With `reusable`, the statement is prepared once per connection when prepared statements are on,
    /// unless it is not `isPreparable`.
    @discardableResult
    func query(_ query: SQLQuery, reusable: Bool = false) throws(DatabaseError) -> QueryResult {
        let text = query.text
        let binds = try LibPQ.checked(query.binds)
        return try timed { () throws(DatabaseError) in
            let result = LibPQ.withCStrings(binds) { values in
                if reusable && usesPreparedStatements && query.isPreparable(text: text) {
                    return executePrepared(text, count: Int32(binds.count), values: values)
                }
                return PQexecParams(handle, text, Int32(binds.count), nil, values, nil, nil, 0)
            }
            return try consume(result)
        }
    }

    /// Runs SQL without parameters; several statements separated by `;` are allowed.
    func execute(_ sql: String) throws(DatabaseError) {
        _ = try timed { () throws(DatabaseError) in try consume(PQexec(handle, sql)) }
    }

    /// The payloads of the notifications this connection hears (after `LISTEN`): those already arrived,
    /// else those that arrive within `timeout`, as soon as one does. Throws when the connection breaks.
    func notifications(waitingUpTo timeout: Duration) throws(DatabaseError) -> [String] {
        var payloads = takeNotifications()
        guard payloads.isEmpty else { return payloads }
        var descriptor = pollfd(fd: PQsocket(handle), events: Int16(POLLIN), revents: 0)
        if poll(&descriptor, 1, Int32(clamping: timeout.wholeMilliseconds)) > 0 {
            guard PQconsumeInput(handle) == 1 else { throw failure() }
            payloads = takeNotifications()
        }
        guard PQstatus(handle) == CONNECTION_OK else { throw failure() }
        return payloads
    }

    private func takeNotifications() -> [String] {
        var payloads: [String] = []
        while let notification = PQnotifies(handle) {
            payloads.append(String(cString: notification.pointee.extra))
            PQfreemem(notification)
        }
        return payloads
    }

    /// Sends a statement whose rows are then read one at a time with `nextStreamedRow()`,
    /// so memory stays flat whatever the number of rows. It is prepared once per connection, as
    /// `query(_:reusable: true)` does.
    func startStreaming(_ query: SQLQuery) throws(DatabaseError) {
        let text = query.text
        let binds = try LibPQ.checked(query.binds)
        let name = usesPreparedStatements && query.isPreparable(text: text) ? prepared(text, count: Int32(binds.count)) : nil
        let sent = LibPQ.withCStrings(binds) { values in
            if let name {
                return PQsendQueryPrepared(handle, name, Int32(binds.count), values, nil, nil, 0)
            }
            return PQsendQueryParams(handle, text, Int32(binds.count), nil, values, nil, nil, 0)
        }
        guard sent == 1 else { throw failure() }
        isStreaming = true
        guard PQsetSingleRowMode(handle) == 1 else {
            drainStream()
            throw DatabaseError(kind: .connectionLost, detail: "single-row mode was refused")
        }
    }

    /// The next row of the statement started with `startStreaming`, or `nil` after the last one.
    func nextStreamedRow() throws(DatabaseError) -> [String?]? {
        guard isStreaming else { return nil }
        guard let result = timed({ PQgetResult(handle) }) else {
            isStreaming = false
            return nil
        }
        defer { PQclear(result) }
        switch PQresultStatus(result) {
        case PGRES_SINGLE_TUPLE:
            return LibPQ.row(0, of: result)
        case PGRES_TUPLES_OK, PGRES_COMMAND_OK:
            drainStream()
            return nil
        default:
            let error = failure(result)
            drainStream()
            throw error
        }
    }

    /// Abandons a stream early: asks the server to cancel the statement and discards what is left.
    func cancelStreaming() {
        guard isStreaming else { return }
        if let cancel = PQgetCancel(handle) {
            var buffer = [CChar](repeating: 0, count: 256)
            _ = PQcancel(cancel, &buffer, Int32(buffer.count))
            PQfreeCancel(cancel)
        }
        drainStream()
    }

    private func drainStream() {
        while let result = PQgetResult(handle) {
            PQclear(result)
        }
        isStreaming = false
    }

    private func executePrepared(
        _ text: String,
        count: Int32,
        values: UnsafePointer<UnsafePointer<CChar>?>?
    ) -> OpaquePointer? {
        guard let name = prepared(text, count: count) else {
            return PQexecParams(handle, text, count, nil, values, nil, nil, 0)
        }
        return PQexecPrepared(handle, name, count, values, nil, nil, 0)
    }

    /// The name of `text` prepared on this connection, preparing it now if it is not yet; `nil` when
    /// PostgreSQL refuses to prepare it (the statement then runs unprepared and reports its own error).
    private func prepared(_ text: String, count: Int32) -> String? {
        if let name = preparedNames[text] { return name }
        if preparedNames.count >= Self.preparedStatementLimit {
            PQclear(PQexec(handle, "DEALLOCATE ALL"))
            preparedNames.removeAll()
        }
        let name = "docstore_\(preparedNames.count + 1)"
        guard let result = PQprepare(handle, name, text, count, nil) else { return nil }
        defer { PQclear(result) }
        guard PQresultStatus(result) == PGRES_COMMAND_OK else { return nil }
        preparedNames[text] = name
        return name
    }

    private func consume(_ result: OpaquePointer?) throws(DatabaseError) -> QueryResult {
        guard let result else { throw failure() }
        defer { PQclear(result) }
        return try LibPQ.outcome(of: result, handle: handle).get()
    }

    private func failure(_ result: OpaquePointer? = nil) -> DatabaseError {
        LibPQ.failure(of: handle, result: result)
    }
}

/// The rows a statement returned, each value as text, and the number of rows it affected.
struct QueryResult {
    let rows: [[String?]]
    let affectedRows: Int
}
