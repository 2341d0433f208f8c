import EventLoop

#if canImport(Glibc)
    import Glibc
#endif

/// A bounded set of PostgreSQL connections shared by the threads that serve requests.
///
/// Ownership: a connection is either idle in `idle` (owned by the pool, touched only under `condition`)
/// or leased to exactly one caller, who alone uses it until it is handed back. Broken connections are
/// dropped and replaced on demand, so the pool heals by itself after PostgreSQL restarts. A watchdog
/// thread gives up on statements that run past `statementDeadline`: it asks PostgreSQL to cancel them, and
/// a second later shuts their connection's socket down, which ends a call blocked on a link gone silent.
final class ConnectionPool: @unchecked Sendable {
    // @unchecked: all mutable state below is read and written only while `condition` is locked.

    struct Settings: Sendable {
        var size: Int
        /// How long a caller waits for a free connection before giving up.
        var acquireTimeout: Duration
        var usesPreparedStatements: Bool
        /// How long a connection is used before it is closed and replaced.
        var maxLifetime: Duration
        /// How long a statement may run before the watchdog cancels it (`DB_STATEMENT_TIMEOUT_MS`, plus a
        /// second where PostgreSQL enforces it itself).
        var statementDeadline: Duration
    }

    /// A connection lent out, and what the watchdog did about the statement it runs.
    private struct Lease {
        let connection: PostgresConnection
        /// The start of the statement last cancelled, and of the one last cut off.
        var cancelled: Int64 = 0
        var cutOff: Int64 = 0
    }

    let settings: Settings
    private let link: DatabaseLink
    private let condition = ConditionLock()
    private var idle: [PostgresConnection] = []
    /// The connections lent out now, so that their statements can be cancelled at their deadline and at
    /// shutdown.
    private var leased: [ObjectIdentifier: Lease] = [:]
    private var watchdogRunning = false
    private var openCount = 0
    /// Callers waiting for a connection to be handed back.
    private var waitingCount = 0
    private var isClosed = false

    init(settings: Settings, link: DatabaseLink) {
        self.settings = settings
        self.link = link
    }

    /// Runs `body` with a connection leased for its duration. A connection that broke meanwhile
    /// is closed instead of going back to the pool.
    func withConnection<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        let connection = try lease()
        do {
            let value = try body(connection)
            release(connection)
            return value
        } catch {
            release(connection)
            throw error
        }
    }

    /// Takes a connection out of the pool; the caller must `release` it exactly once.
    func lease() throws(DatabaseError) -> PostgresConnection {
        let deadline = ConditionLock.deadline(after: settings.acquireTimeout)
        while true {
            condition.lock()
            if isClosed {
                condition.unlock()
                throw DatabaseError(kind: .poolClosed, detail: "")
            }
            if let connection = idle.popLast() {
                condition.unlock()
                if ContinuousClock.now - connection.openedAt >= settings.maxLifetime {
                    discard()
                    continue
                }
                if connection.isUsable { return tracked(connection) }
                link.connectionLost()
                discard()
                continue
            }
            if openCount < settings.size {
                openCount += 1
                condition.unlock()
                return tracked(try open())
            }
            waitingCount += 1
            let signalled = condition.wait(until: deadline)
            waitingCount -= 1
            condition.unlock()
            if !signalled {
                throw DatabaseError(
                    kind: .poolTimeout,
                    detail: "all \(settings.size) connections stayed busy for \(settings.acquireTimeout)"
                )
            }
        }
    }

    /// Hands a leased connection back; it is kept only if libpq still sees it open and idle, and it is
    /// younger than `maxLifetime`. Whether the server dropped it meanwhile is checked at the next `lease`,
    /// once per use rather than twice.
    func release(_ connection: PostgresConnection) {
        let isIdle = connection.isIdle && ContinuousClock.now - connection.openedAt < settings.maxLifetime
        condition.lock()
        leased[ObjectIdentifier(connection)] = nil
        if isIdle && !isClosed {
            idle.append(connection)
        } else {
            openCount -= 1
        }
        condition.signal()
        condition.unlock()
    }

    /// Asks PostgreSQL to cancel the statements of every leased connection (for a shutdown that cannot
    /// wait longer); their callers get a `query_canceled` error. Returns how many were asked.
    func cancelLeasedStatements() -> Int {
        condition.lock()
        defer { condition.unlock() }
        // The connections stay alive while in `leased`, which only changes under this lock.
        for lease in leased.values { lease.connection.cancelRunningStatement() }
        return leased.count
    }

    /// Closes idle connections and refuses new leases; leased ones close when released.
    func close() {
        condition.lock()
        isClosed = true
        openCount -= idle.count
        idle.removeAll()
        condition.broadcast()
        condition.unlock()
    }

    /// Connections open now, idle or leased.
    var openConnections: Int {
        condition.lock()
        defer { condition.unlock() }
        return openCount
    }

    /// The pool as it is now, for the metrics.
    var statistics: DatabaseMetrics.Pool {
        condition.lock()
        defer { condition.unlock() }
        return DatabaseMetrics.Pool(
            name: "blocking", size: settings.size, open: openCount, busy: leased.count, waiting: waitingCount)
    }

    private func open() throws(DatabaseError) -> PostgresConnection {
        do {
            return try link.connectBlocking(usesPreparedStatements: settings.usesPreparedStatements)
        } catch {
            discard()
            throw error
        }
    }

    private func tracked(_ connection: PostgresConnection) -> PostgresConnection {
        condition.lock()
        leased[ObjectIdentifier(connection)] = Lease(connection: connection)
        let startsWatchdog = !watchdogRunning
        watchdogRunning = true
        condition.unlock()
        if startsWatchdog {
            BackgroundThread.start { [self] in watchLeases() }
        }
        return connection
    }

    /// Four times a second until the pool closes: cancels each statement past its deadline, and a second
    /// later cuts its connection off.
    private func watchLeases() {
        while true {
            usleep(250_000)
            condition.lock()
            if isClosed {
                watchdogRunning = false
                condition.unlock()
                return
            }
            var cancels: [LibPQ.Canceller] = []
            for (key, lease) in leased {
                guard let statement = lease.connection.runningStatement, statement.age > settings.statementDeadline
                else { continue }
                if lease.cancelled != statement.start {
                    leased[key]?.cancelled = statement.start
                    if let canceller = lease.connection.canceller { cancels.append(canceller) }
                } else if lease.cutOff != statement.start && statement.age > settings.statementDeadline + .seconds(1) {
                    leased[key]?.cutOff = statement.start
                    // Its holder is blocked on the socket; it wakes with the connection lost.
                    lease.connection.cutOff()
                }
            }
            condition.unlock()
            for cancel in cancels { cancel.sendInBackground() }
        }
    }

    /// Forgets one connection slot (the connection object itself closes when it is deallocated).
    private func discard() {
        condition.lock()
        openCount -= 1
        condition.signal()
        condition.unlock()
    }
}
