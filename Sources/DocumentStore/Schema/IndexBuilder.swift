import EventLoop
/// Builds the indexes that an existing collection table lacks (it was made by an earlier version of the
/// service, or by hand) without blocking its writes: `CREATE INDEX CONCURRENTLY`, one index at a time, on
/// a connection of its own; then drops the service's own indexes that the new ones replace.
///
/// `schedule` does it on a background thread, in the order asked, each table once; `build` does it on the
/// caller's thread and waits for a build of the same table already running here. Replicas building at
/// once leave each other's builds alone: an index another session is building is skipped, and only an
/// invalid index no session is building (left by a build that was cut off) is dropped and built again.
final class IndexBuilder: @unchecked Sendable {
    // @unchecked: every stored var is read and written only while `lock` is held.
    private let conninfo: String
    private let connectTimeoutSeconds: Int
    private let notify: @Sendable (DatabaseNotice) -> Void
    private let lock = ConditionLock()
    private var queue: [TableNames] = []
    private var workerRunning = false
    /// Tables being worked on now, here.
    private var building: Set<TableNames> = []
    /// The connections of the builds running now, for `close`.
    private var connections: [ObjectIdentifier: PostgresConnection] = [:]
    private var closed = false

    init(conninfo: String, connectTimeoutSeconds: Int, notify: @escaping @Sendable (DatabaseNotice) -> Void) {
        self.conninfo = conninfo
        self.connectTimeoutSeconds = connectTimeoutSeconds
        self.notify = notify
    }

    /// Builds what the table lacks on a background thread; returns at once.
    func schedule(_ names: TableNames) {
        let startWorker: Bool = lock.withLock {
            guard !closed, !queue.contains(names) else { return false }
            queue.append(names)
            guard !workerRunning else { return false }
            workerRunning = true
            return true
        }
        if startWorker && !BackgroundThread.start({ self.drainQueue() }) {
            lock.withLock { workerRunning = false }
            notify(DatabaseNotice(level: .warning, message: "cannot start a thread to build indexes"))
        }
    }

    /// Builds what the table lacks and returns when it is done.
    func build(_ names: TableNames) throws(DatabaseError) {
        lock.lock()
        while building.contains(names) && !closed {
            _ = lock.wait(until: ConditionLock.deadline(after: .seconds(1)))
        }
        guard !closed else {
            lock.unlock()
            throw DatabaseError(kind: .connectFailed, detail: "the database is closed")
        }
        building.insert(names)
        lock.unlock()
        defer {
            lock.withLock {
                building.remove(names)
                lock.broadcast()
            }
        }
        let connection = try PostgresConnection(
            conninfo: conninfo, connectTimeoutSeconds: connectTimeoutSeconds, usesPreparedStatements: false)
        let key = ObjectIdentifier(connection)
        lock.withLock { connections[key] = connection }
        defer { _ = lock.withLock { connections.removeValue(forKey: key) } }
        try build(names, on: connection)
    }

    /// Cancels the builds running now and drops what is queued; an index cut off this way is left invalid
    /// and built again the next time.
    func close() {
        let running = lock.withLock {
            closed = true
            queue.removeAll()
            lock.broadcast()
            return Array(connections.values)
        }
        for connection in running { connection.cancelRunningStatement() }
    }

    private func drainQueue() {
        while true {
            let next: TableNames? = lock.withLock {
                guard !closed, !queue.isEmpty else {
                    workerRunning = false
                    return nil
                }
                return queue.removeFirst()
            }
            guard let next else { return }
            do {
                try build(next)
            } catch {
                if lock.withLock({ !closed }) {
                    notify(
                        DatabaseNotice(
                            level: .warning,
                            message: "cannot build the indexes of \(Self.label(next)): \(error.description)"))
                }
            }
        }
    }

