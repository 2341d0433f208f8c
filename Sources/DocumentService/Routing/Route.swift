/// Every operation of the HTTP API (SPEC section 7).
enum Operation: Sendable {
    case health
    case readiness
    case openAPI
    case verify
    case metrics
    case find
    case insert
    case createCollection
    case dropCollection
    case getDocument
    case mergeDocument
    case replaceDocument
    case deleteDocument
    case findByBody
    case findOne
    case updateOne
    case deleteOne
    case ensureIndexes
    case quarantine
    case failedMigrations
    case versions
    case watch
}

extension Operation {
    /// Whether the operation writes: a read-only key may not use it.
    var writes: Bool {
        switch self {
        case .insert, .createCollection, .dropCollection, .mergeDocument, .replaceDocument, .deleteDocument,
            .updateOne, .deleteOne, .ensureIndexes, .quarantine:
            return true
        case .health, .readiness, .openAPI, .verify, .metrics, .find, .getDocument, .findByBody, .findOne, .failedMigrations,
            .versions, .watch:
            return false
        }
    }
}

/// One route: a method, a path template in OpenAPI's form, and what it does.
struct Route: Sendable {
    let method: String
    let template: String
    let operation: Operation

    /// Whether the service key is required (all but the probes and the API description).
    var requiresKey: Bool {
        switch operation {
        case .health, .readiness, .openAPI: return false
        default: return true
        }
    }

    /// Whether only a key without a scope may use the route (`/verify` writes a probe to the sessions store
    /// and reports on every store; `/metrics` counts the requests to every store).
    var requiresFullAccess: Bool {
        operation == .verify || operation == .metrics
    }

    /// Every route the service serves.
    static let all: [Route] = [
        Route(method: "GET", template: "/healthz", operation: .health),
        Route(method: "GET", template: "/readyz", operation: .readiness),
        Route(method: "GET", template: "/openapi.json", operation: .openAPI),
        Route(method: "GET", template: "/verify", operation: .verify),
        Route(method: "GET", template: "/metrics", operation: .metrics),
        Route(method: "GET", template: "/{store}", operation: .find),
        Route(method: "GET", template: "/{store}/{collection}", operation: .find),
        Route(method: "POST", template: "/{store}/{collection}", operation: .insert),
        Route(method: "PUT", template: "/{store}/{collection}", operation: .createCollection),
        Route(method: "DELETE", template: "/{store}/{collection}", operation: .dropCollection),
        Route(method: "GET", template: "/{store}/{collection}/{id}", operation: .getDocument),
        Route(method: "PATCH", template: "/{store}/{collection}/{id}", operation: .mergeDocument),
        Route(method: "PUT", template: "/{store}/{collection}/{id}", operation: .replaceDocument),
        Route(method: "DELETE", template: "/{store}/{collection}/{id}", operation: .deleteDocument),
        Route(method: "POST", template: "/{store}/{collection}:find", operation: .findByBody),
        Route(method: "POST", template: "/{store}/{collection}:findOne", operation: .findOne),
        Route(method: "POST", template: "/{store}/{collection}:updateOne", operation: .updateOne),
        Route(method: "POST", template: "/{store}/{collection}:deleteOne", operation: .deleteOne),
        Route(method: "POST", template: "/{store}/{collection}:ensureIndexes", operation: .ensureIndexes),
        Route(method: "POST", template: "/{store}/{collection}:quarantine", operation: .quarantine),
        Route(method: "GET", template: "/{store}/{collection}:failedMigrations", operation: .failedMigrations),
        Route(method: "GET", template: "/{store}/{collection}:versions", operation: .versions),
        Route(method: "GET", template: "/{store}/{collection}:watch", operation: .watch),
    ]
}
