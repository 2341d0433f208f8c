@testable import DocumentStore

/// Probes of what Supabase's Data API roles can do to a table of the Supabase-like test database
/// (`TestPostgres.supabaseURL`), run as the superuser with `SET LOCAL ROLE`.
public enum DataAPIProbe {
    /// What a role can do to a table's rows. `nil` where PostgreSQL refuses (permission denied); otherwise
    /// the rows it sees, updates or deletes. Every probe is rolled back.
    public struct Reach: Equatable, Sendable {
        public var visible: Int?
        public var updated: Int?
        public var deleted: Int?
        public var inserted: Int?
        public var truncated: Bool

        /// Sees no row, touches no row, adds none, empties nothing.
        public var isClosed: Bool {
            (visible ?? 0) == 0 && (updated ?? 0) == 0 && (deleted ?? 0) == 0 && inserted == nil && !truncated
        }
    }

    /// Runs each probe as `role`, through the superuser's connection to the Supabase-like database.
    public static func reach(of role: String, table: String) throws -> Reach {
        let connection = try PostgresConnection(
            conninfo: TestPostgres.supabaseAdminURL, connectTimeoutSeconds: 5, usesPreparedStatements: false)
        let hasCreation =
            try connection.query(
                """
                SELECT count(*) FROM pg_attribute \
                WHERE attrelid = to_regclass(\(bind: table)) AND attname = 'creation_utc'
                """
            ).rows.first?.first == "1"
        let row = hasCreation ? "(id, creation_utc, data)" : "(id, data)"
        let values = hasCreation ? "('intruder', 'x', '{}')" : "('intruder', '{}')"
        var reach = Reach(truncated: false)
        let visible = try attempt("SELECT count(*) FROM \(table)", as: role, on: connection)
        reach.visible = visible.map { Int($0.rows[0][0] ?? "") ?? -1 }
        reach.updated = try attempt("UPDATE \(table) SET data = '{\"owned\": true}'", as: role, on: connection)?
            .affectedRows
        reach.deleted = try attempt("DELETE FROM \(table)", as: role, on: connection)?.affectedRows
        reach.inserted = try attempt("INSERT INTO \(table) \(row) VALUES \(values)", as: role, on: connection)?
            .affectedRows
        reach.truncated = try attempt("TRUNCATE \(table)", as: role, on: connection) != nil
        return reach
    }

    /// Runs `statement` as `role` in a transaction that is rolled back; `nil` when permission is denied.
    static func attempt(_ statement: String, as role: String, on connection: PostgresConnection) throws -> QueryResult? {
        try connection.execute("BEGIN; SET LOCAL ROLE \(role)")
        let result: QueryResult?
        do {
            result = try connection.query(SQLQuery(stringLiteral: statement))
        } catch {
            guard error.sqlState == "42501" else {
                try connection.execute("ROLLBACK")
                throw error
            }
            result = nil
        }
        try connection.execute("ROLLBACK")
        return result
    }
}
