import DocumentStore

/// Single documents: insert, read, merge, replace, delete.
extension DocumentAPI {
    /// `POST /{store}/{collection}`: one object, or an array inserted all or none.
    func insert(_ context: RequestContext) throws(APIError) {
        let body = try RequestBody.json(of: context.request)
        let collection = collection(context)
        switch body {
        case .object:
            let operation = try storeCall { () throws(DocumentStoreError) in try collection.insertOperation(body) }
            context.run(operation) { stored in
                context.json(201, Array(stored.json.utf8), headers: [("Location", context.location(of: stored.id))])
            }
        case .array(let documents):
            let operation = try storeCall { () throws(DocumentStoreError) in
                try collection.insertManyOperation(documents)
            }
            context.run(operation) { stored in context.json(201, JSONText.array(stored.map(\.json))) }
        default:
            throw APIError(
                status: 400,
                code: "invalid_document",
                message: "The body must be a document (a JSON object) or an array of documents, not \(body.typeName)."
            )
        }
    }

    /// `GET /{store}/{collection}/{id}`.
    func getDocument(_ context: RequestContext) {
        context.run(collection(context).getOperation(id: context.id)) { found throws(APIError) in
            guard let found else { throw .documentNotFound() }
            return context.json(200, Array(found.json.utf8))
        }
    }

    /// `PATCH /{store}/{collection}/{id}`: `{**existing, **body}`, atomically.
    func mergeDocument(_ context: RequestContext) throws(APIError) {
        let patch = try RequestBody.json(of: context.request)
        let collection = collection(context)
        let operation = try storeCall { () throws(DocumentStoreError) in
            try collection.mergeOperation(id: context.id, patch: patch)
        }
        context.run(operation) { merged throws(APIError) in
            guard let merged else { throw .documentNotFound() }
            return context.json(200, Array(merged.json.utf8))
        }
    }

    /// `PUT /{store}/{collection}/{id}`: create (201) or replace (200) the whole document.
    func replaceDocument(_ context: RequestContext) throws(APIError) {
        let document = try RequestBody.json(of: context.request)
        let collection = collection(context)
        let operation = try storeCall { () throws(DocumentStoreError) in
            try collection.replaceOperation(id: context.id, with: document)
        }
        context.run(operation) { replacement in
            let stored = replacement.document
            if replacement.created {
                return context.json(
                    201, Array(stored.json.utf8), headers: [("Location", context.location(of: stored.id))])
            }
            return context.json(200, Array(stored.json.utf8))
        }
    }

    /// `DELETE /{store}/{collection}/{id}`: 200 with the deleted document.
    func deleteDocument(_ context: RequestContext) {
        context.run(collection(context).deleteOperation(id: context.id)) { deleted throws(APIError) in
            guard let deleted else { throw .documentNotFound() }
            return context.json(200, Array(deleted.json.utf8))
        }
    }
}
