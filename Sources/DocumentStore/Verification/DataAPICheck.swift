/// What the catalog says about the stores' tables and Supabase's Data API roles (`DataAPIRoles`).
struct DataAPIExposure {
    struct Table {
        let name: QualifiedName
        let rowSecurity: Bool
        /// The API roles that may use the schema and hold a privilege on the table, directly, through PUBLIC or
        /// through another role.
        let reachableBy: [String]
        /// Whether PUBLIC holds a privilege on it (revoking from the roles alone would not close it).
        let grantedToPublic: Bool
        /// Whether the service's user owns it (or is a member of its owner).
        let owned: Bool
        let owner: String
        /// Whether any row-level security policy is defined on it.
        let hasPolicies: Bool
    }

    /// The API roles that exist in this database; none outside a Supabase project.
    let roles: [String]
    /// Those of them that may use the schema, so that a table privilege alone opens a table to them (in a
    /// Supabase project, `public` and any schema exposed through the Data API).
    let rolesUsingSchema: [String]
    /// Whether the service's user is a superuser or has BYPASSRLS.
    let userBypassesRowSecurity: Bool
    /// Every table of the stores in the schema, by name.
    let tables: [Table]

    /// Reads every table of the schema whose name is a store's: `prefix*`, or the prefix without its `_`.
    static func read(
        schema: SQLIdentifier,
        prefixes: [String],
        on connection: PostgresConnection
    ) throws -> DataAPIExposure {
        let roleList = JSONValue.array(DataAPIRoles.names.map { .string($0) }).serialized
        let facts = try connection.query(
            """
            SELECT (SELECT string_agg(rolname, ',' ORDER BY rolname) FROM pg_roles \
             WHERE rolname IN (SELECT jsonb_array_elements_text(\(bind: roleList)::jsonb))), \
            (SELECT string_agg(r.rolname, ',' ORDER BY r.rolname) FROM pg_roles r, pg_namespace n \
             WHERE r.rolname IN (SELECT jsonb_array_elements_text(\(bind: roleList)::jsonb)) \
             AND n.nspname = \(bind: schema.name) AND has_schema_privilege(r.oid, n.oid, 'USAGE')), \
            (SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user)
            """
        ).rows.first ?? []
        let list = { (index: Int) in
            facts.count > index ? (facts[index] ?? nil).map { $0.split(separator: ",").map(String.init) } ?? [] : []
        }
        let starts = JSONValue.array(prefixes.map { .string($0) }).serialized
        let exact = JSONValue.array(prefixes.map { .string($0.hasSuffix("_") ? String($0.dropLast()) : $0) })
            .serialized
        let rows = try connection.query(
            """
            SELECT c.relname, c.relrowsecurity, \
            (SELECT string_agg(r.rolname, ',' ORDER BY r.rolname) FROM pg_roles r \
             WHERE r.rolname IN (SELECT jsonb_array_elements_text(\(bind: roleList)::jsonb)) \
             AND has_schema_privilege(r.oid, n.oid, 'USAGE') AND has_table_privilege(r.oid, c.oid, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')), \
            EXISTS (SELECT 1 FROM aclexplode(c.relacl) a WHERE a.grantee = 0), \
            pg_has_role(c.relowner, 'USAGE'), pg_get_userbyid(c.relowner), \
            EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid) \
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
            WHERE n.nspname = \(bind: schema.name) AND c.relkind IN ('r', 'p') \
            AND (c.relname IN (SELECT jsonb_array_elements_text(\(bind: exact)::jsonb)) \
                 OR EXISTS (SELECT 1 FROM jsonb_array_elements_text(\(bind: starts)::jsonb) p \
                            WHERE starts_with(c.relname::text, p))) \
            ORDER BY c.relname
            """
        ).rows
        let tables = rows.compactMap { row -> Table? in
            guard row.count == 7, let name = row[0].flatMap(SQLIdentifier.init) else { return nil }
            return Table(
                name: QualifiedName(schema: schema, name: name),
                rowSecurity: row[1] == "t",
                reachableBy: row[2].map { $0.split(separator: ",").map(String.init) } ?? [],
                grantedToPublic: row[3] == "t",
                owned: row[4] == "t",
                owner: row[5] ?? "",
                hasPolicies: row[6] == "t"
            )
        }
        return DataAPIExposure(
            roles: list(0),
            rolesUsingSchema: list(1),
            userBypassesRowSecurity: facts.count > 2 && facts[2] == "t",
            tables: tables
        )
    }

    /// Whether the Data API can reach the table, or could as soon as a grant gave the roles a privilege on it:
    /// the roles may use its schema and its row-level security is off.
    func isOpen(_ table: Table) -> Bool {
        !table.reachableBy.isEmpty || (!rolesUsingSchema.isEmpty && !table.rowSecurity)
    }

    /// What is open about `table`, in words.
    func problems(of table: Table) -> [String] {
        var problems: [String] = []
        if !table.reachableBy.isEmpty {
            problems.append("\(table.reachableBy.joined(separator: " and ")) can read or write it")
        }
        if !rolesUsingSchema.isEmpty && !table.rowSecurity {
            problems.append("row-level security is off")
        }
        return problems
    }

