import DocumentStore

/// The decoded, checked parameters of a matched path.
struct PathParameters: Sendable {
    var store: Store?
    var collection: CollectionName?
    var id: String?
}

/// The outcome of matching a request's method and path against `Route.all`.
enum RouteMatch {
    case matched(Route, PathParameters)
    /// The path names no resource (404).
    case notFound(message: String)
    /// The path exists but not with this method (405); `allowed` goes into the `Allow` header.
    case methodNotAllowed(template: String, allowed: [String])
    /// The route exists but a path parameter is malformed (400); `store` is the path's store.
    case invalid(Route, store: Store?, APIError)
}

/// Maps a method and a raw path to a route of `Route.all`.
struct Router: Sendable {
    private let routesByTemplate: [String: [Route]]

    init(routes: [Route] = Route.all) {
        routesByTemplate = Dictionary(grouping: routes, by: \.template)
    }

    /// The route for `method` and `path`; HEAD matches the GET route of the path.
    func match(method: String, path: Substring) -> RouteMatch {
        guard path.utf8.first == UInt8(ascii: "/") else {
            return .notFound(message: "The path must start with '/'.")
        }
        let segments = path.utf8.dropFirst().split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
            .map { Substring($0) }
        guard let (template, raw) = Self.shape(of: segments) else {
            return .notFound(message: "No such route; see /openapi.json for the API.")
        }
        guard let routes = routesByTemplate[template] else {
            return .notFound(message: "No such route; see /openapi.json for the API.")
        }
        // HEAD is GET without the body (RFC 9110 section 9.3.2); libmicrohttpd leaves the body out.
        let servingMethod = method == "HEAD" ? "GET" : method
        guard let route = routes.first(where: { $0.method == servingMethod }) else {
            return .methodNotAllowed(template: template, allowed: Self.allowedMethods(routes))
        }
        do {
            return .matched(route, try Self.parameters(raw))
        } catch {
            return .invalid(route, store: raw.store.flatMap { Store(rawValue: String($0)) }, error)
        }
    }

    /// The methods a path serves, for `Allow`: its routes' methods, with HEAD after GET.
    private static func allowedMethods(_ routes: [Route]) -> [String] {
        routes.flatMap { $0.method == "GET" ? ["GET", "HEAD"] : [$0.method] }
    }

    /// The raw (still percent-encoded) parameters found in a path.
    private struct RawParameters {
        var store: Substring?
        var collection: Substring?
        var id: Substring?
    }

    /// The template a path has the shape of, and its raw parameters; `nil` for no known shape.
    private static func shape(of segments: [Substring]) -> (String, RawParameters)? {
        let isBrace = { (byte: UInt8) in byte == UInt8(ascii: "{") || byte == UInt8(ascii: "}") }
        guard !segments.contains(where: { $0.isEmpty || $0.utf8.contains(where: isBrace) }) else { return nil }
        var raw = RawParameters()
        let isStore = Store(rawValue: String(segments[0])) != nil
        switch segments.count {
        case 1 where !isStore:
            return ("/\(segments[0])", raw)
        case 1:
            raw.store = segments[0]
            return ("/{store}", raw)
        case 2, 3:
            guard isStore else { return nil }
            raw.store = segments[0]
            let collectionSegment = segments[1]
            if segments.count == 3 {
                raw.collection = collectionSegment
                raw.id = segments[2]
                return ("/{store}/{collection}/{id}", raw)
            }
            if let colon = collectionSegment.utf8.firstIndex(of: UInt8(ascii: ":")) {
                raw.collection = collectionSegment[..<colon]
                let action = collectionSegment[collectionSegment.utf8.index(after: colon)...]
                return ("/{store}/{collection}:\(action)", raw)
            }
            raw.collection = collectionSegment
            return ("/{store}/{collection}", raw)
        default:
            return nil
        }
    }

    private static func parameters(_ raw: RawParameters) throws(APIError) -> PathParameters {
        var parameters = PathParameters()
        if let store = raw.store {
            parameters.store = Store(rawValue: String(store))
        }
        if let collection = raw.collection {
            guard let name = PercentEncoding.decode(collection, plusIsSpace: false) else {
                throw .invalidRequest("The collection in the path is not valid percent-encoded UTF-8.")
            }
            do {
                parameters.collection = try CollectionName(name)
            } catch {
                throw APIError(error)
            }
        } else if let store = parameters.store {
            parameters.collection = store.primaryCollection
        }
        if let id = raw.id {
            guard let decoded = PercentEncoding.decode(id, plusIsSpace: false) else {
                throw .invalidRequest("The id in the path is not valid percent-encoded UTF-8.")
            }
            guard !decoded.utf8.contains(0) else { throw .invalidRequest("The id in the path contains NUL (%00).") }
            parameters.id = decoded
        }
        return parameters
    }
}
