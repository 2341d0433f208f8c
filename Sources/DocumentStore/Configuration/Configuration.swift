/// What the document store reads from the environment (SPEC section 2), checked up front: the database,
/// the stores' table prefixes and the keys clients present. The HTTP server's own settings are the
/// service's `ServerConfiguration`.
public struct Configuration: Sendable {
    /// How to reach PostgreSQL and how to use it.
    public var database: DatabaseSettings
    /// The keys clients may present: `SERVICE_KEY`'s list, else `SUPABASE_KEY`, else those of `keyFile`.
    public var accessKeys: [AccessKey]
    /// The keys file (`SERVICE_KEY_FILE`), re-read while the service runs; `nil` when keys come from the
    /// environment.
    public var keyFile: KeyFile?
    /// Table prefix of each store.
    public var tablePrefixes: [Store: String]

    public init(
        database: DatabaseSettings,
        accessKeys: [AccessKey],
        keyFile: KeyFile? = nil,
        tablePrefixes: [Store: String] = Dictionary(
            uniqueKeysWithValues: Store.allCases.map { ($0, $0.defaultTablePrefix) })
    ) {
        self.database = database
        self.accessKeys = accessKeys
        self.keyFile = keyFile
        self.tablePrefixes = tablePrefixes
    }

    /// The prefix for `store`.
    public func tablePrefix(for store: Store) -> String {
        tablePrefixes[store] ?? store.defaultTablePrefix
    }
}

/// How to reach PostgreSQL and how to use it.
public struct DatabaseSettings: Sendable {
    /// A libpq connection string or URL.
    public var conninfo: String
    /// The schema of every table (`SUPABASE_SCHEMA`, default `public`).
    public var schema: String
    /// The most connections open at once (`DB_POOL_SIZE`, default 10).
    public var poolSize: Int
    /// How long a request waits for a free connection (`DB_POOL_TIMEOUT_MS`, default 5000 ms).
    public var poolTimeout: Duration
    /// The most unlimited finds streamed at once, each on a connection of its own (`STREAM_LIMIT`,
    /// default 16); past it a new one is refused until one ends.
    public var streamLimit: Int
    /// Seconds to wait for a new connection (`DB_CONNECT_TIMEOUT`, default 5).
    public var connectTimeoutSeconds: Int
    /// Whether hot statements are prepared once per connection (`DB_PREPARED_STATEMENTS=auto|on|off`).
    /// `auto` turns them off behind a transaction-mode pooler (port 6543 or a `pooler.supabase.com` host).
    public var usesPreparedStatements: Bool
    /// How long a statement may run (`DB_STATEMENT_TIMEOUT_MS`, default 15,000 ms): PostgreSQL cancels it
    /// then, and the service gives up on it a second later whatever PostgreSQL does (a silent link).
    public var statementTimeout: Duration
    /// How long a statement may wait for a lock (`DB_LOCK_TIMEOUT_MS`, default 5,000 ms).
    public var lockTimeout: Duration
    /// Whether the two timeouts are also PostgreSQL's own (`statement_timeout`, `lock_timeout`), sent when a
    /// connection opens; off behind a transaction pooler, which refuses startup options.
    public var sendsServerTimeouts: Bool
    /// How long a connection is used before it is replaced (`DB_CONN_MAX_LIFETIME_S`, default 1,800 s), so
    /// that a failover or a pooler's rebalancing is picked up.
    public var connectionMaxLifetime: Duration
    /// Where the change feed's one `LISTEN` connection goes (`DB_LISTEN_URL`).
    public var changeListening: ChangeListening

    public init(
        conninfo: String,
        schema: String = "public",
        poolSize: Int = 10,
        poolTimeout: Duration = .seconds(5),
        streamLimit: Int = 16,
        connectTimeoutSeconds: Int = 5,
        usesPreparedStatements: Bool = true,
        statementTimeout: Duration = .seconds(15),
        lockTimeout: Duration = .seconds(5),
        sendsServerTimeouts: Bool = true,
        connectionMaxLifetime: Duration = .seconds(1800),
        changeListening: ChangeListening = .sameDatabase
    ) {
        self.conninfo = conninfo
        self.schema = schema
        self.poolSize = poolSize
        self.poolTimeout = poolTimeout
        self.streamLimit = streamLimit
        self.connectTimeoutSeconds = connectTimeoutSeconds
        self.usesPreparedStatements = usesPreparedStatements
        self.statementTimeout = statementTimeout
        self.lockTimeout = lockTimeout
        self.sendsServerTimeouts = sendsServerTimeouts
        self.connectionMaxLifetime = connectionMaxLifetime
        self.changeListening = changeListening
    }

    /// How long a request may hold a connection before the service gives up on it: the statement timeout,
    /// plus a second for PostgreSQL's own cancellation to arrive first where it enforces the timeout.
    var statementDeadline: Duration {
        statementTimeout + (sendsServerTimeouts ? .seconds(1) : .zero)
    }

    /// What every connection asks of libpq besides `conninfo`.
    var linkOptions: LinkOptions {
        LinkOptions(
            connectTimeoutSeconds: connectTimeoutSeconds,
            serverTimeouts: sendsServerTimeouts ? (statementTimeout, lockTimeout) : nil)
    }
}

/// How the change feed hears of commits (`DB_LISTEN_URL`).
public enum ChangeListening: Sendable, Equatable {
    /// `LISTEN` on the database the service uses: the default, unless that is a transaction pooler.
    case sameDatabase
    /// `LISTEN` on this connection string: a direct or session-mode connection to the same database,
    /// for a service that reaches it through a transaction pooler.
    case url(String)
    /// No `LISTEN` (behind a transaction pooler, where it hears nothing, found as for
    /// `DB_PREPARED_STATEMENTS=auto` or declared by turning them off; or `DB_LISTEN_URL=off`):
    /// watchers learn of changes by the feed's reading every second.
    case off
}

/// Configuration problems, one line each naming the variable.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    public let problems: [String]

    public init(problems: [String]) {
        self.problems = problems
    }

    public var description: String { problems.joined(separator: "\n") }
}
