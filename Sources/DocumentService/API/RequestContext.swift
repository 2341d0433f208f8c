import DocumentStore
import EventLoop

/// One routed request on its way to its answer: what the router found, the key it presented, and how its
/// database work runs. On its event loop, operations go through the `StoreExecutor` and the answer comes
/// back on the loop; on a worker (a large body is parsed off the loop), they block.
struct RequestContext: Sendable {
    /// Where the request's handler runs.
    enum Mode: Sendable {
        case loop
        case worker
    }

    let route: Route
    let parameters: PathParameters
    let request: HTTPRequest
    let credential: Credential?
    /// The event loop serving the request's connection.
    let loop: EventLoop
    let mode: Mode
    let executor: StoreExecutor
    let log: Log
    private let reply: @Sendable (HTTPResponse) -> Void

    init(
        route: Route,
        parameters: PathParameters,
        request: HTTPRequest,
        credential: Credential?,
        loop: EventLoop,
        mode: Mode,
        executor: StoreExecutor,
        log: Log,
        reply: @escaping @Sendable (HTTPResponse) -> Void
    ) {
        self.route = route
        self.parameters = parameters
        self.request = request
        self.credential = credential
        self.loop = loop
        self.mode = mode
        self.executor = executor
        self.log = log
        self.reply = reply
    }

    /// The same request, its handling carried on on its event loop (after work that ended there).
    var onItsLoop: RequestContext {
        RequestContext(
            route: route, parameters: parameters, request: request, credential: credential, loop: loop, mode: .loop,
            executor: executor, log: log, reply: reply)
    }

    /// The document id from the path; set for every `/{id}` route.
    var id: String { parameters.id ?? "" }

    /// Sends `response`, naming the key that authorised the request for the access log.
    func respond(_ response: HTTPResponse) {
        var response = response
        response.keyFingerprint = credential?.fingerprint
        reply(response)
    }

    /// Sends the error's response; an error that is the service's fault is logged.
    func fail(_ error: APIError) {
        if error.isServerFault {
            log(.error, "\(request.method) \(route.template) failed: \(error.detail ?? error.message)")
        }
        respond(error.response(route: route.template))
    }

    /// Runs `operation`, then answers with what `respond` makes of its outcome.
    func run<Outcome>(
        _ operation: CollectionOperation<Outcome>,
        _ respond: @escaping @Sendable (Outcome) throws(APIError) -> HTTPResponse
    ) {
        switch mode {
        case .loop:
            executor.run(operation, on: loop, cancellation: request.cancellation) { outcome in
                self.finish(outcome, respond)
            }
        case .worker:
            finish(
                Result { () throws(DocumentStoreError) in try executor.performBlocking(operation, countedOn: loop) },
                respond)
        }
    }

    /// Runs `work`, which may block, on a worker, then answers with what `respond` makes of its outcome.
    func runBlocking<Outcome: Sendable>(
        _ work: @escaping @Sendable () throws(DocumentStoreError) -> Outcome,
        _ respond: @escaping @Sendable (Outcome) throws(APIError) -> HTTPResponse
    ) {
        switch mode {
        case .loop:
            executor.runBlocking(on: loop, work) { outcome in self.finish(outcome, respond) }
        case .worker:
            finish(Result { () throws(DocumentStoreError) in try work() }, respond)
        }
    }

    /// Starts streaming `operation`'s documents, then answers with what `respond` makes of them.
    func stream(_ operation: StreamOperation, _ respond: @escaping @Sendable (StreamedDocuments) -> HTTPResponse) {
        let start: @Sendable () -> Void = { [self] in
            executor.stream(operation, on: loop) { outcome in self.finish(outcome, respond) }
        }
        switch mode {
        case .loop: start()
        case .worker: loop.execute(start)
        }
    }

    private func finish<Outcome>(
        _ outcome: Result<Outcome, DocumentStoreError>,
        _ respond: (Outcome) throws(APIError) -> HTTPResponse
    ) {
        switch outcome {
        case .success(let value):
            do {
                self.respond(try respond(value))
            } catch {
                fail(error)
            }
        case .failure(let error):
            fail(APIError(error))
        }
    }

    /// A JSON response for this route.
    func json(_ status: Int, _ body: [UInt8], headers: [(name: String, value: String)] = []) -> HTTPResponse {
        HTTPResponse(
            status: status,
            headers: [("Content-Type", "application/json")] + headers,
            body: .bytes(body),
            route: route.template
        )
    }

    /// The path of the document `id` in this request's collection, for `Location`.
    func location(of id: String) -> String {
        "/\(parameters.store?.rawValue ?? "")/\(parameters.collection?.rawValue ?? "")/\(PercentEncoding.encode(id))"
    }
}
