import Metrics

/// The requests one event loop has answered, counted on that loop alone, so that recording takes no lock.
/// Labels are route templates, methods and statuses, never paths: their set is bounded by the code.
final class HTTPMetrics {
    /// Requests answered with one status.
    struct RequestKey: Hashable, Sendable {
        let route: String
        let method: String
        let status: Int
    }

    /// Requests to one route with one method.
    struct RouteKey: Hashable, Sendable {
        let route: String
        let method: String
    }

    /// What has been counted, and the connections open now.
    struct Snapshot: Sendable {
        var requests: [RequestKey: Int] = [:]
        var durations: [RouteKey: DurationHistogram] = [:]
        var connectionsOpen = 0

        mutating func add(_ other: Snapshot) {
            for (key, count) in other.requests { requests[key, default: 0] += count }
            for (key, histogram) in other.durations { durations[key, default: DurationHistogram()].add(histogram) }
            connectionsOpen += other.connectionsOpen
        }
    }

    private(set) var snapshot = Snapshot()

    /// Counts a request answered with `status` after `duration`, from its request line to its completion.
    func record(route: String, method: String, status: Int, duration: Duration) {
        let method = Self.knownMethods.contains(method) ? method : "other"
        snapshot.requests[RequestKey(route: route, method: method, status: status), default: 0] += 1
        snapshot.durations[RouteKey(route: route, method: method), default: DurationHistogram()].record(duration)
    }

    /// Methods counted by name; any other counts as `other`, so a client cannot make new labels.
    private static let knownMethods: Set<String> = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
}
