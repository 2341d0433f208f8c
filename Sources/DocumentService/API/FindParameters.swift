import DocumentStore

/// The parameters of a find, from a query string (`GET`) or a JSON body (`POST :find`).
struct FindParameters {
    var query: FindQuery
    /// The query pairs other than `cursor`, as received, for the next page's link.
    var linkPairs: [Substring] = []
    /// How long an empty result may wait for a first match (`wait`, seconds).
    var wait: Duration?

    private static let reserved: Set = ["where", "limit", "cursor", "sort", "count", "wait"]
    /// The longest `wait`, in seconds.
    static let longestWait = 60.0

    /// `where`, `limit`, `cursor`, `sort`, `count=exact`, `wait`, and PostgREST-style `field=op.value` pairs.
    init(query string: QueryString) throws(APIError) {
        query = FindQuery()
        var filter: JSONValue = .object(JSONObject())
        var conditions: [JSONValue] = []
        var seen: Set<String> = []
        for item in string.items {
            if item.name != "cursor" { linkPairs.append(item.raw) }
            guard Self.reserved.contains(item.name) else {
                conditions.append(try PostgRESTFilter.condition(field: item.name, expression: item.value))
                continue
            }
            guard seen.insert(item.name).inserted else {
                throw .invalidRequest("The query parameter '\(item.name)' is given more than once.")
            }
            switch item.name {
            case "where":
                do {
                    filter = try JSONValue.parse(item.value, maxDepth: 2 * Where.maximumDepth + 4)
                } catch {
                    throw APIError(
                        status: 400, code: "invalid_filter", message: "where is not valid JSON: \(error.message)")
                }
            case "limit":
                query.limit = try Self.limit(Int(item.value))
            case "cursor":
                query.cursor = try Self.cursor(item.value)
            case "sort":
                query.descending = try Self.descending(item.value)
            case "wait":
                wait = try Self.wait(Double(item.value))
            default:
                query.countsAll = try Self.countsAll(item.value)
            }
        }
        // Parsed one by one, so the pairs add no nesting level to `where`'s limit.
        let parsed = try Self.filter(filter)
        query.filter = conditions.isEmpty ? parsed : .all([parsed] + (try conditions.map(Self.filter)))
    }

    /// `{"where", "limit", "cursor", "sort", "count", "wait"}`, every field optional.
    init(body: JSONObject) throws(APIError) {
        try RequestBody.allow(only: ["where", "limit", "cursor", "sort", "count", "wait"], in: body)
        query = FindQuery()
        if let filter = body["where"] {
            query.filter = try Self.filter(filter)
        }
        if let limit = body["limit"], !limit.isNull {
            query.limit = try Self.limit(limit.numberLiteral.flatMap { Int($0) })
        }
        if let cursor = body["cursor"], !cursor.isNull {
            guard let token = cursor.stringValue else {
                throw APIError(status: 400, code: "invalid_cursor", message: "cursor must be a string token.")
            }
            query.cursor = try Self.cursor(token)
        }
        if let sort = body["sort"] {
            query.descending = try Self.descending(sort.stringValue ?? "")
        }
        if let count = body["count"] {
            query.countsAll = try Self.countsAll(count.stringValue ?? "")
        }
        if let seconds = body["wait"], !seconds.isNull {
            wait = try Self.wait(seconds.numberLiteral.flatMap { Double($0) })
        }
    }

    private static func wait(_ seconds: Double?) throws(APIError) -> Duration {
        guard let seconds, seconds.isFinite, (0...longestWait).contains(seconds) else {
            throw .invalidRequest("wait must be a number of seconds from 0 to \(Int(longestWait)).")
        }
        return .milliseconds(Int64((seconds * 1000).rounded()))
    }

    static func filter(_ value: JSONValue) throws(APIError) -> Where {
        do {
            return try Where.parse(value)
        } catch {
            throw APIError(error)
        }
    }

    private static func limit(_ value: Int?) throws(APIError) -> Int {
        guard let value, (1...FindQuery.maximumLimit).contains(value) else {
            throw .invalidRequest("limit must be a whole number from 1 to \(FindQuery.maximumLimit).")
        }
        return value
    }

    private static func cursor(_ token: String) throws(APIError) -> Cursor {
        do {
            return try Cursor(token: token)
        } catch {
            throw APIError(error)
        }
    }

    private static func descending(_ value: String) throws(APIError) -> Bool {
        switch value {
        case "asc": return false
        case "desc": return true
        default: throw .invalidRequest("sort must be asc or desc.")
        }
    }

    private static func countsAll(_ value: String) throws(APIError) -> Bool {
        guard value == "exact" else { throw .invalidRequest("count must be exact (or left out).") }
        return true
    }
}
