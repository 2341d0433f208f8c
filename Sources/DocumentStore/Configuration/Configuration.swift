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

    public init(
        conninfo: String,
        schema: String = "public",
        poolSize: Int = 10,
        poolTimeout: Duration = .seconds(5),
        streamLimit: Int = 16,
        connectTimeoutSeconds: Int = 5,
        usesPreparedStatements: Bool = true
    ) {
        self.conninfo = conninfo
        self.schema = schema
        self.poolSize = poolSize
        self.poolTimeout = poolTimeout
        self.streamLimit = streamLimit
        self.connectTimeoutSeconds = connectTimeoutSeconds
        self.usesPreparedStatements = usesPreparedStatements
    }
}

/// Configuration problems, one line each naming the variable.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    public let problems: [String]

    public init(problems: [String]) {
        self.problems = problems
    }

    public var description: String { problems.joined(separator: "\n") }
}
