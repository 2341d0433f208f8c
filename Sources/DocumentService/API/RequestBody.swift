import DocumentStore

/// Reading and checking JSON request bodies.
enum RequestBody {
    /// The deepest nesting accepted in a body: room for a filter well past `Where.maximumDepth` (each
    /// `$and`/`$or` level is two JSON levels), so too deep a filter is named as such (`invalid_filter`).
    static let maximumDepth = 128

    /// 415 unless a non-empty body is declared as JSON (`application/json` or `application/*+json`,
    /// UTF-8 if a charset is named).
    static func checkContentType(of request: HTTPRequest) throws(APIError) {
        guard !request.body.isEmpty else { return }
        if let unsupported = unsupportedContentType(request.headers) { throw unsupported }
    }

    /// The 415 for a body that `headers` do not declare as JSON, or `nil` when they do.
    static func unsupportedContentType(_ headers: HTTPHeaders) -> APIError? {
        if let contentType = headers["content-type"], declaresJSON(contentType) { return nil }
        return APIError(
            status: 415,
            code: "unsupported_media_type",
            message: "Send the body as JSON with the header Content-Type: application/json."
        )
    }

    /// Whether a Content-Type value is JSON in UTF-8: `application/json` or `application/*+json`, with
    /// no charset or a UTF-8 one.
    private static func declaresJSON(_ contentType: String) -> Bool {
        // What nearly every client sends, checked before the value is taken apart.
        if contentType == "application/json" { return true }
        let parts = contentType.lowercased().split(separator: ";").map { $0.trimming(" \t") }
        guard let mediaType = parts.first,
            mediaType == "application/json" || (mediaType.hasPrefix("application/") && mediaType.hasSuffix("+json"))
        else { return false }
        for parameter in parts.dropFirst() where parameter.hasPrefix("charset=") {
            let charset = parameter.dropFirst("charset=".count).filter { $0 != "\"" }
            guard charset == "utf-8" || charset == "utf8" else { return false }
        }
        return true
    }

    /// The body as JSON; an empty body is a 400 unless `empty` is given for it.
    static func json(of request: HTTPRequest, empty: JSONValue? = nil) throws(APIError) -> JSONValue {
        if request.body.isEmpty {
            if let empty { return empty }
            throw .invalidRequest("This request needs a JSON body.")
        }
        do {
            return try JSONValue.parse(request.body, maxDepth: maximumDepth)
        } catch {
            throw .invalidJSON("The body is not valid JSON: \(error.message)")
        }
    }

    /// The body as a JSON object whose keys are all in `allowed`.
    static func object(
        of request: HTTPRequest,
        allowed: Set<String>,
        emptyIsObject: Bool = false
    ) throws(APIError) -> JSONObject {
        let value = try json(of: request, empty: emptyIsObject ? .object(JSONObject()) : nil)
        guard let object = value.objectValue else {
            throw .invalidRequest("The body must be a JSON object, not \(value.typeName).")
        }
        try allow(only: allowed, in: object)
        return object
    }

    /// 400 naming the first key of `object` not in `allowed`.
    static func allow(only allowed: Set<String>, in object: JSONObject) throws(APIError) {
        if let unknown = object.keys.first(where: { !allowed.contains($0) }) {
            throw .invalidRequest(
                "The body has the unknown field '\(QueryString.shortened(unknown[...]))'; "
                    + "expected \(allowed.sorted().joined(separator: ", "))."
            )
        }
    }

    /// The field `key` of `object`, which must be present.
    static func required(_ key: String, in object: JSONObject) throws(APIError) -> JSONValue {
        guard let value = object[key] else { throw .invalidRequest("The body needs the field '\(key)'.") }
        return value
    }
}
