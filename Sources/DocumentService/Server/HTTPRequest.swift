import EventLoop

/// One complete HTTP request as received: the raw target, the headers and the whole body.
public struct HTTPRequest: Sendable {
    public let method: String
    /// The request target exactly as sent (path and query, still percent-encoded).
    public let target: String
    public let headers: HTTPHeaders
    public let body: [UInt8]
    /// What the handler's `head` accepted the request with.
    public let state: (any Sendable)?
    /// Cancelled when the client goes away before the answer.
    public let cancellation: Cancellation

    public init(
        method: String, target: String, headers: HTTPHeaders, body: [UInt8], state: (any Sendable)? = nil,
        cancellation: Cancellation = Cancellation()
    ) {
        self.method = method
        self.target = target
        self.headers = headers
        self.body = body
        self.state = state
        self.cancellation = cancellation
    }

    /// The target's path, before any `?`.
    public var path: Substring {
        target.utf8.firstIndex(of: UInt8(ascii: "?")).map { target[..<$0] } ?? target[...]
    }

    /// The target's query, after the first `?`, or `nil` when there is none.
    public var query: Substring? {
        target.utf8.firstIndex(of: UInt8(ascii: "?")).map { target[target.utf8.index(after: $0)...] }
    }
}

/// Request headers with case-insensitive names.
public struct HTTPHeaders: Sendable {
    private var fields: [(name: String, value: String)] = []

    public init() {}

    public mutating func append(name: String, value: String) {
        fields.append((name.lowercased(), value))
    }

    /// Every header in the order it arrived, names lower-cased.
    var all: [(name: String, value: String)] { fields }

    /// The first value of the header `name`.
    public subscript(name: String) -> String? {
        let name = name.lowercased()
        return fields.first { $0.name == name }?.value
    }
}
