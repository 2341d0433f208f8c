import DocumentStore

/// An error answer: status, a stable snake_case code and one sentence a person can act on (SPEC section 7).
struct APIError: Error {
    let status: Int
    let code: String
    let message: String
    var headers: [(name: String, value: String)] = []
    /// What went wrong underneath, for the log only.
    var detail: String?

    init(status: Int, code: String, message: String, headers: [(name: String, value: String)] = []) {
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers
    }

    /// The HTTP form of a document store failure.
    init(_ error: DocumentStoreError) {
        defer { detail = error.debugDescription }
        switch error.kind {
        case .invalidFilter, .invalidCursor, .invalidDocument, .invalidCollection, .invalidRequest:
            self.init(status: 400, code: error.code, message: error.message)
        case .duplicateID, .uniqueViolation:
            self.init(status: 409, code: error.code, message: error.message)
        case .unavailable, .tooManyStreams:
            self.init(
                status: 503,
                code: error.code,
                message: error.message,
                headers: [("Retry-After", String(Self.retryAfterSeconds))]
            )
        default:
            self.init(status: 500, code: error.code, message: error.message)
        }
    }

    /// Seconds a client is asked to wait before retrying when the database is unreachable.
    static let retryAfterSeconds = 2

    /// Whether the failure is the service's fault rather than the request's; such errors are logged.
    var isServerFault: Bool { status >= 500 && status != 503 }

    func response(route: String) -> HTTPResponse {
        HTTPResponse(
            status: status,
            headers: [("Content-Type", "application/json")] + headers,
            body: .error(code: code, message: message),
            route: route
        )
    }

    static func invalidRequest(_ message: String) -> APIError {
        APIError(status: 400, code: "invalid_request", message: message)
    }

    static func invalidJSON(_ message: String) -> APIError {
        APIError(status: 400, code: "invalid_json", message: message)
    }

    static func documentNotFound() -> APIError {
        APIError(status: 404, code: "document_not_found", message: "No document with this id exists in the collection.")
    }
}
