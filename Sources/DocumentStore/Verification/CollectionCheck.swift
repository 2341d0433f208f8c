/// One collection the report checks: `sessions/events` and the table prefix of its store.
struct VerificationTarget {
    let store: Store
    let collection: CollectionName
    let prefix: String

    var checkName: String { "\(store.rawValue)/\(collection.rawValue)" }

    /// Every known collection of every store, in `Store.allCases` order; a store missing from
    /// `prefixes` uses its default prefix.
    static func all(_ prefixes: [(store: Store, prefix: String)]) -> [VerificationTarget] {
        Store.allCases.flatMap { store in
            let prefix = prefixes.first { $0.store == store }?.prefix ?? store.defaultTablePrefix
            return store.knownCollections.map { VerificationTarget(store: store, collection: $0, prefix: prefix) }
        }
    }

    /// Whether `prefix` is a table prefix the configuration accepts (the names derived from it are valid).
    static func isValidPrefix(_ prefix: String) -> Bool {
        prefix.utf8.count <= 48 && SQLIdentifier(prefix) != nil && !prefix.contains("$")
    }
}

extension DocumentDatabase {
    /// Checks one collection's tables against the seed's columns and the indexes the store creates; a table
    /// that does not exist yet passes when the user may create it.
    func checkCollection(_ target: VerificationTarget, server: ServerFacts, schema facts: SchemaFacts?) -> CheckOutcome
    {
        guard VerificationTarget.isValidPrefix(target.prefix) else {
            return .fail(
                "the table prefix '\(target.prefix)' of store \(target.store.rawValue) is not valid: use 1 to 48 "
                    + "characters of a-z, 0-9 and _, not starting with a digit (\(target.store.prefixVariable))"
            )
        }
        let names = TableNames(schema: schema, prefix: target.prefix, collection: target.collection)
        let table = "\(schema.name).\(names.table.name)"
        let catalog: CollectionCatalog
        do {
            catalog = try run { connection in try CollectionCatalog.read(names, on: connection) }
        } catch {
            return .fail("cannot read the catalog entry of table \(table): \(error.verificationText)")
        }
        guard catalog.tableExists else {
            guard let facts else {
                return .fail("table \(table) not created yet, and the schema check could not tell if it can be")
            }
            if let problem = facts.creationProblem {
                return .fail("table \(table) not created yet, and cannot be: \(problem)")
            }
            return .pass("not created yet; created on first write (CREATE privilege: yes)")
        }
        let problems = CollectionShapeReview(names: names, catalog: catalog, route: target.checkName, user: server.user)
            .problems
        guard problems.isEmpty else {
            // This process may have ensured the collection before its indexes went missing; forgetting that makes
            // the next write (or `create()`) run the DDL again, as the detail promises.
            schemaManager.forget(names)
            return .fail("table \(table): " + problems.joined(separator: "; "))
        }
        let shape = ExpectedCollectionShape(names: names)
        return .pass(
            "table \(table) has the seed's \(ExpectedCollectionShape.columns.count) columns, its primary key, "
                + "all \(shape.indexes.count) indexes (GIN on data included) and its failed-migrations table "
                + names.failedTable.name
        )
    }
}
