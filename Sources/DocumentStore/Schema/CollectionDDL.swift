/// The DDL of one collection: its table with the seed document's columns, its indexes, and its
/// failed-migrations table, both closed to Supabase's Data API. Every statement is idempotent.
struct CollectionDDL {
    let names: TableNames

    /// Columns that are copies of the document's top-level fields of the same name.
    static let copiedColumns = ["version", "creation_utc", "session_id", "customer_id", "agent_id"]
    /// Columns with a partial index of their own and a composite `(column, creation_utc, id)` one.
    static let scopeColumns = ["session_id", "customer_id", "agent_id"]
    /// Columns the failed-migrations table has beyond the seed's `(id, data)`.
    static let failedTableExtraColumns = ["reason", "failed_utc"]

    /// Every statement, in the order to run them. The tables named by `closing` are closed to the Data
    /// API's roles right after their `CREATE` (`DataAPIRoles`); the service closes only tables it creates,
    /// so grants an operator made on an existing table are left as they are.
    func statements(closing: Set<Table> = [.collection, .failedMigrations]) -> [String] {
        var statements = [createTable]
        if closing.contains(.collection) {
            statements += DataAPIRoles.closingStatements(for: [names.qualifiedTable])
        }
        statements += indexStatements
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
        let table = names.qualifiedTable.sql.text
        var statements = [
            "CREATE INDEX IF NOT EXISTS \(names.index("creation_utc").quoted) ON \(table) (creation_utc)"
        ]
        for column in Self.scopeColumns {
            statements.append(
                "CREATE INDEX IF NOT EXISTS \(names.index(column).quoted) ON \(table) (\(column)) "
                    + "WHERE \(column) IS NOT NULL"
            )
        }
        statements.append("CREATE INDEX IF NOT EXISTS \(names.index("data_gin").quoted) ON \(table) USING GIN (data)")
        statements.append(
            "CREATE INDEX IF NOT EXISTS \(names.ownIndex("creation_utc_id").quoted) ON \(table) (creation_utc, id)"
        )
        for column in Self.scopeColumns {
            statements.append(
                "CREATE INDEX IF NOT EXISTS \(names.ownIndex("\(column)_creation_utc_id").quoted) "
                    + "ON \(table) (\(column), creation_utc, id) WHERE \(column) IS NOT NULL"
            )
        }
        return statements
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
        var names = [self.names.table.name, self.names.failedTable.name]
        names += ["creation_utc", "data_gin"].map { self.names.index($0).name }
        names.append(self.names.ownIndex("creation_utc_id").name)
        names += Self.scopeColumns.map { self.names.index($0).name }
        names += Self.scopeColumns.map { self.names.ownIndex("\($0)_creation_utc_id").name }
        return names
    }

    /// The statements as one script, each ending in `;`, both tables closed to the Data API's roles.
    var script: String {
        statements().map { $0 + ";\n" }.joined(separator: "\n")
    }
}
