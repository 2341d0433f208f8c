import Foundation
import TestSupport
import Testing

@testable import DocumentStore

private let publicSchema = SQLIdentifier("public")!

/// The names of `collection` in the `public` schema under `prefix`.
private func tableNames(_ prefix: String, _ collection: String) throws -> TableNames {
    TableNames(schema: publicSchema, prefix: prefix, collection: try CollectionName(collection))
}

/// The SHA-256 of `text` as lowercase hex, computed by coreutils' `sha256sum` rather than the product.
private func sha256sum(_ text: String) throws -> String {
    String(try PipedTool.run("/usr/bin/sha256sum", input: text).output.prefix(64))
}

/// What SPEC section 3 says a name longer than 63 bytes becomes: a prefix of it, `_`, 8 hex digits of
/// its SHA-256, 63 bytes in all.
private func shortened(_ name: String) throws -> String {
    String(decoding: name.utf8.prefix(54), as: UTF8.self) + "_" + String(try sha256sum(name).prefix(8))
}

/// Every relation (table, failed-migrations table, index) a collection creates.
private func relations(_ names: TableNames) -> Set<String> {
    Set(CollectionDDL(names: names).relationNames)
}

@Suite("Table, index and collection names")
struct NamingTests {
    // MARK: SPEC section 3's rule

    @Test(
        "the table is the prefix without `_` when that ends with the collection, else prefix + collection",
        arguments: [
            ("parlant_sessions_", "sessions", "parlant_sessions"),
            ("parlant_sessions_", "events", "parlant_sessions_events"),
            ("parlant_sessions_", "metadata", "parlant_sessions_metadata"),
            ("parlant_customers_", "customers", "parlant_customers"),
            ("parlant_customers_", "customer_tag_associations", "parlant_customers_customer_tag_associations"),
            ("parlant_context_variables_", "variables", "parlant_context_variables"),
            ("parlant_context_variables_", "values", "parlant_context_variables_values"),
            (
                "parlant_context_variables_", "variable_tag_associations",
                "parlant_context_variables_variable_tag_associations"
            ),
            ("app_sessions", "sessions", "app_sessions"),
            ("s_", "s", "s"),
            ("s_", "sessions", "s_sessions"),
        ]
    )
    func tableName(prefix: String, collection: String, table: String) throws {
        let names = try tableNames(prefix, collection)
        #expect(names.table.name == table)
        let failed = table + "_failed_migrations"
        #expect(names.failedTable.name == (failed.utf8.count <= 63 ? failed : try shortened(failed)))
    }

    @Test("the default stores' primary and known collections get the documented tables")
    func storeTables() throws {
        let expected: [Store: [String]] = [
            .sessions: ["parlant_sessions", "parlant_sessions_events", "parlant_sessions_metadata"],
            .customers: [
                "parlant_customers", "parlant_customers_customer_tag_associations", "parlant_customers_metadata",
            ],
            .variables: [
                "parlant_context_variables", "parlant_context_variables_variable_tag_associations",
                "parlant_context_variables_values", "parlant_context_variables_metadata",
            ],
        ]
        for store in Store.allCases {
            let tables = store.knownCollections.map {
                TableNames(schema: publicSchema, prefix: store.defaultTablePrefix, collection: $0).table.name
            }
            #expect(tables == expected[store])
        }
    }

