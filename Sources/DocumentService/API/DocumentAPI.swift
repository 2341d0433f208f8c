import DocumentStore
import EventLoop

/// The service's HTTP API (SPEC section 7) over a `DocumentDatabase`: routing, the service keys, bodies
/// and errors. Routing and authorisation happen on the event loop from the headers alone; database
/// operations go through `executor`, which never blocks the loop, and what must block (a large body's
/// parsing, verification, a streamed find's first rows) runs on `workers`.
public struct DocumentAPI: HTTPHandler {
    let database: DocumentDatabase
    let configuration: Configuration
    let openAPIDocument: [UInt8]
    let log: Log
    private let router = Router()
    private let keys: KeyRing
    let workers: WorkerPool
    let executor: StoreExecutor
    /// Hands committed changes to the watchers of `:watch`.
    let changes: ChangeHub
    /// The longest a find waits with `wait=S` (`WAIT_MAX_SECONDS`).
    let longestWait: Duration
    /// What `GET /metrics` serves; `nil` when metrics are off (`METRICS=off`).
    let metrics: ServiceMetrics?

    /// - Parameters:
    ///   - keys: the keys clients may present; by default `configuration.accessKeys`, never reloaded.
    ///   - workers: the threads that run the blocking work of requests.
    ///   - executor: runs database operations for requests on the event loops.
    ///   - changes: hands committed changes to watchers; started and stopped by the caller.
    ///   - longestWait: the longest a find waits with `wait=S`; a longer wait is shortened to it.
    ///   - metrics: what `GET /metrics` serves (`nil`: 404, metrics are off).
    ///   - openAPIDocument: the JSON served at `/openapi.json`.
    public init(
        database: DocumentDatabase,
        configuration: Configuration,
        keys: KeyRing? = nil,
        workers: WorkerPool,
        executor: StoreExecutor,
        changes: ChangeHub,
        longestWait: Duration = .seconds(60),
        metrics: ServiceMetrics? = nil,
        openAPIDocument: [UInt8],
        log: Log = Log()
    ) {
        self.database = database
        self.configuration = configuration
        self.keys = keys ?? KeyRing(keys: configuration.accessKeys, log: log)
        self.workers = workers
        self.executor = executor
        self.changes = changes
        self.longestWait = longestWait
        self.metrics = metrics
        self.openAPIDocument = openAPIDocument
        self.log = log
    }

    /// What `head` found, for `respond`.
    private struct Accepted: Sendable {
        let route: Route
        let parameters: PathParameters
        let credential: Credential?
    }

    public func head(_ head: RequestHead) -> HeadDecision {
        switch router.match(method: head.method, path: head.path) {
        case .notFound(let message):
            return .refuse(APIError(status: 404, code: "not_found", message: message).response(route: "(no route)"))
        case .methodNotAllowed(let template, let allowed):
            var error = APIError(
                status: 405,
                code: "method_not_allowed",
                message: "\(template) accepts \(allowed.joined(separator: ", ")) only."
            )
            error.headers.append(("Allow", allowed.joined(separator: ", ")))
            return .refuse(error.response(route: template))
        case .invalid(let matched, let store, let error):
            switch authorize(head.headers, for: matched, store: store) {
            case .refused(let refusal):
                return .refuse(refusal)
            case .allowed(let credential):
                var response = error.response(route: matched.template)
                response.keyFingerprint = credential?.fingerprint
                return .refuse(response)
            }
        case .matched(let route, let parameters):
            switch authorize(head.headers, for: route, store: parameters.store) {
            case .refused(let refusal):
                return .refuse(refusal)
            case .allowed(let credential):
                if (head.declaredLength ?? 0) > 0, let unsupported = RequestBody.unsupportedContentType(head.headers) {
                    var response = unsupported.response(route: route.template)
                    response.keyFingerprint = credential?.fingerprint
                    return .refuse(response)
                }
                return .accept(state: Accepted(route: route, parameters: parameters, credential: credential))
            }
        }
    }

    public func respond(to request: HTTPRequest, on loop: EventLoop, reply: @escaping @Sendable (HTTPResponse) -> Void) {
        guard let accepted = request.state as? Accepted else {
            reply(APIError(status: 500, code: "internal_error", message: "The request was not routed.").response(
                route: "(no route)"))
            return
        }
        guard request.body.count <= Self.largestBodyParsedOnLoop else {
            // Parsing a large body would hold up every other connection of the loop.
            workers.submit {
                self.perform(accepted, request, on: loop, mode: .worker, reply: reply)
                // The parsed body (megabytes for a filter of 10,000 clauses) was freed into this worker's
                // heap arena, where it would stay.
                HeapMemory.releaseFree()
            }
            return
        }
        perform(accepted, request, on: loop, mode: .loop, reply: reply)
    }

