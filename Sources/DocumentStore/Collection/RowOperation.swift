/// An operation on one document, found by a key, which an event loop may send together with others of
/// the same kind on the same collection as one statement, each still getting its own row: point reads,
/// inserts and merges by id, and `updateOne` of the first document whose copied column equals a
/// string. Alone, it is the plain one-row statement.
struct RowOperation: Sendable {
    enum Kind: Sendable, Hashable {
        case read
        case insert
        case merge
        /// Merges into the first document in keyset order whose `column` (a copied column) equals the key.
        case updateFirst(column: SQLIdentifier)
    }

    let kind: Kind
    /// The document's id; for `updateFirst`, the value its column equals.
    let key: String
    /// The completed new document (insert) or the patch (merge, `updateFirst`), as JSON text; nil for a
    /// read.
    let json: String?

    /// Whether a batch may skip the operation's row, answering it with a NULL document, where the
    /// statement alone would wait. A batch of merges skips rows that other transactions hold locked, so
    /// that one row lock never stalls the rest; a skipped operation then runs alone.
    var batchMaySkip: Bool { kind == .merge }

    /// Whether two operations of one key must not share a batch: each write must see the other's outcome
    /// (the second insert of an id is a duplicate; the second update of a customer's first document
    /// applies after the first).
    var needsDistinctKey: Bool { kind != .read }

    /// The column of a batch's rows that holds the key of the operation the row answers.
    var resultKeyColumn: Int {
        if case .updateFirst = kind { return 3 }
        return 1
    }

    /// Whether, after a batch fails with an error of PostgreSQL's (not of the link), each operation runs
    /// again alone: the batch was one transaction, rolled back whole, and one write's bad value must fail
    /// that write only.
    var retriesAloneAfterFailure: Bool { kind != .read }
}

extension DocumentCollection {
    /// The one statement running `operations`, all of one kind (and of distinct ids, for writes), whose rows
    /// are `data::text, id, creation_utc`: one per document read, inserted or merged.
    func statement(for operations: [RowOperation]) -> PipelineStatement {
        precondition(!operations.isEmpty && operations.allSatisfy { $0.kind == operations[0].kind })
        let query: SQLQuery
        switch (operations[0].kind, operations.count) {
        case (.read, 1):
            query = "SELECT \(table.selection) FROM \(table.name.sql) WHERE id = \(bind: operations[0].key)"
        case (.read, _):
            let ids = ArrayLiteral.text(operations.map(\.key))
            query = "SELECT \(table.selection) FROM \(table.name.sql) WHERE id = ANY(\(bind: ids)::text[])"
        case (.insert, 1):
            query = insertStatement(document: operations[0].json ?? "{}")
        case (.insert, _):
            // In id order, so that two batches inserting the same ids wait for each other, never deadlock.
            let documents = ArrayLiteral.text(operations.sorted { $0.key < $1.key }.map { $0.json ?? "{}" })
            query = """
                INSERT INTO \(table.name.sql) (\(Self.columnList)) \
                SELECT \(Self.columnValues(of: "d")) FROM unnest(\(bind: documents)::jsonb[]) WITH ORDINALITY AS s(d, n) \
                ORDER BY n ON CONFLICT (id) DO NOTHING RETURNING \(table.selection)
                """
        case (.merge, 1):
            query = """
                UPDATE \(table.name.sql) AS target SET \(Self.mergeAssignments) \
                FROM (SELECT \(bind: operations[0].json ?? "{}")::jsonb AS patch) p \
                WHERE target.id = \(bind: operations[0].key) RETURNING \(Self.targetSelection)
                """
        case (.merge, _):
            // Rows locked by other transactions are skipped, not waited for, and answered with a NULL
            // document; a row that does not exist is not answered.
            let ids = ArrayLiteral.text(operations.map(\.key))
            let patches = ArrayLiteral.text(operations.map { $0.json ?? "{}" })
            query = """
                WITH locked AS MATERIALIZED (\
                SELECT id FROM \(table.name.sql) WHERE id = ANY(\(bind: ids)::text[]) FOR UPDATE SKIP LOCKED), \
                merged AS (UPDATE \(table.name.sql) AS target SET \(Self.mergeAssignments) \
                FROM unnest(\(bind: ids)::text[], \(bind: patches)::jsonb[]) AS p(id, patch) \
                WHERE target.id = p.id AND target.id IN (SELECT id FROM locked) \
                RETURNING \(Self.targetSelection)) \
                SELECT * FROM merged UNION ALL \
                SELECT NULL, id, NULL FROM \(table.name.sql) \
                WHERE id = ANY(\(bind: ids)::text[]) AND id NOT IN (SELECT id FROM locked)
                """
        case (.updateFirst(let column), 1):
            query = updateFirstStatement(
                matching: "\(column) = \(bind: operations[0].key)", patch: operations[0].json ?? "{}")
        case (.updateFirst(let column), _):
            // Each value's first document is locked without waiting: a locked one fails the batch
            // (55P03), and each update then runs alone and waits, as it would have.
            let values = ArrayLiteral.text(operations.map(\.key))
            let patches = ArrayLiteral.text(operations.map { $0.json ?? "{}" })
            query = """
                WITH p AS MATERIALIZED (SELECT v, patch, \
                (SELECT id FROM \(table.name.sql) WHERE \(column) = v \
                ORDER BY creation_utc COLLATE "C", id COLLATE "C" LIMIT 1 FOR UPDATE NOWAIT) AS id \
                FROM unnest(\(bind: values)::text[], \(bind: patches)::jsonb[]) AS u(v, patch)) \
                UPDATE \(table.name.sql) AS target SET \(Self.mergeAssignments) FROM p WHERE target.id = p.id \
                RETURNING \(Self.targetSelection), p.v
                """
        }
        return PipelineStatement(query: query, reusable: true)
    }
}
