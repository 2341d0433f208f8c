/// The roles through which Supabase's Data API (PostgREST) serves a project's tables to anyone holding
/// the project's anon key or a user's token. A Supabase project's default privileges grant them ALL on
/// every new table in `public`, so the service closes its tables to them.
enum DataAPIRoles {
    /// The roles the Data API switches to for requests that do not carry the service role key.
    static let names = ["anon", "authenticated"]

    /// What makes new tables invisible to the Data API: row-level security on (with no policy, so the
    /// API roles see no row while the owner, the service's user, sees all), and the privileges that
    /// default privileges gave the API roles revoked, where those roles exist. Meant for the transaction
    /// that creates the tables.
    static func closingStatements(for tables: [QualifiedName]) -> [String] {
        guard !tables.isEmpty else { return [] }
        var statements = tables.map { "ALTER TABLE \($0.sql.text) ENABLE ROW LEVEL SECURITY" }
        var body = "\nBEGIN\n"
        for role in names {
            body += "    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '\(role)') THEN\n"
            for table in tables {
                body += "        REVOKE ALL ON TABLE \(table.sql.text) FROM \(role);\n"
            }
            body += "    END IF;\n"
        }
        body += "END\n"
        // A schema name may hold `$`: pick a dollar-quote tag that the body does not contain.
        var tag = "$docstore$"
        while body.contains(tag) { tag = "$docstore_" + tag.dropFirst() }
        statements.append("DO \(tag)\(body)\(tag)")
        return statements
    }
}
