import EventLoop
import Synchronization
/// The document database on PostgreSQL: a connection pool, the schema, and its collections.
///
/// Every method blocks its calling thread until PostgreSQL answers; any number of threads may call at
/// once, each getting its own pooled connection.
public final class DocumentDatabase: Sendable {
    let pool: ConnectionPool
    /// The connections of streamed finds, apart from `pool`.
    let streamConnections: StreamConnections
    let schema: SQLIdentifier
    /// Whether connections prepare the statements they run again (off behind some poolers).
    let usesPreparedStatements: Bool
    /// Where the change feed listens for commits; nil when it does not (`ChangeListening.off`).
    let listenLink: DatabaseLink?
    let schemaManager: SchemaManager
    /// The way every connection to PostgreSQL is opened: options, backoff, counts.
    let link: DatabaseLink
    /// How long a request may hold a connection before the service gives up on it (`DB_STATEMENT_TIMEOUT_MS`).
    let statementDeadline: Duration
    /// Table names by table prefix and collection, so requests do not derive them again; guarded by
    /// `tableNamesLock` (a pthread mutex: threads that find it taken sleep rather than spin).
    private nonisolated(unsafe) var tableNames: [String: TableNames] = [:]
    private let tableNamesLock = Lock()
    /// Entries kept in `tableNames` before it starts over (collection names come from clients).
    private static let tableNamesKept = 4096

    /// Prepares the pool; no connection is opened until the first operation. `notify` hears of work done in
    /// the background (indexes built for tables made by earlier versions) and of its failures.
    public init(
        settings: DatabaseSettings,
        notify: @escaping @Sendable (DatabaseNotice) -> Void = { _ in }
    ) throws(DocumentStoreError) {
        guard let schema = SQLIdentifier(settings.schema) else {
            throw .invalidRequest("the schema name '\(settings.schema)' is not a valid identifier")
        }
        self.schema = schema
        usesPreparedStatements = settings.usesPreparedStatements
        link = DatabaseLink(conninfo: settings.conninfo, options: settings.linkOptions)
        switch settings.changeListening {
        case .sameDatabase: listenLink = link
        case .url(let conninfo):
            listenLink = DatabaseLink(
                conninfo: conninfo, options: LinkOptions(connectTimeoutSeconds: settings.connectTimeoutSeconds))
        case .off: listenLink = nil
        }
        statementDeadline = settings.statementDeadline
        schemaManager = SchemaManager(
            indexBuilder: IndexBuilder(
                conninfo: settings.conninfo,
                connectTimeoutSeconds: settings.connectTimeoutSeconds,
                notify: notify))
        streamConnections = StreamConnections(limit: settings.streamLimit)
        pool = ConnectionPool(
            settings: ConnectionPool.Settings(
                size: settings.poolSize,
                acquireTimeout: settings.poolTimeout,
                usesPreparedStatements: settings.usesPreparedStatements,
                maxLifetime: settings.connectionMaxLifetime,
                statementDeadline: settings.statementDeadline
            ),
            link: link
        )
    }

    /// The collection `name` in the store whose tables start with `tablePrefix`.
    public func collection(_ name: CollectionName, tablePrefix: String) -> DocumentCollection {
        let key = tablePrefix + "/" + name.rawValue
        if let known = tableNamesLock.withLock({ tableNames[key] }) {
            return DocumentCollection(database: self, names: known)
        }
        let names = TableNames(schema: schema, prefix: tablePrefix, collection: name)
        tableNamesLock.withLock {
            if tableNames.count >= Self.tableNamesKept { tableNames.removeAll() }
            tableNames[key] = names
        }
        return DocumentCollection(database: self, names: names)
    }

    /// The SQL that creates the collection's tables and indexes, as the seed's manual SQL does.
    public func schemaScript(for name: CollectionName, tablePrefix: String) -> String {
        CollectionDDL(names: TableNames(schema: schema, prefix: tablePrefix, collection: name)).script
    }

    /// `schemaScript(for:tablePrefix:)` without a database: for printing the DDL to run by hand.
    public static func schemaScript(
        schema: String,
        tablePrefix: String,
        collection name: CollectionName
    ) throws(DocumentStoreError) -> String {
        guard let schema = SQLIdentifier(schema) else {
            throw .invalidRequest("the schema name '\(schema)' is not a valid identifier")
        }
        return CollectionDDL(names: TableNames(schema: schema, prefix: tablePrefix, collection: name)).script
    }

