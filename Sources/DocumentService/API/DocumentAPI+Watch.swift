import DocumentStore

/// The change feed: `GET /{store}/{collection}:watch`.
extension DocumentAPI {
    /// `GET /{store}/{collection}:watch`: find's `where`, field filters and `cursor`, answered with
    /// Server-Sent Events (`WatchStream`). A bad filter, cursor or `Last-Event-ID` gets its 400 before the
    /// stream starts; `Last-Event-ID` wins over `cursor` (a reconnecting browser repeats the first URL).
    func watch(_ context: RequestContext) throws(APIError) {
        let parameters = try FindParameters(query: QueryString(context.request.query))
        let query = parameters.query
        guard query.limit == nil, !query.descending, !query.countsAll, parameters.wait == nil else {
            throw .invalidRequest(":watch takes where, field filters and cursor only, not limit, sort, count or wait.")
        }
        var cursor = query.cursor
        if let lastEventID = context.request.headers["last-event-id"] {
            cursor = try storeCall { () throws(DocumentStoreError) in try Cursor(token: lastEventID) }
        }
        let stream = WatchStream(
            loop: context.loop, executor: context.executor, collection: collection(context), filter: query.filter,
            hub: changes, after: cursor)
        context.runBlocking({ () throws(DocumentStoreError) in try stream.subscribe() }) { registration in
            stream.start(registration)
            return HTTPResponse(
                status: 200,
                headers: [("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache"), ("X-Accel-Buffering", "no")],
                body: .stream(stream),
                route: context.route.template
            )
        }
    }
}
