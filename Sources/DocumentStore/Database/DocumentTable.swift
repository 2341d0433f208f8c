/// A table that holds documents in `data`: a collection's own table or its failed-migrations table.
struct DocumentTable {
    let name: QualifiedName
    /// Collection tables have the copied columns; failed-migrations tables only `id` and `data`.
    let hasColumns: Bool

    /// The ordering value: the `creation_utc` column, or the field itself where there is no column.
    var creationUTC: SQLQuery { hasColumns ? "creation_utc" : "(data ->> 'creation_utc')" }

    /// The columns every document query selects, decoded by `document(from:)`.
    var selection: SQLQuery { "data::text, id, \(creationUTC)" }

    func condition(_ filter: Where) -> SQLQuery {
        WhereSQL(hasColumns: hasColumns).condition(filter)
    }

    /// `ORDER BY` for the keyset order: `creation_utc`, then `id`, by code point (`COLLATE "C"`) whatever
    /// the database's collation, as the keyset indexes are built (`TableNames.keysetColumns`).
    func keysetOrder(descending: Bool) -> SQLQuery {
        let direction = descending ? "DESC" : "ASC"
        return """
            ORDER BY \(creationUTC) COLLATE "C" \(unsafeSQL: direction), id COLLATE "C" \(unsafeSQL: direction)
            """
    }

    /// Rows strictly after `cursor` in the keyset order.
    func after(_ cursor: Cursor, descending: Bool) -> SQLQuery {
        let comparison = descending ? "<" : ">"
        return """
            (\(creationUTC) COLLATE "C", id COLLATE "C") \(unsafeSQL: comparison) \
            (\(bind: cursor.creationUTC), \(bind: cursor.id))
            """
    }

    static func document(from row: [String?]) -> StoredDocument {
        StoredDocument(json: row[0] ?? "{}", id: row[1] ?? "", creationUTC: row[2])
    }
}
