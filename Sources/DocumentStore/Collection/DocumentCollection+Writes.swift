extension DocumentCollection {
    /// Inserts one document, generating `id` and `creation_utc` when absent.
    /// Fails with `duplicate_id` when the id exists.
    public func insert(_ document: JSONValue) throws(DocumentStoreError) -> StoredDocument {
        try perform(try insertOperation(document))
    }

    /// Inserts all the documents in one statement, or none of them if any is rejected.
    /// The stored documents come back in the order given.
    public func insertMany(_ documents: [JSONValue]) throws(DocumentStoreError) -> [StoredDocument] {
        try perform(try insertManyOperation(documents))
    }

    /// Creates or wholly replaces the document with this id. A replacement without `creation_utc`
    /// keeps the stored one. Returns the stored document and whether it was created.
    public func replace(
        id: String,
        with document: JSONValue
    ) throws(DocumentStoreError) -> (document: StoredDocument, created: Bool) {
        let outcome = try perform(try replaceOperation(id: id, with: document))
        return (outcome.document, outcome.created)
    }

    /// Merges `patch`'s top-level fields into the document with this id (`{**existing, **patch}`),
    /// atomically; `nil` when there is no such document.
    public func merge(id: String, patch: JSONValue) throws(DocumentStoreError) -> StoredDocument? {
        try perform(try mergeOperation(id: id, patch: patch))
    }

    /// Merges `params` into the first document matching `filter` (in `creation_utc`, `id` order) in one
    /// atomic statement. As in Parlant (`{**existing, **params}`), an `id` in `params` renames the document
    /// (Parlant's context variable values are replaced that way); a taken id fails with `duplicate_id`. With
    /// `upsert`, when none matches, inserts the filter's top-level equalities merged with `params` (with `id`
    /// and `creation_utc` generated when absent).
    public func updateOne(
        _ filter: Where,
        params: JSONValue,
        upsert: Bool = false
    ) throws(DocumentStoreError) -> UpdateOutcome {
        try perform(try updateOneOperation(filter, params: params, upsert: upsert))
    }

    /// Deletes the first document matching `filter` and returns it; `nil` when none matches.
    public func deleteOne(_ filter: Where) throws(DocumentStoreError) -> StoredDocument? {
        try perform(deleteOneOperation(filter))
    }

    /// Deletes the document with this id and returns it; `nil` when there is none.
    public func delete(id: String) throws(DocumentStoreError) -> StoredDocument? {
        try perform(deleteOperation(id: id))
    }

    // MARK: Operations

    /// `insert` as an operation; refuses a document that is not a valid one.
    public func insertOperation(_ document: JSONValue) throws(DocumentStoreError) -> CollectionOperation<StoredDocument> {
        let object = try NewDocument.complete(document)
        let id = object["id"]?.stringValue ?? ""
        return CollectionOperation(
            self, named: "insert",
            .row(RowOperation(kind: .insert, key: id, json: JSONValue.object(object).serialized)) { row throws(DocumentStoreError) in
                guard let row else { throw .duplicateID() }
                return DocumentTable.document(from: row)
            },
            writes: true)
    }

    /// `insertMany` as an operation; refuses the whole array if one document is not valid.
    public func insertManyOperation(
        _ documents: [JSONValue]
    ) throws(DocumentStoreError) -> CollectionOperation<[StoredDocument]> {
        var objects: [JSONValue] = []
        objects.reserveCapacity(documents.count)
        for (index, document) in documents.enumerated() {
            do {
                objects.append(.object(try NewDocument.complete(document)))
            } catch {
                throw DocumentStoreError(.invalidDocument, "document \(index): \(error.message)")
            }
        }
        guard !objects.isEmpty else { return CollectionOperation(self, named: "insert_many", .blocking({ [] })) }
        let query: SQLQuery = """
            INSERT INTO \(table.name.sql) (\(Self.columnList)) \
            SELECT \(Self.columnValues(of: "d")) \
            FROM jsonb_array_elements(\(bind: JSONValue.array(objects).serialized)::jsonb) AS s(d) \
            RETURNING \(table.selection)
            """
        let position = Dictionary(
            objects.enumerated().map { ($0.element.objectValue?["id"]?.stringValue ?? "", $0.offset) },
            uniquingKeysWith: { first, _ in first }
        )
        return CollectionOperation(
            self, named: "insert_many",
            .statements([PipelineStatement(query: query, reusable: false)]) { results in
                let stored = (results.first?.rows ?? []).map(DocumentTable.document)
                return stored.sorted { (position[$0.id] ?? 0) < (position[$1.id] ?? 0) }
            },
            writes: true)
    }

    /// What a replace did.
    public struct Replacement: Sendable {
        public let document: StoredDocument
        public let created: Bool
    }

    /// `replace` as an operation; refuses a document that is not a valid one or names another id.
    public func replaceOperation(
        id: String,
        with document: JSONValue
    ) throws(DocumentStoreError) -> CollectionOperation<Replacement> {
        try DocumentID.validate(id)
        guard var object = document.objectValue else {
            throw .invalidDocument("a document must be a JSON object, not \(document.typeName)")
        }
        if let bodyID = object["id"], bodyID != .string(id) {
            throw .invalidDocument("the document's id differs from the id in the path")
        }
        object["id"] = .string(id)
        let keepsCreation = object["creation_utc"] == nil
        object = try NewDocument.complete(.object(object))
        let query: SQLQuery = """
            INSERT INTO \(table.name.sql) AS target (\(Self.columnList)) \
            SELECT \(Self.columnValues(of: "d")) FROM (SELECT \(bind: JSONValue.object(object).serialized)::jsonb AS d) s \
            ON CONFLICT (id) DO UPDATE SET \
            version = EXCLUDED.version, session_id = EXCLUDED.session_id, \
            customer_id = EXCLUDED.customer_id, agent_id = EXCLUDED.agent_id, \
            creation_utc = CASE WHEN \(bind: keepsCreation ? "true" : "false")::boolean \
            THEN COALESCE(target.creation_utc, EXCLUDED.creation_utc) ELSE EXCLUDED.creation_utc END, \
            data = CASE WHEN \(bind: keepsCreation ? "true" : "false")::boolean \
            THEN EXCLUDED.data || jsonb_build_object('creation_utc', \
            COALESCE(target.data -> 'creation_utc', EXCLUDED.data -> 'creation_utc')) \
            ELSE EXCLUDED.data END \
            RETURNING \(table.selection), (xmax = 0)
            """
        return CollectionOperation(
            self, named: "replace",
            .statements([PipelineStatement(query: query, reusable: true)]) { results throws(DocumentStoreError) in
                guard let row = results.first?.rows.first else {
                    throw DocumentStoreError(.internalError, "The replace returned no row.")
                }
                return Replacement(document: DocumentTable.document(from: row), created: row[3] == "t")
            },
            writes: true)
    }

    /// `merge` as an operation; refuses a patch that is not an object or renames the document.
    public func mergeOperation(id: String, patch: JSONValue) throws(DocumentStoreError) -> CollectionOperation<StoredDocument?> {
        let patch = try Self.checkedPatch(patch)
        if let patchID = patch["id"], patchID != .string(id) {
            throw .invalidDocument("the patch's id differs from the id in the path; ids cannot be changed")
        }
        return CollectionOperation(
            self, named: "merge",
            .row(RowOperation(kind: .merge, key: id, json: JSONValue.object(patch).serialized)) { row in
                row.map(DocumentTable.document)
            },
            whenMissing: .some(nil))
    }

    /// `updateOne` as an operation: one statement without `upsert`; with it, an update and an insert that
    /// may race with another caller's, on a thread that may block.
    public func updateOneOperation(
        _ filter: Where,
        params: JSONValue,
        upsert: Bool = false
    ) throws(DocumentStoreError) -> CollectionOperation<UpdateOutcome> {
        let patch = try Self.checkedPatch(params)
        if !upsert, let row = Self.coalescibleUpdate(filter, patch: patch) {
            return CollectionOperation(
                self, named: "update_one", .row(row) { row in UpdateOutcome(row: row, inserted: false) },
                whenMissing: UpdateOutcome(row: nil, inserted: false))
        }
        let update = updateFirstStatement(
            matching: table.condition(filter), patch: JSONValue.object(patch).serialized)
        guard upsert else {
            return CollectionOperation(
                self, named: "update_one",
                .statements([PipelineStatement(query: update, reusable: true)]) { results in
                    UpdateOutcome(row: results.first?.rows.first, inserted: false)
                },
                whenMissing: UpdateOutcome(row: nil, inserted: false))
        }
        var document = Self.equalities(in: filter)
        for (key, value) in patch { document[key] = value }
        let object = try NewDocument.complete(.object(document))
        let insert = insertStatement(document: JSONValue.object(object).serialized)
        return CollectionOperation(
            self, named: "update_one",
            .blocking({ [self] () throws(DocumentStoreError) in
                // Another caller may insert the same id between our update and insert: then update again.
                for _ in 0..<3 {
                    let outcome = try write { connection -> UpdateOutcome? in
                        if let row = try connection.query(update, reusable: true).rows.first {
                            return UpdateOutcome(row: row, inserted: false)
                        }
                        return try connection.query(insert, reusable: true).rows.first.map {
                            UpdateOutcome(row: $0, inserted: true)
                        }
                    }
                    if let outcome { return outcome }
                }
                throw .duplicateID()
            }))
    }

    /// `deleteOne` as an operation.
    public func deleteOneOperation(_ filter: Where) -> CollectionOperation<StoredDocument?> {
        let query: SQLQuery = """
            DELETE FROM \(table.name.sql) WHERE id = (SELECT id FROM \(table.name.sql) \
            WHERE \(table.condition(filter)) ORDER BY creation_utc COLLATE "C", id COLLATE "C" LIMIT 1 FOR UPDATE) \
            RETURNING \(table.selection)
            """
        return CollectionOperation(
            self, named: "delete_one", .statements([PipelineStatement(query: query, reusable: true)], decode: Self.decodeFirstDocument),
            whenMissing: .some(nil))
    }

    /// `delete(id:)` as an operation.
    public func deleteOperation(id: String) -> CollectionOperation<StoredDocument?> {
        let query: SQLQuery = "DELETE FROM \(table.name.sql) WHERE id = \(bind: id) RETURNING \(table.selection)"
        return CollectionOperation(
            self, named: "delete", .statements([PipelineStatement(query: query, reusable: true)], decode: Self.decodeFirstDocument),
            whenMissing: .some(nil))
    }

    // MARK: - SQL pieces

    /// Inserts the document (JSON text) unless its id exists; returns its row, or none.
    func insertStatement(document: String) -> SQLQuery {
        """
        INSERT INTO \(table.name.sql) (\(Self.columnList)) \
        SELECT \(Self.columnValues(of: "d")) FROM (SELECT \(bind: document)::jsonb AS d) s \
        ON CONFLICT (id) DO NOTHING RETURNING \(table.selection)
        """
    }

    /// Merges the patch (JSON text) into the first document in keyset order that `condition` matches,
    /// waiting for its row lock; returns its row, or none.
    func updateFirstStatement(matching condition: SQLQuery, patch: String) -> SQLQuery {
        """
        UPDATE \(table.name.sql) AS target SET \(Self.mergeAssignments) \
        FROM (SELECT \(bind: patch)::jsonb AS patch) p \
        WHERE target.id = (SELECT id FROM \(table.name.sql) WHERE \(condition) \
        ORDER BY creation_utc COLLATE "C", id COLLATE "C" LIMIT 1 FOR UPDATE) \
        RETURNING \(Self.targetSelection)
        """
    }

    static let columnList: SQLQuery = "id, version, creation_utc, session_id, customer_id, agent_id, data"

    /// The column values of a new row, each copied from the document `alias`.
    static func columnValues(of alias: String) -> SQLQuery {
        let copies = ["id", "version", "creation_utc", "session_id", "customer_id", "agent_id"]
            .map { "\(alias) ->> '\($0)'" }
        return SQLQuery(stringLiteral: (copies + [alias]).joined(separator: ", "))
    }

    /// `SET` of an update merging `p.patch` into `target.data`, keeping the columns in step.
    static let mergeAssignments: SQLQuery = {
        let merged = "(target.data || p.patch)"
        let columns = ["id", "version", "creation_utc", "session_id", "customer_id", "agent_id"]
            .map { "\($0) = \(merged) ->> '\($0)'" }
        return SQLQuery(stringLiteral: (["data = \(merged)"] + columns).joined(separator: ", "))
    }()

    static let targetSelection: SQLQuery = "target.data::text, target.id, target.creation_utc"

    /// A merge patch: an object whose `id` and `creation_utc`, when present, are valid.
    static func checkedPatch(_ value: JSONValue) throws(DocumentStoreError) -> JSONObject {
        guard let object = value.objectValue else {
            throw .invalidDocument("the update must be a JSON object, not \(value.typeName)")
        }
        try NewDocument.checkFields(of: object)
        return object
    }

    /// `updateOne` without upsert as an operation an event loop coalesces, when its filter allows: by id
    /// alone (as Parlant updates sessions, events and customers) a merge, unless the patch renames the
    /// document; by one other copied column equal to a string, the update of that value's first document.
    static func coalescibleUpdate(_ filter: Where, patch: JSONObject) -> RowOperation? {
        guard let (field, value) = onlyStringEquality(in: filter) else { return nil }
        let json = JSONValue.object(patch).serialized
        if field == "id" {
            guard patch["id"] == nil || patch["id"] == .string(value) else { return nil }
            return RowOperation(kind: .merge, key: value, json: json)
        }
        guard WhereSQL.columnTestIsExact(field, value), let column = SQLIdentifier(field) else { return nil }
        return RowOperation(kind: .updateFirst(column: column), key: value, json: json)
    }

    /// The field and string of a filter that is one top-level field equal to a string, and nothing else.
    static func onlyStringEquality(in filter: Where) -> (field: String, value: String)? {
        switch filter {
        case .compare(let field, .equal, .string(let value)) where field.segments.count == 1:
            return (field.segments[0], value)
        case .all(let parts) where parts.count == 1:
            return onlyStringEquality(in: parts[0])
        default:
            return nil
        }
    }

    /// The `field: value` equalities at the top of a filter (outside `$or`), as MongoDB's upsert uses them.
    static func equalities(in filter: Where) -> JSONObject {
        var object = JSONObject()
        switch filter {
        case .compare(let field, .equal, let value) where field.segments.count == 1:
            object[field.segments[0]] = value.jsonValue
        case .all(let parts):
            for part in parts {
                for (key, value) in equalities(in: part) { object[key] = value }
            }
        default:
            break
        }
        return object
    }
}

extension UpdateOutcome {
    init(row: [String?]?, inserted: Bool) {
        guard let row else {
            self.init(matchedCount: 0, modifiedCount: 0, document: nil)
            return
        }
        let count = inserted ? 0 : 1
        self.init(matchedCount: count, modifiedCount: count, document: DocumentTable.document(from: row))
    }
}
