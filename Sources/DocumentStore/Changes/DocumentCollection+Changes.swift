extension DocumentCollection {
    /// The most rows one read of changes takes from each of the two tables (whole transactions: a
    /// transaction's rows are never split between reads).
    static let changesPerRead = 5_000

    /// Makes the collection's changes visible to watchers (`ChangeTrackingDDL`), creating its tables first
    /// if need be. Idempotent; once this process has done it, it costs no query (until the collection is
    /// dropped through it).
    public func trackChanges() throws(DocumentStoreError) {
        let schema = database.schemaManager
        guard !schema.isTracked(names) else { return }
        let ddl = ChangeTrackingDDL(names: names)
        try write { connection in
            guard try connection.query(ddl.isInstalledQuery).rows.first?.first != "t" else { return }
            try connection.transaction {
                try SchemaManager.lockSchema(names, on: connection)
                try SchemaManager.lockTable(names, on: connection)
                for statement in ddl.statements {
                    try connection.execute(statement)
                }
            }
        }
        schema.rememberTracked(names)
    }

    /// Forgets the deletions recorded more than a day ago; returns how many.
    @discardableResult
    public func pruneDeletions() throws(DocumentStoreError) -> Int {
        let statement = ChangeTrackingDDL(names: names).pruneStatement
        return try database.run { connection in
            try connection.query("\(unsafeSQL: statement)").affectedRows
        }
    }

    /// The payload of the notifications sent when the collection changes (`<schema>.<table>`).
    public var changeNotificationPayload: String {
        ChangeTrackingDDL.payload(of: names)
    }

    /// The watermark to start reading changes from now: the oldest transaction still running.
    public func watermarkOperation() -> CollectionOperation<UInt64> {
        CollectionOperation(
            self, named: "watermark",
            .statements([PipelineStatement(query: "SELECT pg_snapshot_xmin(pg_current_snapshot())::text", reusable: true)]) {
                results throws(DocumentStoreError) in try Self.decodeTransaction(results.first?.rows.first?.first ?? nil)
            })
    }

    /// The changes made by transactions from `watermark` on that have committed, and the next watermark.
    /// The collection's changes must be tracked (`trackChanges`).
    public func changesOperation(since watermark: UInt64) -> CollectionOperation<ChangeBatch> {
        let limit = Self.changesPerRead
        let from: SQLQuery = "\(bind: String(watermark))::xid8"
        let query: SQLQuery = """
            SELECT 'w', pg_snapshot_xmin(pg_current_snapshot())::text, NULL, NULL, NULL \
            UNION ALL (SELECT 'u', change_xid::text, data::text, id, creation_utc FROM \(table.name.sql) \
            WHERE change_xid >= \(from) ORDER BY change_xid FETCH FIRST \(unsafeSQL: String(limit)) ROWS WITH TIES) \
            UNION ALL (SELECT 'd', change_xid::text, data::text, id, data ->> 'creation_utc' \
            FROM \(names.qualifiedDeletionsTable.sql) \
            WHERE change_xid >= \(from) ORDER BY change_xid FETCH FIRST \(unsafeSQL: String(limit)) ROWS WITH TIES)
            """
        return CollectionOperation(
            self, named: "changes", .statements([PipelineStatement(query: query, reusable: true)]) {
                results throws(DocumentStoreError) in try Self.decodeChanges(results.first?.rows ?? [], limit: limit)
            })
    }

    @Sendable private static func decodeChanges(_ rows: [[String?]], limit: Int) throws(DocumentStoreError) -> ChangeBatch {
        var watermark: UInt64 = 0
        var changes: [Change] = []
        var counts = (upserts: 0, deletions: 0)
        var last = (upsert: UInt64(0), deletion: UInt64(0))
        for row in rows where row.count == 5 {
            let transaction = try decodeTransaction(row[1])
            switch row[0] {
            case "w":
                watermark = transaction
            case "u":
                counts.upserts += 1
                last.upsert = max(last.upsert, transaction)
                changes.append(Change(kind: .upsert, document: DocumentTable.document(from: Array(row[2...])), transaction: transaction))
            default:
                counts.deletions += 1
                last.deletion = max(last.deletion, transaction)
                changes.append(Change(kind: .delete, document: DocumentTable.document(from: Array(row[2...])), transaction: transaction))
            }
        }
        // A table read to its limit may hold more past its last transaction: read on from the next one.
        if counts.upserts >= limit { watermark = min(watermark, last.upsert + 1) }
        if counts.deletions >= limit { watermark = min(watermark, last.deletion + 1) }
        changes.sort { $0.transaction < $1.transaction }
        return ChangeBatch(changes: changes, watermark: watermark)
    }

    private static func decodeTransaction(_ text: String?) throws(DocumentStoreError) -> UInt64 {
        guard let text, let value = UInt64(text) else {
            throw DocumentStoreError(.internalError, "PostgreSQL returned no transaction id.")
        }
        return value
    }
}
