/// One index the service keeps on a collection table: the seed document's (`creation_utc`, the partial
/// ones on `session_id`, `customer_id`, `agent_id`, GIN on `data`) and its own keyset indexes, one of
/// them led by `version`.
struct CollectionIndex: Equatable {
    let name: SQLIdentifier
    /// What follows the table in `CREATE INDEX`, e.g. `(customer_id) WHERE customer_id IS NOT NULL`.
    let clause: String
    /// What `pg_get_indexdef` prints after `USING` for such an index, e.g.
    /// `btree (customer_id) WHERE (customer_id IS NOT NULL)`: how the catalog is compared, by definition
    /// and not by name.
    let definition: String

    /// `CREATE INDEX [CONCURRENTLY] IF NOT EXISTS` on `table`.
    func createStatement(on table: QualifiedName, concurrently: Bool = false) -> String {
        "CREATE INDEX \(concurrently ? "CONCURRENTLY " : "")IF NOT EXISTS \(name.quoted) ON \(table.sql.text) \(clause)"
    }
}

extension TableNames {
    /// Columns with a partial index of their own and a keyset index that leads with them.
    static let scopeColumns = ["session_id", "customer_id", "agent_id"]

    /// The keyset order's columns as a `find` orders them: by code point (`COLLATE "C"`) whatever the
    /// database's collation, as Parlant's own stores order them.
    static let keysetColumns = #"creation_utc COLLATE "C", id COLLATE "C""#

    /// Every index of the collection's table, in the order they are created.
    var indexes: [CollectionIndex] {
        var indexes = [
            CollectionIndex(name: index("creation_utc"), clause: "(creation_utc)", definition: "btree (creation_utc)")
        ]
        for column in Self.scopeColumns {
            indexes.append(
                CollectionIndex(
                    name: index(column),
                    clause: "(\(column)) WHERE \(column) IS NOT NULL",
                    definition: "btree (\(column)) WHERE (\(column) IS NOT NULL)"))
        }
        indexes.append(CollectionIndex(name: index("data_gin"), clause: "USING GIN (data)", definition: "gin (data)"))
        indexes.append(
            CollectionIndex(
                name: ownIndex("keyset"),
                clause: "(\(Self.keysetColumns))",
                definition: "btree (\(Self.keysetColumns))"))
        for column in Self.scopeColumns {
            indexes.append(
                CollectionIndex(
                    name: ownIndex("\(column)_keyset"),
                    clause: "(\(column), \(Self.keysetColumns)) WHERE \(column) IS NOT NULL",
                    definition: "btree (\(column), \(Self.keysetColumns)) WHERE (\(column) IS NOT NULL)"))
        }
        // The versions a collection holds, found by skipping from one to the next (`:versions`), and the
        // keyset pages of one version, which a migration reads.
        indexes.append(
            CollectionIndex(
                name: ownIndex("version_keyset"),
                clause: "(version, \(Self.keysetColumns))",
                definition: "btree (version, \(Self.keysetColumns))"))
        return indexes
    }

    /// The keyset indexes of earlier versions, in the database's collation, which `indexes` replaces:
    /// dropped once their replacements are built.
    var replacedIndexes: [SQLIdentifier] {
        [ownIndex("creation_utc_id")] + Self.scopeColumns.map { ownIndex("\($0)_creation_utc_id") }
    }
}
