/// What the PostgreSQL catalog says about one collection's tables, read without creating anything.
struct CollectionCatalog {
    struct Index {
        let name: String
        let definition: String
        let isPrimary: Bool
        let isUnique: Bool
        let isValid: Bool
    }

    let tableExists: Bool
    let failedTableExists: Bool
    /// The table's columns in order, with their types as `format_type` prints them.
    let columns: [(name: String, type: String)]
    let failedTableColumns: [String]
    let indexes: [Index]
    /// The table privileges the user lacks, among those the service uses.
    let missingPrivileges: [String]
    let failedTableMissingPrivileges: [String]
    /// Whether the user owns the table (or is a member of its owner), as `CREATE INDEX` requires.
    let ownsTable: Bool

    static let tablePrivileges = ["SELECT", "INSERT", "UPDATE", "DELETE"]
    static let failedTablePrivileges = ["SELECT", "INSERT"]

    static func read(_ names: TableNames, on connection: PostgresConnection) throws -> CollectionCatalog {
        let table = names.qualifiedTable.sql.text
        let failed = names.qualifiedFailedTable.sql.text
        let privileges = tablePrivileges.map { "has_table_privilege(t.oid, '\($0)')" }
        let failedPrivileges = failedTablePrivileges.map { "has_table_privilege(f.oid, '\($0)')" }
        let facts =
            try connection.query(
                """
                SELECT t.oid IS NOT NULL, f.oid IS NOT NULL, \
                (SELECT pg_has_role(relowner, 'USAGE') FROM pg_class WHERE oid = t.oid), \
                \(unsafeSQL: (privileges + failedPrivileges).joined(separator: ", ")) \
                FROM (SELECT to_regclass(\(bind: table)) AS oid) t, (SELECT to_regclass(\(bind: failed)) AS oid) f
                """
            ).rows.first ?? []
        guard facts.count == 3 + privileges.count + failedPrivileges.count, facts[0] == "t" else {
            return CollectionCatalog(
                tableExists: false, failedTableExists: facts.count > 1 && facts[1] == "t", columns: [],
                failedTableColumns: [], indexes: [], missingPrivileges: [], failedTableMissingPrivileges: [],
                ownsTable: false)
        }
        let held = facts[3...].map { $0 == "t" }
        let columns = try connection.query(
            """
            SELECT attrelid = to_regclass(\(bind: table)), attname, format_type(atttypid, atttypmod) \
            FROM pg_attribute WHERE attrelid IN (to_regclass(\(bind: table)), to_regclass(\(bind: failed))) \
            AND attnum > 0 AND NOT attisdropped ORDER BY attrelid, attnum
            """
        ).rows
        let indexes = try connection.query(
            """
            SELECT c.relname, i.indisprimary, i.indisunique, i.indisvalid, pg_get_indexdef(i.indexrelid) \
            FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
            WHERE i.indrelid = to_regclass(\(bind: table)) ORDER BY c.relname
            """
        ).rows
        return CollectionCatalog(
            tableExists: true,
            failedTableExists: facts[1] == "t",
            columns: columns.filter { $0[0] == "t" }.map { ($0[1] ?? "", $0[2] ?? "") },
            failedTableColumns: columns.filter { $0[0] == "f" }.map { $0[1] ?? "" },
            indexes: indexes.map { row in
                Index(
                    name: row[0] ?? "",
                    definition: ExpectedCollectionShape.definition(fromIndexDef: row[4] ?? ""),
                    isPrimary: row[1] == "t",
                    isUnique: row[2] == "t",
                    isValid: row[3] == "t"
                )
            },
            missingPrivileges: zip(tablePrivileges, held.prefix(tablePrivileges.count)).filter { !$0.1 }.map(\.0),
            failedTableMissingPrivileges: facts[1] == "t"
                ? zip(failedTablePrivileges, held.suffix(failedTablePrivileges.count)).filter { !$0.1 }.map(\.0) : [],
            ownsTable: facts[2] == "t"
        )
    }
}
