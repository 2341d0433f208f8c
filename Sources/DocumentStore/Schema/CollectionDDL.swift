/// The DDL of one collection: its table with the seed document's columns, its indexes, and its
/// failed-migrations table, both closed to Supabase's Data API. Every statement is idempotent.
struct CollectionDDL {
    let names: TableNames

    /// Columns that are copies of the document's top-level fields of the same name.
    static let copiedColumns = ["version", "creation_utc", "session_id", "customer_id", "agent_id"]
    /// Columns the failed-migrations table has beyond the seed's `(id, data)`.
    static let failedTableExtraColumns = ["reason", "failed_utc"]

    /// Every statement, in the order to run them. The tables named by `closing` are closed to the Data
    /// API's roles right after their `CREATE` (`DataAPIRoles`); the service closes only tables it creates,
    /// so grants an operator made on an existing table are left as they are. Without `withIndexes`, the
    /// indexes are left out (an existing table gets them from the `IndexBuilder`).
    func statements(closing: Set<Table> = [.collection, .failedMigrations], withIndexes: Bool = true) -> [String] {
        var statements = [createTable]
        if closing.contains(.collection) {
            statements += DataAPIRoles.closingStatements(for: [names.qualifiedTable])
        }
        if withIndexes {
            statements += indexStatements
        }
        statements.append(createFailedTable)
        if closing.contains(.failedMigrations) {
            statements += DataAPIRoles.closingStatements(for: [names.qualifiedFailedTable])
        }
        let failed = names.qualifiedFailedTable.sql.text
        for column in Self.failedTableExtraColumns {
            statements.append("ALTER TABLE \(failed) ADD COLUMN IF NOT EXISTS \(column) TEXT")
        }
        return statements
    }

    /// The two tables of a collection.
    enum Table: Hashable {
        case collection
        case failedMigrations
    }

    private var createTable: String {
        """
        CREATE TABLE IF NOT EXISTS \(names.qualifiedTable.sql.text) (
            id TEXT NOT NULL PRIMARY KEY,
            version TEXT,
            creation_utc TEXT,
            session_id TEXT,
            customer_id TEXT,
            agent_id TEXT,
            data JSONB NOT NULL DEFAULT '{}'::jsonb
        )
        """
    }

    private var indexStatements: [String] {
        names.indexes.map { $0.createStatement(on: names.qualifiedTable) }
    }

    private var createFailedTable: String {
        """
        CREATE TABLE IF NOT EXISTS \(names.qualifiedFailedTable.sql.text) (
            id TEXT,
            data JSONB NOT NULL DEFAULT '{}'::jsonb,
            reason TEXT,
            failed_utc TEXT
        )
        """
    }

    /// The names of every table and index the statements create, to check the catalog against.
    var relationNames: [String] {
        [names.table.name, names.failedTable.name] + names.indexes.map(\.name.name)
    }

    /// The statements as one script, each ending in `;`, both tables closed to the Data API's roles.
    var script: String {
        statements().map { $0 + ";\n" }.joined(separator: "\n")
    }
}
