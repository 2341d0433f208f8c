/// Creates collections' tables and indexes on first use, once per process for each collection.
///
/// Tables it creates are closed to Supabase's Data API in the same transaction (`DataAPIRoles`).
/// Safe when several replicas start at once: the DDL runs in a transaction holding transaction-scoped
/// advisory locks (first the schema's, then the table's), which also work behind a transaction pooler.
final class SchemaManager: @unchecked Sendable {
    // @unchecked: `ensured` is read and written only while `lock` is held.
    private let lock = Condition()
    private var ensured: Set<TableNames> = []

    /// Makes sure the collection's tables and indexes exist; returns true when this call created the table.
    @discardableResult
    func ensure(_ names: TableNames, on connection: PostgresConnection) throws -> Bool {
        if isEnsured(names) { return false }
        let ddl = CollectionDDL(names: names)
        if try isComplete(ddl, on: connection) {
            remember(names)
            return false
        }
        let created = try connection.transaction {
            try Self.lockKey("docstore schema \(names.schema.name)", on: connection)
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
            for statement in ddl.statements(closing: new) {
                try connection.execute(statement)
            }
            return new.contains(.collection)
        }
        remember(names)
        return created
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

    /// Forgets that the collection was ensured (after it was dropped, here or elsewhere).
    func forget(_ names: TableNames) {
        lock.lock()
        ensured.remove(names)
        lock.unlock()
    }

    private func isEnsured(_ names: TableNames) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        return ensured.contains(names)
    }

    private func remember(_ names: TableNames) {
        lock.lock()
        ensured.insert(names)
        lock.unlock()
    }

    /// One catalog read: are all tables, indexes and failed-table columns there?
    private func isComplete(_ ddl: CollectionDDL, on connection: PostgresConnection) throws -> Bool {
        let relations = JSONValue.array(ddl.relationNames.map { .string($0) }).serialized
        let columns = JSONValue.array(CollectionDDL.failedTableExtraColumns.map { .string($0) }).serialized
        let result = try connection.query(
            """
            SELECT
                (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname = \(bind: ddl.names.schema.name)
                   AND c.relname IN (SELECT jsonb_array_elements_text(\(bind: relations)::jsonb))),
                (SELECT count(*) FROM pg_attribute
                 WHERE attrelid = to_regclass(\(bind: ddl.names.qualifiedFailedTable.sql.text))
                   AND NOT attisdropped
                   AND attname IN (SELECT jsonb_array_elements_text(\(bind: columns)::jsonb)))
            """
        )
        guard let row = result.rows.first else { return false }
        return Int(row[0] ?? "") == ddl.relationNames.count
            && Int(row[1] ?? "") == CollectionDDL.failedTableExtraColumns.count
    }

    /// Holds, until the transaction ends, the lock that serialises DDL on one collection's tables.
    static func lockTable(_ names: TableNames, on connection: PostgresConnection) throws {
        try lockKey("docstore table \(names.schema.name).\(names.table.name)", on: connection)
    }

    private static func lockKey(_ key: String, on connection: PostgresConnection) throws {
        try connection.query("SELECT pg_advisory_xact_lock(hashtextextended(\(bind: key), 0))")
    }
}
