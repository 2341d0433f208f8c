import DocumentStore

/// Whole collections: create, drop, indexes, quarantine.
extension DocumentAPI {
    /// `PUT /{store}/{collection}`: 201 when the tables were made now, 200 when they existed.
    func createCollection(_ context: RequestContext) {
        let collection = collection(context)
        context.runBlocking({ () throws(DocumentStoreError) in try collection.create() }) { created in
            context.json(
                created ? 201 : 200,
                JSONText.object([
                    "collection": JSONText.quoted(context.parameters.collection?.rawValue ?? ""),
                    "table": JSONText.quoted(collection.tableName),
                    "failed_migrations_table": JSONText.quoted(collection.failedTableName),
                    "created": created ? "true" : "false",
                ])
            )
        }
    }

    /// `DELETE /{store}/{collection}`: drops both tables (204, also when they did not exist).
    func dropCollection(_ context: RequestContext) {
        let collection = collection(context)
        context.runBlocking({ () throws(DocumentStoreError) in try collection.drop() }) { _ in
            HTTPResponse(status: 204, route: context.route.template)
        }
    }

    /// `POST /{store}/{collection}:ensureIndexes`: `{"indexes": [{"fields": [["f","asc"]], "unique": false}]}`.
    func ensureIndexes(_ context: RequestContext) throws(APIError) {
        let body = try RequestBody.object(of: context.request, allowed: ["indexes"])
        let invalid = APIError.invalidRequest(
            #"indexes must be a list of {"fields": [[field, "asc" or "desc"], ...], "unique": true or false}."#
        )
        guard let list = try RequestBody.required("indexes", in: body).arrayValue else { throw invalid }
        var indexes: [IndexSpec] = []
        for item in list {
            guard let index = item.objectValue else { throw invalid }
            try RequestBody.allow(only: ["fields", "unique"], in: index)
            let keys = try SortKeys.parse(index["fields"] ?? .null, orElse: invalid)
            guard !keys.isEmpty else { throw invalid }
            let unique = index["unique"] ?? .bool(false)
            guard let isUnique = unique.boolValue else { throw invalid }
            indexes.append(IndexSpec(fields: keys, unique: isUnique))
        }
        let collection = collection(context)
        let specs = indexes
        context.runBlocking({ () throws(DocumentStoreError) in try collection.ensureIndexes(specs) }) { _ in
            context.json(200, JSONText.object(["indexes": String(specs.count)]))
        }
    }

    /// `POST /{store}/{collection}:quarantine`: `{"ids": [...], "reason": "..."}` -> `{"moved": n}`.
    func quarantine(_ context: RequestContext) throws(APIError) {
        let body = try RequestBody.object(of: context.request, allowed: ["ids", "reason"])
        let invalidIDs = APIError.invalidRequest("ids must be a list of document ids (strings).")
        guard let list = try RequestBody.required("ids", in: body).arrayValue else { throw invalidIDs }
        var ids: [String] = []
        for item in list {
            guard let id = item.stringValue else { throw invalidIDs }
            ids.append(id)
        }
        guard let reason = try RequestBody.required("reason", in: body).stringValue else {
            throw .invalidRequest("reason must be a string saying why the documents could not be loaded.")
        }
        let collection = collection(context)
        let operation = try storeCall { () throws(DocumentStoreError) in
            try collection.quarantineOperation(ids: ids, reason: reason)
        }
        context.run(operation) { moved in context.json(200, JSONText.object(["moved": String(moved)])) }
    }
}
