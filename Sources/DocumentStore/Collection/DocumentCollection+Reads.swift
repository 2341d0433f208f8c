extension DocumentCollection {
    /// One keyset page of the documents matching `query.filter`, or all of them when there is no limit.
    /// For large results without a limit, prefer `stream`, whose memory stays flat.
    public func find(_ query: FindQuery) throws(DocumentStoreError) -> FindPage {
        try perform(findOperation(query))
    }

    /// `find` over the documents moved to the failed-migrations table.
    public func findFailedMigrations(_ query: FindQuery) throws(DocumentStoreError) -> FindPage {
        try perform(findOperation(query, failedMigrations: true))
    }

    /// The number of documents matching `filter`.
    public func count(_ filter: Where) throws(DocumentStoreError) -> Int {
        let query = countQuery(filter, in: table)
        return try perform(
            CollectionOperation(
                self, named: "count", .statements([PipelineStatement(query: query, reusable: true)], decode: Self.decodeCount),
                whenMissing: 0))
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

    /// `stream` (or `streamFailedMigrations`) for `StoreExecutor.stream`.
    public func streamOperation(
        _ filter: Where,
        after cursor: Cursor? = nil,
        descending: Bool = false,
        failedMigrations: Bool = false
    ) -> StreamOperation {
        StreamOperation(query: pageQuery(filter, cursor, descending, limit: nil, in: failedMigrations ? failedTable : table))
    }

    /// The first document matching `filter` in the order of `sort` (then `creation_utc`, `id`).
    ///
    /// Each sort key orders numbers numerically, strings by code point, `false` before `true`; values of
    /// different types group by type (null, string, number, boolean, array, object); missing fields last.
    public func findOne(_ filter: Where, sort: [SortKey] = []) throws(DocumentStoreError) -> StoredDocument? {
        try perform(try findOneOperation(filter, sort: sort))
    }

    /// The document with this id, or `nil`.
    public func get(id: String) throws(DocumentStoreError) -> StoredDocument? {
        try perform(getOperation(id: id))
    }

    /// Whether the collection's table exists.
    public func exists() throws(DocumentStoreError) -> Bool {
        try database.run { connection in try database.schemaManager.tableExists(names, on: connection) }
    }

    // MARK: Operations

    /// `get(id:)` as an operation: a point read.
    public func getOperation(id: String) -> CollectionOperation<StoredDocument?> {
        CollectionOperation(
            self, named: "get", .row(RowOperation(kind: .read, key: id, json: nil), decode: { row in row.map(DocumentTable.document) }),
            whenMissing: .some(nil))
    }

    /// `find` (or `findFailedMigrations`) as an operation: the page, and the count when asked for. Refuses a
    /// limit out of range.
    public func findOperation(
        _ query: FindQuery,
        failedMigrations: Bool = false
    ) throws(DocumentStoreError) -> CollectionOperation<FindPage> {
        if let limit = query.limit, !(1...FindQuery.maximumLimit).contains(limit) {
            throw .invalidRequest("limit must be between 1 and \(FindQuery.maximumLimit)")
        }
        let table = failedMigrations ? failedTable : table
        let fetch = query.limit.map { $0 + 1 }
        var statements = [
            PipelineStatement(
                query: pageQuery(query.filter, query.cursor, query.descending, limit: fetch, in: table), reusable: true)
        ]
        if query.countsAll {
            statements.append(PipelineStatement(query: countQuery(query.filter, in: table), reusable: true))
        }
        let empty = FindPage(items: [], totalCount: 0, hasMore: false, nextCursor: nil)
        return CollectionOperation(
            self, named: "find",
            .statements(statements) { results throws(DocumentStoreError) in
                var rows = results.first?.rows ?? []
                var hasMore = false
                if let limit = query.limit, rows.count > limit {
                    hasMore = true
                    rows.removeLast(rows.count - limit)
                }
                let items = rows.map(DocumentTable.document)
                let total = query.countsAll ? try Self.decodeCount(Array(results.dropFirst())) : items.count
                return FindPage(
                    items: items, totalCount: total, hasMore: hasMore, nextCursor: hasMore ? items.last?.cursor : nil)
            },
            whenMissing: empty)
    }

    /// `findOne` as an operation.
    public func findOneOperation(
        _ filter: Where, sort: [SortKey] = []
    ) throws(DocumentStoreError) -> CollectionOperation<StoredDocument?> {
        guard sort.count <= SortKey.maximumCount else {
            throw .invalidRequest("sort takes at most \(SortKey.maximumCount) keys, not \(sort.count)")
        }
        var order: [SQLQuery] = sort.map(Self.sortTerms)
        order.append(#"creation_utc COLLATE "C" ASC, id COLLATE "C" ASC"#)
        let query: SQLQuery = """
            SELECT \(table.selection) FROM \(table.name.sql) WHERE \(table.condition(filter)) \
            ORDER BY \(SQLQuery.joined(order, separator: ", ")) LIMIT 1
            """
        return CollectionOperation(
            self, named: "find_one", .statements([PipelineStatement(query: query, reusable: true)], decode: Self.decodeFirstDocument),
            whenMissing: .some(nil))
    }

    /// The first row of the first result, as a document, or nil.
    @Sendable static func decodeFirstDocument(_ results: [QueryResult]) -> StoredDocument? {
        results.first?.rows.first.map(DocumentTable.document)
    }

    @Sendable private static func decodeCount(_ results: [QueryResult]) throws(DocumentStoreError) -> Int {
        guard let text = results.first?.rows.first?.first ?? nil, let count = Int(text) else {
            throw DocumentStoreError(.internalError, "The count returned no number.")
        }
        return count
    }

    private func countQuery(_ filter: Where, in table: DocumentTable) -> SQLQuery {
        "SELECT count(*) FROM \(table.name.sql) WHERE \(table.condition(filter))"
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
