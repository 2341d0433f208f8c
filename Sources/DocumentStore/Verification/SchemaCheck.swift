/// What the `schema` check learned, for the collection and probe checks.
struct SchemaFacts {
    let exists: Bool
    /// Why the user cannot create tables in the schema (with the statement that fixes it); `nil` when it can.
    let creationProblem: String?
}

extension DocumentDatabase {
    /// Checks that the schema exists (or may be created on the first write) and that the user may use it and
    /// create tables in it, with `has_schema_privilege`; creates nothing. Also fails on a read-only server
    /// (a standby, or `default_transaction_read_only`).
    func checkSchema(server: ServerFacts) -> (outcome: CheckOutcome, facts: SchemaFacts?) {
        let name = schema.name
        let row: [String?]
        do {
            row = try run { connection in
                try connection.query(
                    """
                    SELECT n.oid IS NOT NULL, has_database_privilege(current_database(), 'CREATE'), \
                    CASE WHEN n.oid IS NULL THEN NULL ELSE has_schema_privilege(n.oid, 'CREATE') END, \
                    CASE WHEN n.oid IS NULL THEN NULL ELSE has_schema_privilege(n.oid, 'USAGE') END, \
                    pg_is_in_recovery(), current_setting('default_transaction_read_only') \
                    FROM (SELECT \(bind: name)::name AS wanted) w LEFT JOIN pg_namespace n ON n.nspname = w.wanted
                    """
                ).rows.first ?? []
            }
        } catch {
            return (.fail("cannot read the privileges on schema \(name): \(error.verificationText)"), nil)
        }
        guard row.count == 6 else { return (.fail("cannot read the privileges on schema \(name)"), nil) }
        let flag = { (index: Int) in row[index] == "t" || row[index] == "on" }
        let user = sqlName(server.user)
        if flag(4) || flag(5) {
            let why = flag(4) ? "is a read-only standby (in recovery)" : "has default_transaction_read_only = on"
            let problem = "the server \(why): point the service at the primary, writable database"
            return (.fail(problem), SchemaFacts(exists: flag(0), creationProblem: problem))
        }
        guard flag(0) else {
            guard flag(1) else {
                let problem =
                    "schema \(name) does not exist and user \(server.user) lacks CREATE on database "
                    + "\(server.database) to create it: CREATE SCHEMA \(sqlName(name)) AUTHORIZATION \(user), "
                    + "or GRANT CREATE ON DATABASE \(sqlName(server.database)) TO \(user)"
                return (.fail(problem), SchemaFacts(exists: false, creationProblem: problem))
            }
            return (
                .pass(
                    "schema \(name) does not exist yet; it is created on the first write "
                        + "(user \(server.user) has CREATE on database \(server.database))"
                ),
                SchemaFacts(exists: false, creationProblem: nil)
            )
        }
        var missing: [String] = []
        if !flag(3) { missing.append("USAGE") }
        if !flag(2) { missing.append("CREATE") }
        guard missing.isEmpty else {
            let privileges = missing.joined(separator: ", ")
            let problem =
                "user \(server.user) lacks \(missing.joined(separator: " and ")) on schema \(name): "
                + "GRANT \(privileges) ON SCHEMA \(sqlName(name)) TO \(user)"
            return (.fail(problem), SchemaFacts(exists: true, creationProblem: problem))
        }
        return (
            .pass("schema \(name) exists; user \(server.user) has USAGE and CREATE on it"),
            SchemaFacts(exists: true, creationProblem: nil)
        )
    }
}
