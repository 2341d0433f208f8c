import EventLoop
/// Creates collections' tables and indexes on first use, once per process for each collection.
///
/// A table created here gets its indexes in the same transaction, and is closed to Supabase's Data API
/// there too (`DataAPIRoles`). A table that exists but lacks indexes (made by an earlier version, or by
/// hand) gets them from the `IndexBuilder`, which builds them without blocking writes. Safe when several
/// replicas start at once: the DDL runs in a transaction holding transaction-scoped advisory locks (first
/// the schema's, then the table's), which also work behind a transaction pooler.
final class SchemaManager: @unchecked Sendable {
    // @unchecked: `ensured` and `tracked` are read and written only while `lock` is held.
    private let lock = Lock()
    private var ensured: Set<TableNames> = []
    /// Collections whose change tracking this process installed or found (`ChangeTrackingDDL`).
    private var tracked: Set<TableNames> = []
    let indexBuilder: IndexBuilder

    init(indexBuilder: IndexBuilder) {
        self.indexBuilder = indexBuilder
    }

    /// Makes sure the collection's tables exist, with their indexes; returns true when this call created the
    /// table. Indexes an existing table lacks are built in the background, or before returning when
    /// `waitingForIndexes`.
    @discardableResult
    func ensure(_ names: TableNames, on connection: PostgresConnection, waitingForIndexes: Bool = false) throws -> Bool
    {
        if !waitingForIndexes && isEnsured(names) { return false }
        var state = try catalogState(names, on: connection)
        var created = false
        if !state.hasTables {
            created = try createTables(names, on: connection)
            state = try catalogState(names, on: connection)
        }
        if !state.hasIndexes {
            if waitingForIndexes {
                try indexBuilder.build(names)
            } else {
                indexBuilder.schedule(names)
            }
        }
        remember(names)
        return created
    }

    /// Creates what is missing of the schema, the two tables and the failed-migrations table's columns,
    /// in one transaction; a collection table created now gets its indexes there too.
    private func createTables(_ names: TableNames, on connection: PostgresConnection) throws -> Bool {
        try connection.transaction {
            try Self.lockSchema(names, on: connection)
            let schemaExists =
                try connection.query(
                    "SELECT 1 FROM pg_namespace WHERE nspname = \(bind: names.schema.name)"
                ).rows.isEmpty == false
            if !schemaExists {
                try connection.execute("CREATE SCHEMA IF NOT EXISTS \(names.schema.quoted)")
            }
            try Self.lockTable(names, on: connection)
            let existing = try existingTables(names, on: connection)
            let new = Set<CollectionDDL.Table>([.collection, .failedMigrations]).subtracting(existing)
            let ddl = CollectionDDL(names: names)
            for statement in ddl.statements(closing: new, withIndexes: new.contains(.collection)) {
                try connection.execute(statement)
            }
            return new.contains(.collection)
        }
    }

    /// Whether the collection's table exists (without creating anything).
    func tableExists(_ names: TableNames, on connection: PostgresConnection) throws -> Bool {
        let row = try connection.query("SELECT to_regclass(\(bind: names.qualifiedTable.sql.text)) IS NOT NULL")
        return row.rows.first?.first == "t"
    }

    /// Which of the collection's two tables exist.
    private func existingTables(_ names: TableNames, on connection: PostgresConnection) throws -> Set<CollectionDDL.Table> {
        let row = try connection.query(
            """
            SELECT to_regclass(\(bind: names.qualifiedTable.sql.text)) IS NOT NULL, \
            to_regclass(\(bind: names.qualifiedFailedTable.sql.text)) IS NOT NULL
            """
        ).rows.first
        var existing: Set<CollectionDDL.Table> = []
        if row?[0] == "t" { existing.insert(.collection) }
        if row?[1] == "t" { existing.insert(.failedMigrations) }
        return existing
    }

    /// Forgets that the collection was ensured, and its change tracking (after it was dropped, here or
    /// elsewhere).
    func forget(_ names: TableNames) {
        lock.withLock {
            ensured.remove(names)
            tracked.remove(names)
        }
    }

    /// Whether this process installed or found the collection's change tracking already.
    func isTracked(_ names: TableNames) -> Bool {
        lock.withLock { tracked.contains(names) }
    }

    func rememberTracked(_ names: TableNames) {
        _ = lock.withLock { tracked.insert(names) }
    }

    /// Whether this process made sure of the collection's tables already.
    func isEnsured(_ names: TableNames) -> Bool {
        lock.withLock { ensured.contains(names) }
    }

    private func remember(_ names: TableNames) {
        _ = lock.withLock { ensured.insert(names) }
    }

    /// What the catalog holds of a collection, in one read.
    private struct CatalogState {
        /// Both tables, and the failed-migrations table's columns.
        let hasTables: Bool
        /// Every index valid, and none of those they replace left.
        let hasIndexes: Bool
    }

    private func catalogState(_ names: TableNames, on connection: PostgresConnection) throws -> CatalogState {
        let indexes = JSONValue.array(names.indexes.map { .string($0.name.name) }).serialized
        let replaced = JSONValue.array(names.replacedIndexes.map { .string($0.name) }).serialized
        let columns = JSONValue.array(CollectionDDL.failedTableExtraColumns.map { .string($0) }).serialized
        let indexesOfTable: SQLQuery = """
            FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid \
            WHERE i.indrelid = to_regclass(\(bind: names.qualifiedTable.sql.text))
            """
        let result = try connection.query(
            """
            SELECT to_regclass(\(bind: names.qualifiedTable.sql.text)) IS NOT NULL, \
            (SELECT count(*) FROM pg_attribute \
             WHERE attrelid = to_regclass(\(bind: names.qualifiedFailedTable.sql.text)) AND NOT attisdropped \
             AND attname IN (SELECT jsonb_array_elements_text(\(bind: columns)::jsonb))), \
            (SELECT count(*) \(indexesOfTable) AND i.indisvalid \
             AND c.relname IN (SELECT jsonb_array_elements_text(\(bind: indexes)::jsonb))), \
            (SELECT count(*) \(indexesOfTable) AND c.relname IN (SELECT jsonb_array_elements_text(\(bind: replaced)::jsonb)))
            """
        )
        guard let row = result.rows.first, row.count == 4 else {
            return CatalogState(hasTables: false, hasIndexes: false)
        }
        return CatalogState(
            hasTables: row[0] == "t" && Int(row[1] ?? "") == CollectionDDL.failedTableExtraColumns.count,
            hasIndexes: Int(row[2] ?? "") == names.indexes.count && Int(row[3] ?? "") == 0
        )
    }

    /// Holds, until the transaction ends, the lock that serialises DDL on one collection's tables.
    static func lockTable(_ names: TableNames, on connection: PostgresConnection) throws {
        try lockKey("docstore table \(names.schema.name).\(names.table.name)", on: connection)
    }

    /// Holds, until the transaction ends, the lock that serialises DDL on the schema's shared objects.
    static func lockSchema(_ names: TableNames, on connection: PostgresConnection) throws {
        try lockKey("docstore schema \(names.schema.name)", on: connection)
    }

    private static func lockKey(_ key: String, on connection: PostgresConnection) throws {
        try connection.query("SELECT pg_advisory_xact_lock(hashtextextended(\(bind: key), 0))")
    }
}
