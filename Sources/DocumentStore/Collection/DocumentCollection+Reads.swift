extension DocumentCollection {
    /// One keyset page of the documents matching `query.filter`, or all of them when there is no limit.
    /// For large results without a limit, prefer `stream`, whose memory stays flat.
    public func find(_ query: FindQuery) throws(DocumentStoreError) -> FindPage {
        try find(query, in: table)
    }

    /// `find` over the documents moved to the failed-migrations table.
    public func findFailedMigrations(_ query: FindQuery) throws(DocumentStoreError) -> FindPage {
        try find(query, in: failedTable)
    }

    /// The number of documents matching `filter`.
    public func count(_ filter: Where) throws(DocumentStoreError) -> Int {
        try count(filter, in: table)
    }

    /// Every document matching `filter`, in keyset order after `cursor`, read row by row.
    public func stream(
        _ filter: Where,
        after cursor: Cursor? = nil,
        descending: Bool = false
    ) throws(DocumentStoreError) -> DocumentStream {
        try DocumentStream(database: database, query: pageQuery(filter, cursor, descending, limit: nil, in: table))
    }

    /// `stream` over the failed-migrations table.
    public func streamFailedMigrations(
        _ filter: Where,
        after cursor: Cursor? = nil,
        descending: Bool = false
    ) throws(DocumentStoreError) -> DocumentStream {
        try DocumentStream(
            database: database,
            query: pageQuery(filter, cursor, descending, limit: nil, in: failedTable)
        )
    }

    /// The first document matching `filter` in the order of `sort` (then `creation_utc`, `id`).
    ///
    /// Each sort key orders numbers numerically, strings by code point, `false` before `true`; values of
    /// different types group by type (null, string, number, boolean, array, object); missing fields last.
    public func findOne(_ filter: Where, sort: [SortKey] = []) throws(DocumentStoreError) -> StoredDocument? {
        var order: [SQLQuery] = sort.map(Self.sortTerms)
        order.append(#"creation_utc COLLATE "C" ASC, id COLLATE "C" ASC"#)
        let query: SQLQuery = """
            SELECT \(table.selection) FROM \(table.name.sql) WHERE \(table.condition(filter)) \
            ORDER BY \(SQLQuery.joined(order, separator: ", ")) LIMIT 1
            """
        return try read(orEmpty: nil) { connection in
            try connection.query(query, reusable: true).rows.first.map(DocumentTable.document)
        }
    }

    /// The document with this id, or `nil`.
    public func get(id: String) throws(DocumentStoreError) -> StoredDocument? {
        let query: SQLQuery = "SELECT \(table.selection) FROM \(table.name.sql) WHERE id = \(bind: id)"
        return try read(orEmpty: nil) { connection in
            try connection.query(query, reusable: true).rows.first.map(DocumentTable.document)
        }
    }

    /// Whether the collection's table exists.
    public func exists() throws(DocumentStoreError) -> Bool {
        try database.run { connection in try database.schemaManager.tableExists(names, on: connection) }
    }

    private func find(_ query: FindQuery, in table: DocumentTable) throws(DocumentStoreError) -> FindPage {
        if let limit = query.limit, !(1...FindQuery.maximumLimit).contains(limit) {
            throw .invalidRequest("limit must be between 1 and \(FindQuery.maximumLimit)")
        }
        let fetch = query.limit.map { $0 + 1 }
        let sql = pageQuery(query.filter, query.cursor, query.descending, limit: fetch, in: table)
        var rows = try read(orEmpty: []) { connection in try connection.query(sql, reusable: true).rows }
        var hasMore = false
        if let limit = query.limit, rows.count > limit {
            hasMore = true
            rows.removeLast(rows.count - limit)
        }
        let items = rows.map(DocumentTable.document)
        let total = query.countsAll ? try count(query.filter, in: table) : items.count
        return FindPage(
            items: items,
            totalCount: total,
            hasMore: hasMore,
            nextCursor: hasMore ? items.last?.cursor : nil
        )
    }

    private func count(_ filter: Where, in table: DocumentTable) throws(DocumentStoreError) -> Int {
        let query: SQLQuery = "SELECT count(*) FROM \(table.name.sql) WHERE \(table.condition(filter))"
        return try read(orEmpty: 0) { connection in
            Int(try connection.query(query, reusable: true).rows.first?.first.flatMap { $0 } ?? "0") ?? 0
        }
    }

    private func pageQuery(
        _ filter: Where,
        _ cursor: Cursor?,
        _ descending: Bool,
        limit: Int?,
        in table: DocumentTable
    ) -> SQLQuery {
        var query: SQLQuery = "SELECT \(table.selection) FROM \(table.name.sql) WHERE \(table.condition(filter))"
        if let cursor {
            query.append(" AND \(table.after(cursor, descending: descending))")
        }
        query.append(" \(table.keysetOrder(descending: descending))")
        if let limit {
            query.append(" LIMIT \(bind: String(limit))")
        }
        return query
    }

    /// The `ORDER BY` terms of one sort key (see `findOne`).
    private static func sortTerms(_ key: SortKey) -> SQLQuery {
        let sql = WhereSQL(hasColumns: true)
        let value = sql.json(key.field)
        let direction = key.descending ? " DESC" : " ASC"
        return """
            (\(value)) IS NULL, \
            CASE jsonb_typeof(\(value)) WHEN 'null' THEN 0 WHEN 'string' THEN 1 WHEN 'number' THEN 2 \
            WHEN 'boolean' THEN 3 WHEN 'array' THEN 4 ELSE 5 END\(unsafeSQL: direction), \
            CASE WHEN jsonb_typeof(\(value)) = 'number' THEN (\(value))::numeric END\(unsafeSQL: direction), \
            CASE WHEN jsonb_typeof(\(value)) = 'string' THEN (\(sql.text(key.field))) END \
            COLLATE "C"\(unsafeSQL: direction), \
            (\(value))\(unsafeSQL: direction)
            """
    }
}
