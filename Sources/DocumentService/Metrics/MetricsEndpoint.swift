import EventLoop
import Metrics

/// The handler of the server on `METRICS_PORT`: `GET /metrics` without a key, and nothing else. That port
/// is meant for the scraper's network only.
public struct MetricsEndpoint: HTTPHandler {
    private let metrics: ServiceMetrics
    private static let route = "/metrics"

    public init(metrics: ServiceMetrics) {
        self.metrics = metrics
    }

    public func head(_ head: RequestHead) -> HeadDecision {
        guard head.path == Self.route else {
            return .refuse(
                APIError(status: 404, code: "not_found", message: "This port serves /metrics only.").response(
                    route: "(no route)"))
        }
        guard head.method == "GET" || head.method == "HEAD" else {
            var error = APIError(status: 405, code: "method_not_allowed", message: "/metrics accepts GET, HEAD only.")
            error.headers.append(("Allow", "GET, HEAD"))
            return .refuse(error.response(route: Self.route))
        }
        return .accept(state: nil)
    }

    public func respond(to request: HTTPRequest, on loop: EventLoop, reply: @escaping @Sendable (HTTPResponse) -> Void) {
        metrics.scrape { exposition in
            reply(
                HTTPResponse(
                    status: 200, headers: [("Content-Type", PrometheusText.contentType)], body: .bytes(exposition),
                    route: Self.route))
        }
    }

    public func bodyTooLarge(limit: Int) -> HTTPResponse {
        APIError(status: 413, code: "payload_too_large", message: "/metrics takes no body.").response(
            route: "(body too large)")
    }

    public func shuttingDown() -> HTTPResponse {
        APIError(
            status: 503, code: "shutting_down", message: "The service is stopping.",
            headers: [("Retry-After", String(APIError.retryAfterSeconds))]
        ).response(route: "(shutting down)")
    }
}
