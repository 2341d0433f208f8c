import DocumentStore

extension DocumentAPI {
    /// `GET /{store}/{collection}:versions[?count=none]`: `{"versions": [{"version", "count"}, ...]}`, each
    /// version the collection holds (null for documents without one), counted unless `count=none`.
    func versions(_ context: RequestContext) throws(APIError) {
        var counting = true
        for item in try QueryString(context.request.query).items {
            guard item.name == "count", item.value == "exact" || item.value == "none" else {
                throw .invalidRequest("This route takes only count=exact (the default) or count=none.")
            }
            counting = item.value == "exact"
        }
        context.run(collection(context).versionsOperation(counting: counting)) { found in
            let items = found.map { entry in
                String(
                    decoding: JSONText.object([
                        "version": entry.version.map(JSONText.quoted) ?? "null",
                        "count": entry.count.map(String.init) ?? "null",
                    ]), as: UTF8.self)
            }
            return context.json(
                200, JSONText.object(["versions": String(decoding: JSONText.array(items), as: UTF8.self)]))
        }
    }
}