    /// Asks PostgreSQL for its version; fails with `unavailable` when it does not answer, saying why when
    /// connections cannot be opened (`/readyz`).
    public func ping() throws(DocumentStoreError) -> String {
        do {
            return try run { connection in
                try connection.query("SELECT current_setting('server_version')").rows.first?.first.flatMap { $0 } ?? ""
            }
        } catch where error.kind == .unavailable {
            guard let reason = link.unreachableReason else { throw error }
            var explained = DocumentStoreError(.unavailable, "PostgreSQL cannot be reached: \(reason).", detail: error.detail)
            explained.cause = error.cause
            throw explained
        }
    }

    /// Cancels the statements running now (for a shutdown that cannot wait for them); their callers get
    /// `database_unavailable`. Returns how many connections were asked to cancel.
    @discardableResult
    public func cancelRunningStatements() -> Int {
        pool.cancelLeasedStatements()
    }

    /// Closes idle connections and refuses new operations; an index being built in the background is
    /// cancelled (and built again after the next start).
    public func close() {
        schemaManager.indexBuilder.close()
        pool.close()
        streamConnections.close()
    }

    /// Runs `body` on a pooled connection, turning database failures into `DocumentStoreError`s. When
    /// `cancellation` is cancelled while `body` runs, PostgreSQL is asked to cancel its statement.
    func run<T>(cancellation: Cancellation? = nil, _ body: (PostgresConnection) throws -> T) throws(DocumentStoreError) -> T {
        do {
            return try pool.withConnection { connection in
                guard let cancellation, let canceller = connection.canceller else { return try body(connection) }
                let running = RunningFlag()
                defer { running.end() }
                cancellation.whenCancelled { if running.isRunning { canceller.sendInBackground() } }
                guard !cancellation.isCancelled else {
                    throw DatabaseError(kind: .abandoned, detail: "the client went away")
                }
                return try body(connection)
            }
        } catch let error as DocumentStoreError {
            throw error
        } catch let error as DatabaseError {
            throw DocumentStoreError(translating: error)
        } catch {
            throw DocumentStoreError(.internalError, "An unexpected error occurred.", detail: "\(error)")
        }
    }
}

/// Whether a connection still runs the work a cancellation handler was registered for, so that a late
/// handler does not cancel the statement of the connection's next user.
private final class RunningFlag: Sendable {
    private let running = Atomic<Bool>(true)

    var isRunning: Bool { running.load(ordering: .acquiring) }

    func end() {
        running.store(false, ordering: .releasing)
    }
}

extension DocumentStoreError {
    /// The client-facing form of a database failure; PostgreSQL's own text goes to `detail` only.
    init(translating error: DatabaseError) {
        self.init(describing: error)
        cause = error.kind
    }

    private init(describing error: DatabaseError) {
        let detail = error.description
        if error.kind == .abandoned {
            self.init(.unavailable, "The request was cancelled: its client went away.", detail: detail)
            return
        }
        if error.kind == .deadlineExceeded {
            self.init(
                .unavailable, "PostgreSQL did not answer within DB_STATEMENT_TIMEOUT_MS; retry.", detail: detail)
            return
        }
        if error.isUnavailable {
            self.init(.unavailable, "The database cannot be reached right now; retry shortly.", detail: detail)
            return
        }
        switch error.sqlState {
        case "57014":
            self.init(
                .unavailable,
                "The database cancelled the statement (the service is shutting down, or a statement timeout); retry.",
                detail: detail
            )
        case "55P03":
            self.init(
                .unavailable,
                "The statement waited longer than DB_LOCK_TIMEOUT_MS for a lock another transaction holds; retry.",
                detail: detail
            )
        case "23505" where error.constraint?.hasSuffix("_pkey") == true:
            self = .duplicateID(detail: detail)
        case "23505":
            self.init(.uniqueViolation, "The write would break a unique index of this collection.", detail: detail)
        case let state? where state.hasPrefix("22"):
            self.init(
                .invalidDocument,
                "PostgreSQL cannot store a value in the request (SQLSTATE \(state)), e.g. a number out of range.",
                detail: detail
            )
        case "42501":
            self.init(
                .databaseError,
                "The database user lacks a privilege this operation needs (CREATE on the schema, or table access).",
                detail: detail
            )
        default:
            if error.kind == .invalidParameter {
                self.init(.invalidRequest, "A value in the request contains the NUL character.", detail: detail)
            } else {
                self.init(.internalError, "An unexpected database error occurred.", detail: detail)
            }
        }
    }
}

extension DatabaseError {
    /// The table (42P01) or its schema (3F000) does not exist.
    var isMissingTable: Bool { sqlState == "42P01" || sqlState == "3F000" }
}
