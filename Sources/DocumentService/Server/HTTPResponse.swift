/// What a handler answers: status, headers and a body held in memory or streamed.
public struct HTTPResponse {
    public enum Body {
        case bytes([UInt8])
        /// Sent with chunked transfer encoding as the stream produces it.
        case stream(any ResponseStream)
    }

    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: Body
    /// The route template, for the access log (never the concrete path, which may hold ids).
    public var route: String
    /// The fingerprint of the key that authorised the request, for the access log (never the key).
    public var keyFingerprint: String?

    public init(status: Int, headers: [(name: String, value: String)] = [], body: Body = .bytes([]), route: String) {
        self.status = status
        self.headers = headers
        self.body = body
        self.route = route
    }
}

/// A response body produced piece by piece, on the thread of the connection it is sent on.
public protocol ResponseStream: AnyObject {
    /// The next bytes to send; `.end` after the last, `.failed` to cut the response short.
    func nextChunk() -> ResponseChunk
    /// Releases what the stream holds; called once, whether or not it reached the end.
    func close()
}

/// One step of a `ResponseStream`.
public enum ResponseChunk {
    case bytes([UInt8])
    case end
    /// The body cannot be completed; the connection is closed so the client sees it was cut short.
    case failed(reason: String)
}

/// Answers complete requests; called concurrently from the server's connection threads.
public protocol HTTPHandler: Sendable {
    func respond(to request: HTTPRequest) -> HTTPResponse
    /// The response for a body larger than the server accepts (413).
    func bodyTooLarge(limit: Int) -> HTTPResponse
}
