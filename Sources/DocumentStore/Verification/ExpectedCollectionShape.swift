/// What a collection's tables must look like: the seed's manual SQL plus the indexes `CollectionDDL` adds.
///
/// Indexes are compared by definition, not by name: an index counts when a valid, non-unique index on the
/// table has the same access method, columns and predicate, i.e. the same text after `USING` in
/// `pg_get_indexdef` (e.g. `btree (session_id) WHERE (session_id IS NOT NULL)`), whatever it is called. The
/// names are those `CollectionDDL` gives, used to say what is missing.
struct ExpectedCollectionShape {
    struct Index: Equatable {
        let name: String
        /// `pg_get_indexdef` from `USING` on, without the word itself.
        let definition: String
    }

    let names: TableNames

    /// The seed's columns and their types, in its order.
    static let columns: [(name: String, type: String)] =
        [("id", "text")] + CollectionDDL.copiedColumns.map { ($0, "text") } + [("data", "jsonb")]

    /// The failed-migrations table's columns.
    static let failedTableColumns = ["id", "data"] + CollectionDDL.failedTableExtraColumns

    /// The primary key's definition.
    static let primaryKeyDefinition = "btree (id)"

    /// Every index `CollectionDDL` creates, in its order.
    var indexes: [Index] {
        names.indexes.map { Index(name: $0.name.name, definition: $0.definition) }
    }

    /// The part of a `pg_get_indexdef` text after ` USING `, or the whole text if it has none.
    static func definition(fromIndexDef text: String) -> String {
        guard let range = text.firstRange(of: " USING ") else { return text }
        return String(text[range.upperBound...])
    }
}
