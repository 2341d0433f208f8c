import DocumentStore

/// The service's HTTP API (SPEC section 7) over a `DocumentDatabase`: routing, the service key, bodies
/// and errors. Called concurrently from the server's connection threads; holds no mutable state.
public struct DocumentAPI: HTTPHandler {
    let database: DocumentDatabase
    let configuration: Configuration
    let openAPIDocument: [UInt8]
    let log: Log
    private let router = Router()
    private let serviceKey: ServiceKey

    /// - Parameter openAPIDocument: the JSON served at `/openapi.json`.
    public init(database: DocumentDatabase, configuration: Configuration, openAPIDocument: [UInt8], log: Log = Log()) {
        self.database = database
        self.configuration = configuration
        self.openAPIDocument = openAPIDocument
        self.log = log
        serviceKey = ServiceKey(configuration.serviceKey)
    }

    public func respond(to request: HTTPRequest) -> HTTPResponse {
        let route: Route
        let parameters: PathParameters
        switch router.match(method: request.method, path: request.path) {
        case .notFound(let message):
            return APIError(status: 404, code: "not_found", message: message).response(route: "(no route)")
        case .methodNotAllowed(let template, let allowed):
            var error = APIError(
                status: 405,
                code: "method_not_allowed",
                message: "\(template) accepts \(allowed.joined(separator: ", ")) only."
            )
            error.headers.append(("Allow", allowed.joined(separator: ", ")))
            return error.response(route: template)
        case .invalid(let matched, let error):
            if let refusal = authenticate(request, for: matched) { return refusal }
            return error.response(route: matched.template)
        case .matched(let matched, let matchedParameters):
            route = matched
            parameters = matchedParameters
        }
        if let refusal = authenticate(request, for: route) { return refusal }
        do {
            try RequestBody.checkContentType(of: request)
            return try perform(route, parameters, request)
        } catch {
            if error.isServerFault {
                log(.error, "\(request.method) \(route.template) failed: \(error.detail ?? error.message)")
            }
            return error.response(route: route.template)
        }
    }

    public func bodyTooLarge(limit: Int) -> HTTPResponse {
        APIError(
            status: 413,
            code: "payload_too_large",
            message: "The body is larger than the \(limit) bytes this service accepts (MAX_BODY_BYTES)."
        ).response(route: "(body too large)")
    }

    /// 401 unless the route is open or the request presents the service key.
    private func authenticate(_ request: HTTPRequest, for route: Route) -> HTTPResponse? {
        guard route.requiresKey, !serviceKey.isPresented(in: request.headers) else { return nil }
        return APIError(
            status: 401,
            code: "unauthorized",
            message: "Present the service key as 'Authorization: Bearer <key>' or as the 'apikey' header.",
            headers: [("WWW-Authenticate", "Bearer")]
        ).response(route: route.template)
    }

    private func perform(
        _ route: Route,
        _ parameters: PathParameters,
        _ request: HTTPRequest
    ) throws(APIError) -> HTTPResponse {
        let context = RequestContext(route: route, parameters: parameters, request: request)
        switch route.operation {
        case .health: return health(context)
        case .readiness: return readiness(context)
        case .openAPI: return openAPI(context)
        case .verify: return verify(context)
        case .find: return try find(context, failedMigrations: false)
        case .failedMigrations: return try find(context, failedMigrations: true)
        case .findByBody: return try findByBody(context)
        case .findOne: return try findOne(context)
        case .insert: return try insert(context)
        case .getDocument: return try getDocument(context)
        case .mergeDocument: return try mergeDocument(context)
        case .replaceDocument: return try replaceDocument(context)
        case .deleteDocument: return try deleteDocument(context)
        case .updateOne: return try updateOne(context)
        case .deleteOne: return try deleteOne(context)
        case .ensureIndexes: return try ensureIndexes(context)
        case .quarantine: return try quarantine(context)
        case .createCollection: return try createCollection(context)
        case .dropCollection: return try dropCollection(context)
        }
    }

    /// The collection a routed request addresses.
    func collection(_ context: RequestContext) -> DocumentCollection {
        // The router sets both for every route under /{store}.
        let store = context.parameters.store!
        return database.collection(context.parameters.collection!, tablePrefix: configuration.tablePrefix(for: store))
    }
}

/// One routed request and what the router found in its path.
struct RequestContext {
    let route: Route
    let parameters: PathParameters
    let request: HTTPRequest

    /// The document id from the path; set for every `/{id}` route.
    var id: String { parameters.id ?? "" }

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

/// Runs a document store call, turning its failure into the HTTP error.
func storeCall<T>(_ body: () throws(DocumentStoreError) -> T) throws(APIError) -> T {
    do {
        return try body()
    } catch {
        throw APIError(error)
    }
}
