/// What every connection the service opens asks of libpq besides its connection string: how long to wait
/// for it to open, TCP keepalives and a user timeout so that a link gone silent (a NAT or load balancer
/// dropping it, a failover) is noticed within seconds, and PostgreSQL's own statement and lock deadlines.
/// The connection string's own settings win over all of these.
struct LinkOptions: Sendable {
    /// Seconds to wait for a connection to open (`DB_CONNECT_TIMEOUT`).
    var connectTimeoutSeconds: Int
    /// `statement_timeout` and `lock_timeout`, sent as startup options; `nil` where a transaction pooler
    /// stands between (PgBouncer refuses startup options), where the service's own deadline still holds.
    var serverTimeouts: (statement: Duration, lock: Duration)?

    init(connectTimeoutSeconds: Int, serverTimeouts: (statement: Duration, lock: Duration)? = nil) {
        self.connectTimeoutSeconds = connectTimeoutSeconds
        self.serverTimeouts = serverTimeouts
    }

    /// Seconds a link stays idle before the first keepalive probe, between probes, and probes lost before
    /// the link counts as dead: an idle link that went silent is closed within about 20 s.
    static let keepaliveIdleSeconds = 10
    static let keepaliveIntervalSeconds = 3
    static let keepaliveCount = 3
    /// Milliseconds sent data may stay unacknowledged before the kernel closes the link.
    static let tcpUserTimeoutMilliseconds = 10_000

    /// The libpq keywords and values, in `PQconnectdbParams`' order of precedence (the connection string,
    /// expanded last, overrides them).
    var parameters: [(keyword: String, value: String)] {
        var parameters: [(String, String)] = [
            ("connect_timeout", String(connectTimeoutSeconds)),
            ("application_name", "parlant-docstore"),
            ("keepalives", "1"),
            ("keepalives_idle", String(Self.keepaliveIdleSeconds)),
            ("keepalives_interval", String(Self.keepaliveIntervalSeconds)),
            ("keepalives_count", String(Self.keepaliveCount)),
            ("tcp_user_timeout", String(Self.tcpUserTimeoutMilliseconds)),
        ]
        if let (statement, lock) = serverTimeouts {
            parameters.append(
                ("options", "-c statement_timeout=\(statement.wholeMilliseconds) -c lock_timeout=\(lock.wholeMilliseconds)"))
        }
        return parameters
    }
}