    @Test("a collection that only shares the end of the prefix's last word gets a table of its own")
    func partialWordGetsOwnTable() throws {
        // Read literally ("ends with"), SPEC section 3 would give `ions` the table of `sessions`; its other
        // promise, that two collections never share a table, wins.
        #expect(try tableNames("parlant_sessions_", "ions").table.name == "parlant_sessions_ions")
        #expect(try tableNames("parlant_sessions_", "sessions").table.name == "parlant_sessions")
        #expect(
            try tableNames("parlant_context_variables_", "context_variables").table.name
                != tableNames("parlant_context_variables_", "variables").table.name
        )
    }

    @Test("qualified names are the quoted schema and table, and carry no binds")
    func qualifiedNames() throws {
        let names = TableNames(
            schema: SQLIdentifier("tenant_1")!, prefix: "parlant_sessions_", collection: try CollectionName("events")
        )
        #expect(names.qualifiedTable.sql.text == #""tenant_1"."parlant_sessions_events""#)
        #expect(names.qualifiedTable.sql.binds.isEmpty)
        #expect(names.qualifiedFailedTable.sql.text == #""tenant_1"."parlant_sessions_events_failed_migrations""#)
    }

    @Test("index names are idx_<table>_<suffix>")
    func indexNames() throws {
        let names = try tableNames("parlant_sessions_", "sessions")
        #expect(names.index("creation_utc").name == "idx_parlant_sessions_creation_utc")
        #expect(names.index("session_id_creation_utc_id").name == "idx_parlant_sessions_session_id_creation_utc_id")
    }

    // MARK: Names longer than 63 bytes

    @Test("a table name of exactly 63 bytes is kept, 64 bytes is shortened")
    func shorteningBoundary() throws {
        let fits = try tableNames("parlant_sessions_", String(repeating: "c", count: 46))
        #expect(fits.table.name.utf8.count == 63)
        #expect(fits.table.name == "parlant_sessions_" + String(repeating: "c", count: 46))

        let full = "parlant_sessions_" + String(repeating: "c", count: 47)
        let over = try tableNames("parlant_sessions_", String(repeating: "c", count: 47))
        #expect(over.table.name == (try shortened(full)))
        #expect(over.table.name.utf8.count == 63)
    }

    @Test("a long name becomes its first 54 bytes, _ and 8 hex digits of its SHA-256")
    func shortenedName() throws {
        let collection = String(repeating: "a", count: 63)
        let names = try tableNames("parlant_sessions_", collection)
        // printf '%s' "parlant_sessions_$(printf 'a%.0s' $(seq 63))" | sha256sum  ->  68826c122f0d6209...
        #expect(names.table.name == "parlant_sessions_" + String(repeating: "a", count: 37) + "_68826c12")
        #expect(names.table.name == (try shortened("parlant_sessions_" + collection)))
        #expect(names.failedTable.name == (try shortened("parlant_sessions_" + collection + "_failed_migrations")))
        #expect(names.failedTable.name.utf8.count == 63)
    }

    @Test("a failed-migrations table is shortened even when its collection table is not")
    func shortenedFailedTable() throws {
        let collection = String(repeating: "f", count: 40)
        let names = try tableNames("parlant_sessions_", collection)
        #expect(names.table.name == "parlant_sessions_" + collection)
        #expect(
            names.failedTable.name == (try shortened("parlant_sessions_\(collection)_failed_migrations"))
        )
    }

    @Test("index names are shortened the same way, from the whole table name")
    func shortenedIndexNames() throws {
        let collection = String(repeating: "i", count: 63)
        let names = try tableNames("parlant_customers_", collection)
        for suffix in ["creation_utc", "data_gin", "customer_id_creation_utc_id"] {
            let index = names.index(suffix).name
            #expect(index == (try shortened("idx_parlant_customers_\(collection)_\(suffix)")))
            #expect(index.utf8.count == 63)
        }
        #expect(try tableNames("p_", "short").index("data_gin").name == "idx_p_short_data_gin")
    }

    @Test("two long names with the same first 63 bytes get different tables, failed tables and indexes")
    func longNamesStayDistinct() throws {
        let stem = String(repeating: "l", count: 58)
        let first = try tableNames("parlant_sessions_", stem + "first")
        let second = try tableNames("parlant_sessions_", stem + "other")
        #expect(Array(("parlant_sessions_" + stem).utf8).count > 63)
        #expect(first.table != second.table)
        #expect(first.failedTable != second.failedTable)
        #expect(first.table.name.dropLast(9) == second.table.name.dropLast(9))
        #expect(relations(first).isDisjoint(with: relations(second)))
    }

    // MARK: No two collections share a relation

    @Test("the relations of every known collection of every default store are distinct")
    func knownCollectionsDoNotCollide() {
        var seen: [String: String] = [:]
        for store in Store.allCases {
            for collection in store.knownCollections {
                let names = TableNames(schema: publicSchema, prefix: store.defaultTablePrefix, collection: collection)
                for relation in relations(names) {
                    let owner = "\(store)/\(collection)"
                    #expect(seen[relation] == nil, "\(relation) of \(owner) also of \(seen[relation] ?? "")")
                    seen[relation] = owner
                }
            }
        }
        #expect(seen.count == 10 * 12)
    }

    @Test(
        "a collection named like an index suffix does not take another collection's index name",
    )
    func indexNamesDoNotCollide() throws {
        let sessions = try tableNames("parlant_sessions_", "sessions")
        let sessionID = try tableNames("parlant_sessions_", "session_id")
        #expect(relations(sessions).isDisjoint(with: relations(sessionID)))
        let events = try tableNames("parlant_sessions_", "events")
        let eventsAgentID = try tableNames("parlant_sessions_", "events_agent_id")
        #expect(relations(events).isDisjoint(with: relations(eventsAgentID)))
    }

    @Test(
        "a short collection cannot take the shortened table name of a long one",
    )
    func shortenedNamesCannotBeForged() throws {
        let long = try tableNames("parlant_sessions_", "events_" + String(repeating: "e", count: 56))
        let forged = String(long.table.name.dropFirst("parlant_sessions_".count))
        let forger = try tableNames("parlant_sessions_", forged)
        #expect(forger.table != long.table)
    }

    // MARK: Collection names and identifiers

    @Test(
        "collection names match ^[a-z][a-z0-9_]{0,62}$",
        arguments: [
            "a", "sessions", "customer_tag_associations", "v2", "a_", "failed_migrations_log",
            "a" + String(repeating: "_", count: 62),
        ]
    )
    func validCollectionName(name: String) throws {
        #expect(try CollectionName(name).rawValue == name)
        #expect(try CollectionName(name).description == name)
    }

    @Test(
        "other collection names are invalid_collection",
        arguments: [
            "", "A", "Sessions", "1a", "_a", "a-b", "a b", "a.b", "é", "a;drop", "a\"", "a\n",
            String(repeating: "a", count: 64),
        ]
    )
    func invalidCollectionName(name: String) {
        let error = #expect(throws: DocumentStoreError.self) { try CollectionName(name) }
        #expect(error?.code == "invalid_collection")
    }

    @Test(
        "names of failed-migrations tables are reserved",
        arguments: ["failed_migrations", "events_failed_migrations", "a_failed_migrations"]
    )
    func reservedCollectionName(name: String) throws {
        let error = try #require(throws: DocumentStoreError.self) { try CollectionName(name) }
        #expect(error.code == "invalid_collection")
        #expect(error.message.contains("reserved"))
    }

    @Test(
        "SQL identifiers accept ^[a-z_][a-z0-9_$]*$ up to 63 bytes and are written in double quotes",
        arguments: ["public", "_x", "a1", "a$b", "parlant_sessions", String(repeating: "z", count: 63)]
    )
    func validIdentifier(name: String) throws {
        let identifier = try #require(SQLIdentifier(name))
        #expect(identifier.name == name)
        #expect(identifier.quoted == "\"\(name)\"")
    }

    @Test(
        "other identifiers are refused",
        arguments: [
            "", "Public", "1a", "$a", "a-b", "a b", "a\"b", "a.b", "é", "a;", String(repeating: "z", count: 64),
        ]
    )
    func invalidIdentifier(name: String) {
        #expect(SQLIdentifier(name) == nil)
    }

    // MARK: DDL

    @Test("the DDL creates the seed's columns and every index SPEC section 3 lists, idempotently")
    func ddl() throws {
        let statements = CollectionDDL(names: try tableNames("parlant_sessions_", "sessions")).statements()
        let table = #""public"."parlant_sessions""#
        let create = try #require(statements.first)
        #expect(create.hasPrefix("CREATE TABLE IF NOT EXISTS \(table) ("))
        for column in [
            "id TEXT NOT NULL PRIMARY KEY", "version TEXT", "creation_utc TEXT", "session_id TEXT", "customer_id TEXT",
            "agent_id TEXT", "data JSONB NOT NULL DEFAULT '{}'",
        ] {
            #expect(create.contains(column))
        }

        let indexes = statements.filter { $0.hasPrefix("CREATE INDEX") }
        #expect(indexes.count == 10)
        #expect(index(#"(version, creation_utc COLLATE "C", id COLLATE "C")"#).count == 1)
        #expect(indexes.allSatisfy { $0.hasPrefix("CREATE INDEX IF NOT EXISTS \"idx_parlant_sessions_") })
        /// The index statements on `table` whose definition ends with `definition`.
        func index(_ definition: String) -> [String] {
            indexes.filter { $0.hasSuffix(" ON \(table) \(definition)") }
        }
        #expect(index("(creation_utc)").count == 1)
        for column in ["session_id", "customer_id", "agent_id"] {
            #expect(index("(\(column)) WHERE \(column) IS NOT NULL").count == 1)
            #expect(
                index(#"(\#(column), creation_utc COLLATE "C", id COLLATE "C") WHERE \#(column) IS NOT NULL"#).count == 1)
        }
        #expect(index("USING GIN (data)").count == 1)
        #expect(index(#"(creation_utc COLLATE "C", id COLLATE "C")"#).count == 1)

        let failed = #""public"."parlant_sessions_failed_migrations""#
        let createFailed = statements.first { $0.hasPrefix("CREATE TABLE IF NOT EXISTS \(failed) (") }
        #expect(createFailed?.contains("data JSONB NOT NULL") == true)
        #expect(statements.filter { $0.hasPrefix("CREATE") }.allSatisfy { $0.contains("IF NOT EXISTS") })
    }

    @Test("the DDL closes each table it creates to the Data API's roles, right after creating it")
    func ddlClosesTables() throws {
        let ddl = CollectionDDL(names: try tableNames("parlant_sessions_", "sessions"))
        let table = #""public"."parlant_sessions""#
        let failed = #""public"."parlant_sessions_failed_migrations""#
        let statements = ddl.statements()
        for name in [table, failed] {
            let create = try #require(statements.firstIndex { $0.hasPrefix("CREATE TABLE IF NOT EXISTS \(name) (") })
            #expect(statements[create + 1] == "ALTER TABLE \(name) ENABLE ROW LEVEL SECURITY")
            let revoke = statements[create + 2]
            #expect(revoke.hasPrefix("DO $docstore$"))
            for role in ["anon", "authenticated"] {
                #expect(revoke.contains("IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '\(role)')"))
                #expect(revoke.contains("REVOKE ALL ON TABLE \(name) FROM \(role);"))
            }
        }
        let onlyFailed = ddl.statements(closing: [.failedMigrations])
        #expect(!onlyFailed.contains { $0.contains("ALTER TABLE \(table) ENABLE") || $0.contains("ON TABLE \(table) FROM") })
        #expect(onlyFailed.contains("ALTER TABLE \(failed) ENABLE ROW LEVEL SECURITY"))
        #expect(!ddl.statements(closing: []).contains { $0.contains("ROW LEVEL SECURITY") || $0.hasPrefix("DO ") })
    }

    @Test("the Data API statements keep their dollar quote intact whatever the schema is called")
    func dataAPIDollarQuote() throws {
        let schema = try #require(SQLIdentifier("a$docstore$b"))
        let table = QualifiedName(schema: schema, name: try #require(SQLIdentifier("t")))
        let block = try #require(DataAPIRoles.closingStatements(for: [table]).last)
        let tag = try #require(block.firstMatch(of: /^DO (\$[a-z_]*\$)/)?.output.1)
        #expect(tag != "$docstore$")
        #expect(block.hasSuffix(String(tag)))
        #expect(block.dropFirst(3 + tag.count).dropLast(tag.count).ranges(of: tag).isEmpty)
    }

    @Test("every relation the DDL names is distinct, at most 63 bytes, and created by the script")
    func relationNames() throws {
        for collection in ["sessions", "events", String(repeating: "x", count: 63)] {
            let ddl = CollectionDDL(names: try tableNames("parlant_sessions_", collection))
            #expect(Set(ddl.relationNames).count == 12)
            #expect(ddl.relationNames.allSatisfy { $0.utf8.count <= 63 })
            for name in ddl.relationNames {
                #expect(ddl.script.contains("\"\(name)\""))
            }
            let quoted = ddl.script.matches(of: /"([^"]*)"/).map { String($0.output.1) }
            #expect(quoted.allSatisfy { $0.utf8.count <= 63 })
        }
    }
}