    /// Bodies up to this size are parsed on the event loop; larger ones on a worker.
    static let largestBodyParsedOnLoop = 64 * 1024

    private func perform(
        _ accepted: Accepted,
        _ request: HTTPRequest,
        on loop: EventLoop,
        mode: RequestContext.Mode,
        reply: @escaping @Sendable (HTTPResponse) -> Void
    ) {
        let context = RequestContext(
            route: accepted.route,
            parameters: accepted.parameters,
            request: request,
            credential: accepted.credential,
            loop: loop,
            mode: mode,
            executor: executor,
            log: log,
            reply: reply
        )
        do {
            try RequestBody.checkContentType(of: request)
            try perform(context)
        } catch {
            context.fail(error)
        }
    }

    public func bodyTooLarge(limit: Int) -> HTTPResponse {
        APIError(
            status: 413,
            code: "payload_too_large",
            message: "The body is larger than the \(limit) bytes this service accepts (MAX_BODY_BYTES)."
        ).response(route: "(body too large)")
    }

    public func shuttingDown() -> HTTPResponse {
        APIError(
            status: 503,
            code: "shutting_down",
            message: "The service stopped before this request could be answered; retry.",
            headers: [("Retry-After", String(APIError.retryAfterSeconds))]
        ).response(route: "(shutting down)")
    }

    private enum Authorization {
        /// The request may go on; the credential is `nil` on the routes that need no key.
        case allowed(Credential?)
        case refused(HTTPResponse)
    }

    /// 401 unless the route is open or the request presents a service key; 403 when the key's scope does not
    /// cover the route: a read-only key on a write, a store outside the key's stores, or a scoped key on
    /// `/verify`.
    private func authorize(_ headers: HTTPHeaders, for route: Route, store: Store?) -> Authorization {
        guard route.requiresKey else { return .allowed(nil) }
        guard let credential = keys.current.credential(in: headers) else {
            return .refused(
                APIError(
                    status: 401,
                    code: "unauthorized",
                    message: "Present the service key as 'Authorization: Bearer <key>' or as the 'apikey' header.",
                    headers: [("WWW-Authenticate", "Bearer")]
                ).response(route: route.template))
        }
        let scope = credential.scope
        let reason: String?
        if route.requiresFullAccess && !scope.isFull {
            reason = "\(route.template) needs a key without a scope; this key has \(scope)."
        } else if route.operation.writes && scope.readOnly {
            reason = "This key may only read (access=read); \(route.method) \(route.template) writes."
        } else if let store, let stores = scope.stores, !stores.contains(store) {
            reason = "This key may not use the \(store.rawValue) store (\(scope))."
        } else {
            reason = nil
        }
        guard let reason else { return .allowed(credential) }
        var refusal = APIError(status: 403, code: "forbidden", message: reason).response(route: route.template)
        refusal.keyFingerprint = credential.fingerprint
        return .refused(refusal)
    }

    /// Starts the work of the request's route; its handler answers through `context`.
    private func perform(_ context: RequestContext) throws(APIError) {
        switch context.route.operation {
        case .health: health(context)
        case .readiness: readiness(context)
        case .openAPI: openAPI(context)
        case .verify: verify(context)
        case .metrics: try scrapeMetrics(context)
        case .find: try find(context, failedMigrations: false)
        case .failedMigrations: try find(context, failedMigrations: true)
        case .findByBody: try findByBody(context)
        case .watch: try watch(context)
        case .findOne: try findOne(context)
        case .insert: try insert(context)
        case .getDocument: getDocument(context)
        case .mergeDocument: try mergeDocument(context)
        case .replaceDocument: try replaceDocument(context)
        case .deleteDocument: deleteDocument(context)
        case .updateOne: try updateOne(context)
        case .deleteOne: try deleteOne(context)
        case .ensureIndexes: try ensureIndexes(context)
        case .quarantine: try quarantine(context)
        case .createCollection: createCollection(context)
        case .dropCollection: dropCollection(context)
        case .versions: try versions(context)
        }
    }

    /// The collection a routed request addresses.
    func collection(_ context: RequestContext) -> DocumentCollection {
        // The router sets both for every route under /{store}.
        let store = context.parameters.store!
        return database.collection(context.parameters.collection!, tablePrefix: configuration.tablePrefix(for: store))
    }
}

/// Runs a document store call, turning its failure into the HTTP error.
func storeCall<T>(_ body: () throws(DocumentStoreError) -> T) throws(APIError) -> T {
    do {
        return try body()
    } catch {
        throw APIError(error)
    }
}
