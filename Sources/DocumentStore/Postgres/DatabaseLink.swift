import Synchronization

/// The way to PostgreSQL that every connection of a database takes: the connection string and link
/// options, the count of attempts for the metrics, and a backoff after a failed attempt. While PostgreSQL
/// is unreachable, one attempt at a time is made, after a delay that doubles up to 0.8 s, with jitter;
/// every other connection asked for meanwhile fails at once, so requests get a 503 at once instead of
/// each waiting out `DB_CONNECT_TIMEOUT`. Safe from any thread.
final class DatabaseLink: Sendable {
    let conninfo: String
    let options: LinkOptions

    private struct State {
        var succeeded = 0
        var failed = 0
        var lost = 0
        /// Attempts that failed since the last that succeeded.
        var failuresInARow = 0
        /// No attempt is made before this, after a failure.
        var retryAt = ContinuousClock.now
        /// Whether an attempt is under way while failures are in a row (only one is, then).
        var probing = false
        var lastFailure: (reason: String, at: ContinuousClock.Instant)?
    }

    private let state = Mutex(State())
    /// The delay after the first failure in a row; it doubles with each further one, up to `longestDelay`.
    private static let firstDelay = Duration.milliseconds(100)
    /// Short enough that the service is back within a second of PostgreSQL.
    private static let longestDelay = Duration.milliseconds(800)

    init(conninfo: String, options: LinkOptions) {
        self.conninfo = conninfo
        self.options = options
    }

    /// Opens a connection, blocking; fails at once while the backoff after a failed attempt runs.
    /// `withServerTimeouts: false` leaves out PostgreSQL's statement and lock timeouts.
    func connect(withServerTimeouts: Bool = true) throws(DatabaseError) -> LibPQ.Handle {
        let refusal = state.withLock { state -> String? in
            guard state.failuresInARow > 0 else { return nil }
            let now = ContinuousClock.now
            if state.probing || now < state.retryAt {
                let wait = max(.zero, state.retryAt - now)
                return "not connecting for \(wait.wholeMilliseconds) ms after: \(state.lastFailure?.reason ?? "a failure")"
            }
            state.probing = true
            return nil
        }
        if let refusal { throw DatabaseError(kind: .connectFailed, detail: refusal) }
        do {
            var options = self.options
            if !withServerTimeouts { options.serverTimeouts = nil }
            let handle = LibPQ.Handle(pointer: try LibPQ.connect(conninfo: conninfo, options: options))
            state.withLock { state in
                state.succeeded += 1
                state.failuresInARow = 0
                state.probing = false
            }
            return handle
        } catch {
            state.withLock { state in
                state.failed += 1
                state.failuresInARow += 1
                state.probing = false
                let doubling = min(state.failuresInARow - 1, 10)
                let delay = min(Self.firstDelay * (1 << doubling), Self.longestDelay)
                // Jitter: replicas that lost the database together do not come back in step.
                state.retryAt = .now + delay * Double.random(in: 0.5...1.0)
                state.lastFailure = (Self.reason(error.detail), .now)
            }
            throw error
        }
    }

    /// When the next connection attempt may be made: now, unless the last ones failed.
    var retryAt: ContinuousClock.Instant {
        state.withLock { $0.failuresInARow > 0 ? $0.retryAt : .now }
    }

    /// Opens a connection for blocking use.
    func connectBlocking(usesPreparedStatements: Bool) throws(DatabaseError) -> PostgresConnection {
        PostgresConnection(handle: try connect(), usesPreparedStatements: usesPreparedStatements)
    }

    /// Counts an open connection found broken.
    func connectionLost() {
        state.withLock { $0.lost += 1 }
    }

    /// Why connections cannot be opened now (for `/readyz`), or `nil` when the last attempt succeeded.
    var unreachableReason: String? {
        state.withLock { state in
            guard state.failuresInARow > 0, let failure = state.lastFailure else { return nil }
            let ago = (ContinuousClock.now - failure.at).wholeMilliseconds
            let next = max(.zero, state.retryAt - .now).wholeMilliseconds
            return "the last \(state.failuresInARow) attempts to connect failed (\(failure.reason)), the last \(ago) ms ago; the next in \(next) ms"
        }
    }

    func add(to metrics: inout DatabaseMetrics) {
        state.withLock { state in
            metrics.connectsSucceeded = state.succeeded
            metrics.connectsFailed = state.failed
            metrics.connectionsLost = state.lost
        }
    }

    /// Whether libpq's message says the connection settings are wrong (TLS verification, authentication, a
    /// pooler refusing a parameter), rather than that PostgreSQL is down or unreachable for now.
    static func isMisconfiguration(_ message: String) -> Bool {
        let wrongSettings = [
            "certificate verify failed", "does not match host name", "root certificate file",
            "server does not support SSL", "password authentication failed", "no pg_hba.conf entry",
            "unsupported startup parameter",
        ]
        return wrongSettings.contains { message.contains($0) }
    }

    /// The kind of failure libpq's message describes, in words that name no host, user or address.
    static func reason(_ message: String) -> String {
        let known: [(String, String)] = [
            ("Connection refused", "connection refused"),
            ("unsupported startup parameter", "a pooler refused a startup parameter: set DB_PREPARED_STATEMENTS=off"),
            ("timeout expired", "connect timeout"),
            ("could not translate host name", "host name not found"),
            ("Name or service not known", "host name not found"),
            ("password authentication failed", "authentication failed"),
            ("no pg_hba.conf entry", "refused by pg_hba.conf"),
            ("certificate", "TLS certificate not accepted"),
            ("SSL", "TLS failed"),
            ("does not exist", "database or user does not exist"),
            ("too many", "too many connections"),
            ("the database system is", "the database is starting up or shutting down"),
            ("No route to host", "no route to host"),
            ("Network is unreachable", "network unreachable"),
        ]
        return known.first { message.contains($0.0) }?.1 ?? "connection failed"
    }
}
