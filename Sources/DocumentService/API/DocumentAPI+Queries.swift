import DocumentStore

/// Finding, and the filter-driven writes (`:updateOne`, `:deleteOne`).
extension DocumentAPI {
    /// `GET /{store}`, `GET /{store}/{collection}` and `GET /{store}/{collection}:failedMigrations`.
    func find(_ context: RequestContext, failedMigrations: Bool) throws(APIError) {
        let parameters = try FindParameters(query: QueryString(context.request.query))
        try findResponse(context, parameters, failedMigrations: failedMigrations, linksNextPage: true)
    }

    /// `POST /{store}/{collection}:find`, the parameters in the body.
    func findByBody(_ context: RequestContext) throws(APIError) {
        let body = try RequestBody.json(of: context.request, empty: .object(JSONObject()))
        guard let object = body.objectValue else {
            throw .invalidRequest("The body must be a JSON object, not \(body.typeName).")
        }
        let parameters = try FindParameters(body: object)
        try findResponse(context, parameters, failedMigrations: false, linksNextPage: false)
    }

    /// `POST /{store}/{collection}:findOne`: `{"where", "sort"}` -> `{"document"}`.
    func findOne(_ context: RequestContext) throws(APIError) {
        let body = try RequestBody.object(of: context.request, allowed: ["where", "sort"], emptyIsObject: true)
        let filter = try FindParameters.filter(body["where"] ?? .object(JSONObject()))
        let sort = try SortKeys.parse(
            body["sort"] ?? .null,
            orElse: .invalidRequest(#"sort must be a list of [field, "asc" or "desc"] pairs."#)
        )
        let collection = collection(context)
        let operation = try storeCall { () throws(DocumentStoreError) in
            try collection.findOneOperation(filter, sort: sort)
        }
        context.run(operation) { found in
            context.json(200, JSONText.object(["document": found?.json ?? "null"]))
        }
    }

    /// `POST /{store}/{collection}:updateOne`: `{"where", "params", "upsert"}`.
    func updateOne(_ context: RequestContext) throws(APIError) {
        let body = try RequestBody.object(of: context.request, allowed: ["where", "params", "upsert"])
        let filter = try FindParameters.filter(try RequestBody.required("where", in: body))
        let params = try RequestBody.required("params", in: body)
        let upsert = body["upsert"] ?? .bool(false)
        guard let upsertFlag = upsert.boolValue else {
            throw .invalidRequest("upsert must be true or false, not \(upsert.typeName).")
        }
        let collection = collection(context)
        let operation = try storeCall { () throws(DocumentStoreError) in
            try collection.updateOneOperation(filter, params: params, upsert: upsertFlag)
        }
        context.run(operation) { outcome in
            context.json(
                200,
                JSONText.object([
                    "matched_count": String(outcome.matchedCount),
                    "modified_count": String(outcome.modifiedCount),
                    "updated_document": outcome.document?.json ?? "null",
                ])
            )
        }
    }

    /// `POST /{store}/{collection}:deleteOne`: `{"where"}`, required so that no typo deletes at random.
    func deleteOne(_ context: RequestContext) throws(APIError) {
        let body = try RequestBody.object(of: context.request, allowed: ["where"])
        let filter = try FindParameters.filter(try RequestBody.required("where", in: body))
        context.run(collection(context).deleteOneOperation(filter)) { deleted in
            context.json(
                200,
                JSONText.object([
                    "deleted_count": deleted == nil ? "0" : "1", "deleted_document": deleted?.json ?? "null",
                ])
            )
        }
    }

    private func findResponse(
        _ context: RequestContext,
        _ parameters: FindParameters,
        failedMigrations: Bool,
        linksNextPage: Bool
    ) throws(APIError) {
        if let wait = parameters.wait.map({ min($0, longestWait) }), wait > .zero, !failedMigrations {
            var withoutWait = parameters
            withoutWait.wait = nil
            let answered = withoutWait
            waitForMatch(context, answered.query, upTo: wait) { context in
                do throws(APIError) {
                    try findResponse(context, answered, failedMigrations: false, linksNextPage: linksNextPage)
                } catch {
                    context.fail(error)
                }
            }
            return
        }
        let collection = collection(context)
        let query = parameters.query
        guard query.limit != nil else {
            let operation = collection.streamOperation(
                query.filter, after: query.cursor, descending: query.descending, failedMigrations: failedMigrations)
            context.stream(operation) { documents in
                HTTPResponse(
                    status: 200,
                    headers: [("Content-Type", "application/json")],
                    body: .stream(FindResultStream(documents)),
                    route: context.route.template
                )
            }
            return
        }
        let operation = try storeCall { () throws(DocumentStoreError) in
            try collection.findOperation(query, failedMigrations: failedMigrations)
        }
        let link: String? = linksNextPage ? "\(context.request.path)?" : nil
        let pairs = parameters.linkPairs.map(String.init)
        context.run(operation) { page in
            var headers: [(name: String, value: String)] = []
            if let link, let next = page.nextCursor {
                let all = pairs + ["cursor=\(next.token)"]
                headers.append(("Link", "<\(link)\(all.joined(separator: "&"))>; rel=\"next\""))
            }
            return context.json(200, FindResultStream.page(page), headers: headers)
        }
    }
}
