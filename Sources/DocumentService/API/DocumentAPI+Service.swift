import DocumentStore
import Metrics

/// The operator's routes: probes, verification, the API description.
extension DocumentAPI {
    /// `GET /healthz`: the process is serving; touches nothing else.
    func health(_ context: RequestContext) {
        context.respond(context.json(200, JSONText.object(["status": #""ok""#])))
    }

    /// `GET /readyz`: 200 when PostgreSQL answers, else 503 with `Retry-After`.
    func readiness(_ context: RequestContext) {
        context.runBlocking({ [database] () throws(DocumentStoreError) in try database.ping() }) { version in
            context.json(
                200,
                JSONText.object(["status": #""ready""#, "database": JSONText.quoted("PostgreSQL \(version)")])
            )
        }
    }

    /// `GET /openapi.json`.
    func openAPI(_ context: RequestContext) {
        context.respond(context.json(200, openAPIDocument))
    }

    /// `GET /verify`: the report of SPEC section 8; 200 when every check passes, else 503.
    func verify(_ context: RequestContext) {
        let prefixes = Store.allCases.map { (store: $0, prefix: configuration.tablePrefix(for: $0)) }
        context.runBlocking({ [database] in database.verify(tablePrefixes: prefixes) }) { report in
            context.json(report.ok ? 200 : 503, Array(report.json.utf8))
        }
    }

    /// `GET /metrics`: the service's metrics in Prometheus' text format (SPEC section 7b).
    func scrapeMetrics(_ context: RequestContext) throws(APIError) {
        guard let metrics else {
            throw APIError(status: 404, code: "not_found", message: "Metrics are turned off (METRICS=off).")
        }
        metrics.scrape { exposition in
            context.respond(
                HTTPResponse(
                    status: 200, headers: [("Content-Type", PrometheusText.contentType)], body: .bytes(exposition),
                    route: context.route.template))
        }
    }
}