    private func build(_ names: TableNames, on connection: PostgresConnection) throws(DatabaseError) {
        let table = Self.label(names)
        var missing: [CollectionIndex] = []
        for index in names.indexes {
            let state = try indexState(index.name, of: names, on: connection)
            switch state {
            case .valid:
                continue
            case .buildingElsewhere:
                notify(DatabaseNotice(level: .info, message: "index \(index.name) of \(table) is being built elsewhere"))
                continue
            case .invalid:
                notify(
                    DatabaseNotice(
                        level: .info,
                        message: "dropping index \(index.name) of \(table): an earlier build of it was cut off"))
                try connection.execute("DROP INDEX CONCURRENTLY IF EXISTS \(names.schema.quoted).\(index.name.quoted)")
            case .missing:
                break
            }
            missing.append(index)
        }
        for index in missing {
            let size = try tableSize(names, on: connection)
            notify(
                DatabaseNotice(
                    level: .info,
                    message: "building index \(index.name) of \(table) (\(size)) without blocking writes"))
            let clock = ContinuousClock()
            let started = clock.now
            do {
                try connection.execute(index.createStatement(on: names.qualifiedTable, concurrently: true))
            } catch where error.sqlState == "42501" {
                notify(
                    DatabaseNotice(
                        level: .warning,
                        message: "cannot build index \(index.name) of \(table): the database user does not own the "
                            + "table, so its owner must run: "
                            + index.createStatement(on: names.qualifiedTable, concurrently: true)))
                return
            }
            let elapsed = (clock.now - started).components
            let tenths = elapsed.seconds * 10 + elapsed.attoseconds / 100_000_000_000_000_000
            notify(
                DatabaseNotice(
                    level: .info, message: "built index \(index.name) of \(table) in \(tenths / 10).\(tenths % 10) s"))
        }
        for replaced in names.replacedIndexes {
            guard case .valid = try indexState(replaced, of: names, on: connection) else { continue }
            try connection.execute("DROP INDEX CONCURRENTLY IF EXISTS \(names.schema.quoted).\(replaced.quoted)")
            notify(
                DatabaseNotice(
                    level: .info, message: "dropped index \(replaced) of \(table), which a keyset index replaces"))
        }
    }

    private enum IndexState {
        case missing
        case valid
        /// Not valid yet, and another session is building an index on the table.
        case buildingElsewhere
        /// Not valid, and no session is building one: left by a build that was cut off.
        case invalid
    }

    private func indexState(
        _ name: SQLIdentifier,
        of names: TableNames,
        on connection: PostgresConnection
    ) throws(DatabaseError) -> IndexState {
        let row = try connection.query(
            """
            SELECT i.indisvalid, EXISTS (SELECT 1 FROM pg_stat_progress_create_index p \
            WHERE p.relid = i.indrelid AND p.pid <> pg_backend_pid()) \
            FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid \
            WHERE c.relname = \(bind: name.name) \
            AND c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = \(bind: names.schema.name))
            """
        ).rows.first
        guard let row else { return .missing }
        if row[0] == "t" { return .valid }
        return row[1] == "t" ? .buildingElsewhere : .invalid
    }

    /// How big the table is, for the log: `about 1200000 rows, 612 MB`, or only its size before PostgreSQL
    /// has counted its rows.
    private func tableSize(_ names: TableNames, on connection: PostgresConnection) throws(DatabaseError) -> String {
        let table = names.qualifiedTable.sql.text
        let row = try connection.query(
            """
            SELECT reltuples::bigint, pg_size_pretty(pg_relation_size(oid)) FROM pg_class \
            WHERE oid = to_regclass(\(bind: table))
            """
        ).rows.first
        let size = (row?.count == 2 ? row?[1] : nil) ?? "size unknown"
        guard let rows = row?.first.flatMap({ $0 }).flatMap({ Int($0) }), rows >= 0 else { return size }
        return "about \(rows) rows, \(size)"
    }

    static func label(_ names: TableNames) -> String {
        "\(names.schema.name).\(names.table.name)"
    }
}
