extension DocumentCollection {
    /// Creates the collection's tables and indexes now, and builds the indexes an existing table lacks before
    /// returning; returns false when the table already existed.
    @discardableResult
    public func create() throws(DocumentStoreError) -> Bool {
        try database.run { connection in
            try database.schemaManager.ensure(names, on: connection, waitingForIndexes: true)
        }
    }

    /// Drops the collection's table and its failed-migrations table, if they exist.
    public func drop() throws(DocumentStoreError) {
        let schema = database.schemaManager
        try database.run { connection in
            try connection.transaction {
                try SchemaManager.lockTable(names, on: connection)
                try connection.execute(
                    """
                    DROP TABLE IF EXISTS \(names.qualifiedFailedTable.sql.text), \(names.qualifiedTable.sql.text), \
                    \(names.qualifiedDeletionsTable.sql.text)
                    """
                )
            }
            schema.forget(names)
        }
    }

    /// Creates the expression indexes Parlant asks for, idempotently. Field names in indexes are
    /// limited to letters, digits and `_` (dotted for nested fields).
    public func ensureIndexes(_ indexes: [IndexSpec]) throws(DocumentStoreError) {
        var statements: [String] = []
        for (position, index) in indexes.enumerated() {
            statements.append(try createIndexStatement(index, position: position))
        }
        guard !statements.isEmpty else { return }
        try write { connection in
            try connection.transaction {
                try SchemaManager.lockTable(names, on: connection)
                for statement in statements {
                    try connection.execute(statement)
                }
            }
        }
    }

    /// Moves the documents with these ids into the failed-migrations table, in one statement, recording
    /// `reason` and the time. Returns how many were moved (ids not found are skipped).
    public func quarantine(ids: [String], reason: String) throws(DocumentStoreError) -> Int {
        try perform(try quarantineOperation(ids: ids, reason: reason))
    }

    /// `quarantine` as an operation; refuses an invalid id.
    public func quarantineOperation(ids: [String], reason: String) throws(DocumentStoreError) -> CollectionOperation<Int> {
        for id in ids { try DocumentID.validate(id) }
        guard !ids.isEmpty else { return CollectionOperation(self, named: "quarantine", .blocking({ 0 })) }
        let idList = JSONValue.array(ids.map { .string($0) }).serialized
        let query: SQLQuery = """
            WITH moved AS (DELETE FROM \(table.name.sql) \
            WHERE id IN (SELECT jsonb_array_elements_text(\(bind: idList)::jsonb)) RETURNING id, data) \
            INSERT INTO \(failedTable.name.sql) (id, data, reason, failed_utc) \
            SELECT id, data, \(bind: reason), \(bind: Timestamp.now()) FROM moved
            """
        return CollectionOperation(
            self, named: "quarantine",
            .statements([PipelineStatement(query: query, reusable: true)]) { results in results.first?.affectedRows ?? 0 },
            writes: true)
    }

    /// `CREATE [UNIQUE] INDEX IF NOT EXISTS` over `data` expressions; the name carries a hash of the
    /// table and the specification so that different indexes never share a name.
    private func createIndexStatement(_ index: IndexSpec, position: Int) throws(DocumentStoreError) -> String {
        guard !index.fields.isEmpty, index.fields.count <= SortKey.maximumCount else {
            throw .invalidRequest("index \(position) must name 1 to \(SortKey.maximumCount) fields")
        }
        var expressions: [String] = []
        var description: [String] = []
        for key in index.fields {
            guard key.field.segments.allSatisfy(Self.isPlainKey) else {
                throw .invalidRequest(
                    "index \(position): field '\(key.field)' must be letters, digits and _ (dots for nesting)"
                )
            }
            let path = key.field.segments.map { " -> '\($0)'" }.joined()
            expressions.append("(data\(path)) \(key.descending ? "DESC" : "ASC")")
            description.append("\(key.field):\(key.descending ? "desc" : "asc")")
        }
        let signature = (index.unique ? "unique " : "") + description.joined(separator: ",")
        let readable = index.fields.map { $0.field.segments.joined(separator: "_") }.joined(separator: "_")
            .lowercased()
        let name = names.ownIndex(readable, identity: signature)
        return "CREATE \(index.unique ? "UNIQUE " : "")INDEX IF NOT EXISTS \(name.quoted) "
            + "ON \(names.qualifiedTable.sql.text) (\(expressions.joined(separator: ", ")))"
    }

    private static func isPlainKey(_ key: String) -> Bool {
        guard let first = key.utf8.first, key.utf8.count <= 63, !(48...57).contains(first) else { return false }
        return key.utf8.allSatisfy { byte in
            (65...90).contains(byte) || (97...122).contains(byte) || (48...57).contains(byte) || byte == 95
        }
    }
}
