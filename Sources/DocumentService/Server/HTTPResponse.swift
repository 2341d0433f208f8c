/// What a handler answers: status, headers and a body held in memory or streamed.
public struct HTTPResponse: Sendable {
    public enum Body: Sendable {
        case bytes([UInt8])
        /// An error answer, `{"error": {"code", "message", "request_id"}}`, written once the request's id is
        /// known.
        case error(code: String, message: String)
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

/// A response body produced piece by piece, asked for only as fast as the client takes it.
public protocol ResponseStream: AnyObject, Sendable {
    /// Asks for the next bytes; `deliver` is called exactly once, from any thread, and no second `next`
    /// comes before it.
    func next(_ deliver: @escaping @Sendable (ResponseChunk) -> Void)
    /// Releases what the stream holds, also while a `next` is under way; called once, whether or not it
    /// reached the end. Must not block.
    func close()
    /// The bytes libmicrohttpd takes at a time, in a buffer the response holds while it lives.
    var blockSize: Int { get }
}

extension ResponseStream {
    public var blockSize: Int { 64 * 1024 }
}

/// One step of a `ResponseStream`.
public enum ResponseChunk: Sendable {
    case bytes([UInt8])
    case end
    /// The body cannot be completed; the connection is closed so the client sees it was cut short.
    case failed(reason: String)
}

extension HTTPResponse {
    /// The JSON of an error answer.
    static func errorBody(code: String, message: String, requestID: String) -> [UInt8] {
        var body = Array(#"{"error":{"code":"#.utf8)
        body.append(contentsOf: JSONText.quoted(code).utf8)
        body.append(contentsOf: #","message":"#.utf8)
        body.append(contentsOf: JSONText.quoted(message).utf8)
        body.append(contentsOf: #","request_id":"#.utf8)
        body.append(contentsOf: JSONText.quoted(requestID).utf8)
        body.append(contentsOf: "}}".utf8)
        return body
    }
}