    /// The statements that close `table`: row-level security on, and every privilege of the API roles
    /// (and of PUBLIC, when it holds one) revoked.
    func closingSQL(for table: Table) -> [String] {
        let name = table.name.sql.text
        var grantees = roles.isEmpty ? table.reachableBy : roles
        if table.grantedToPublic { grantees.append("PUBLIC") }
        var statements = ["ALTER TABLE \(name) ENABLE ROW LEVEL SECURITY"]
        if !grantees.isEmpty {
            statements.append("REVOKE ALL ON TABLE \(name) FROM \(grantees.joined(separator: ", "))")
        }
        return statements
    }

    /// The table as `schema.table`, for the report.
    static func label(_ table: Table) -> String {
        "\(table.name.schema.name).\(table.name.name.name)"
    }

    /// Tables with row-level security on, no policy, and an owner the service's user is not: it sees no row.
    var hiddenFromService: [Table] {
        userBypassesRowSecurity ? [] : tables.filter { $0.rowSecurity && !$0.owned && !$0.hasPolicies }
    }
}

/// What `closeStoreTablesToDataAPI` did.
public struct DataAPIClosure: Sendable {
    /// The tables closed now, as `schema.table`.
    public let closed: [String]
    /// Tables that are open but owned by another role, which must close them: `schema.table`, the owner, and
    /// the SQL to run.
    public let notOwned: [(table: String, owner: String, sql: String)]
}

extension DocumentDatabase {
    /// Checks that no table of the stores is open to Supabase's Data API roles (`anon`, `authenticated`), and
    /// that the service's user can see the rows of every table with row-level security on.
    func checkDataAPI(tablePrefixes: [String]) -> CheckOutcome {
        let exposure: DataAPIExposure
        do {
            exposure = try run { connection in
                try DataAPIExposure.read(schema: schema, prefixes: tablePrefixes, on: connection)
            }
        } catch {
            return .fail("cannot read the privileges on the stores' tables: \(error.verificationText)")
        }
        let open = exposure.tables.filter(exposure.isOpen)
        let hidden = exposure.hiddenFromService
        var problems: [String] = []
        if !open.isEmpty {
            let listed = open.map { table in
                "\(DataAPIExposure.label(table)) (\(exposure.problems(of: table).joined(separator: "; "))"
                    + (table.owned ? "" : "; owned by \(table.owner), who must run this") + ")"
            }
            let sql = open.flatMap(exposure.closingSQL).map { $0 + ";" }.joined(separator: " ")
            problems.append(
                "\(open.count) of the stores' \(exposure.tables.count) tables are open to Supabase's Data API, so "
                    + "anyone with the project's anon key may read or change them: \(listed.joined(separator: ", ")). "
                    + "Close them with: \(sql) (docstore verify --fix runs it on the tables the service's user owns)"
            )
        }
        if !hidden.isEmpty {
            let names = hidden.map { "\(DataAPIExposure.label($0)) (owned by \($0.owner))" }
            problems.append(
                "row-level security hides every row of \(names.joined(separator: ", ")) from the service's user, "
                    + "which neither owns them nor has BYPASSRLS: let the owner transfer them to it (ALTER TABLE ... "
                    + "OWNER TO), or add a policy for it (CREATE POLICY ... TO <user> USING (true) WITH CHECK (true))"
            )
        }
        guard problems.isEmpty else { return .fail(problems.joined(separator: "; ")) }
        let tables =
            exposure.tables.isEmpty
            ? "no store tables yet; the service creates them with row-level security on and nothing granted to anon "
                + "or authenticated"
            : "none of the stores' \(exposure.tables.count) tables in schema \(schema.name) is readable or writable "
                + "by them"
        guard !exposure.roles.isEmpty else {
            return .pass("no Data API roles (anon, authenticated) in this database, so nothing to close; " + tables)
        }
        guard !exposure.rolesUsingSchema.isEmpty else {
            return .pass(
                "roles \(exposure.roles.joined(separator: ", ")) exist but may not use schema \(schema.name); " + tables)
        }
        let rowSecurity = exposure.tables.isEmpty ? "" : ", and row-level security is on for all"
        return .pass(
            "roles \(exposure.rolesUsingSchema.joined(separator: ", ")) may use schema \(schema.name) (a Supabase "
                + "project): \(tables)\(rowSecurity)")
    }

    /// Closes every open table of the stores that the service's user owns, each in a transaction of its own,
    /// with the SQL `checkDataAPI` names; open tables owned by another role are returned with their SQL.
    public func closeStoreTablesToDataAPI(
        tablePrefixes: [(store: Store, prefix: String)]
    ) throws(DocumentStoreError) -> DataAPIClosure {
        try run { connection in
            let exposure = try DataAPIExposure.read(
                schema: schema, prefixes: tablePrefixes.map(\.prefix), on: connection)
            var closed: [String] = []
            var notOwned: [(table: String, owner: String, sql: String)] = []
            for table in exposure.tables where exposure.isOpen(table) {
                let name = DataAPIExposure.label(table)
                let statements = exposure.closingSQL(for: table)
                guard table.owned else {
                    notOwned.append((name, table.owner, statements.map { $0 + ";" }.joined(separator: " ")))
                    continue
                }
                try connection.transaction {
                    for statement in statements { try connection.execute(statement) }
                }
                closed.append(name)
            }
            return DataAPIClosure(closed: closed, notOwned: notOwned)
        }
    }
}
