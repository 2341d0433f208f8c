import EventLoop
import Metrics

/// The handler of the server on `METRICS_PORT`, the operator's port: `GET /metrics`, `/healthz` and
/// `/readyz` without a key, and nothing else. Its connections are its own, so probes pointed at it are
/// answered even when clients hold every connection of the main port. It is meant for the scraper's and
/// the orchestrator's network only.
public struct OperatorEndpoint: HTTPHandler {
    private let metrics: ServiceMetrics
    /// Answers the probes, as on the main port.
    private let probes: any HTTPHandler
    private static let metricsRoute = "/metrics"
    private static let probeRoutes: Set<Substring> = ["/healthz", "/readyz"]

    public init(metrics: ServiceMetrics, probes: any HTTPHandler) {
        self.metrics = metrics
        self.probes = probes
    }

    public func head(_ head: RequestHead) -> HeadDecision {
        if Self.probeRoutes.contains(head.path) { return probes.head(head) }
        guard head.path == Self.metricsRoute else {
            return .refuse(
                APIError(status: 404, code: "not_found", message: "This port serves /metrics, /healthz and /readyz only.")
                    .response(route: "(no route)"))
        }
        guard head.method == "GET" || head.method == "HEAD" else {
            var error = APIError(status: 405, code: "method_not_allowed", message: "/metrics accepts GET, HEAD only.")
            error.headers.append(("Allow", "GET, HEAD"))
            return .refuse(error.response(route: Self.metricsRoute))
        }
        return .accept(state: nil)
    }

    public func respond(to request: HTTPRequest, on loop: EventLoop, reply: @escaping @Sendable (HTTPResponse) -> Void) {
        if Self.probeRoutes.contains(request.path) { return probes.respond(to: request, on: loop, reply: reply) }
        metrics.scrape { exposition in
            reply(
                HTTPResponse(
                    status: 200, headers: [("Content-Type", PrometheusText.contentType)], body: .bytes(exposition),
                    route: Self.metricsRoute))
        }
    }

    public func bodyTooLarge(limit: Int) -> HTTPResponse {
        APIError(status: 413, code: "payload_too_large", message: "This port takes no body.").response(
            route: "(body too large)")
    }

    public func shuttingDown() -> HTTPResponse {
        probes.shuttingDown()
    }
}
