import EventLoop

/// Answers requests for an `HTTPServer`, in two steps: once the request line and headers are in, and
/// once the whole body is.
public protocol HTTPHandler: Sendable {
    /// Decides from the request line and headers alone, on the event loop, before any body byte is read:
    /// a refusal (a request that gets 401, 404, 405, 413 or 415 has no body buffered), or acceptance
    /// with what `respond` will need. Must not block.
    func head(_ head: RequestHead) -> HeadDecision

    /// Answers the complete request. Called on `loop`, where it must not block; `reply` is called exactly
    /// once, from any thread.
    func respond(to request: HTTPRequest, on loop: EventLoop, reply: @escaping @Sendable (HTTPResponse) -> Void)

    /// The response for a body larger than the server accepts (413).
    func bodyTooLarge(limit: Int) -> HTTPResponse

    /// The response for a request whose reply had not come when the server had to stop (503).
    func shuttingDown() -> HTTPResponse
}

/// The request line and headers of a request whose body has not been read.
public struct RequestHead: Sendable {
    public let method: String
    /// The request target exactly as sent (path and query, still percent-encoded).
    public let target: String
    public let headers: HTTPHeaders
    /// `Content-Length`, when the request declares one.
    public let declaredLength: Int?

    public init(method: String, target: String, headers: HTTPHeaders, declaredLength: Int?) {
        self.method = method
        self.target = target
        self.headers = headers
        self.declaredLength = declaredLength
    }

    /// Whether a body follows: a positive `Content-Length`, or a transfer coding.
    public var hasBody: Bool {
        (declaredLength ?? 0) > 0 || headers["transfer-encoding"] != nil
    }

    /// The target's path, before any `?`.
    public var path: Substring {
        target.utf8.firstIndex(of: UInt8(ascii: "?")).map { target[..<$0] } ?? target[...]
    }
}

/// What `HTTPHandler.head` decided.
public enum HeadDecision: Sendable {
    /// Answer this without reading the body; a connection with a body to skip is then closed.
    case refuse(HTTPResponse)
    /// Read the body, then call `respond` with `state` in the request.
    case accept(state: (any Sendable)?)
}
