import DocumentStore

/// The operator's routes: probes, verification, the API description.
extension DocumentAPI {
    /// `GET /healthz`: the process is serving; touches nothing else.
    func health(_ context: RequestContext) -> HTTPResponse {
        context.json(200, JSONText.object(["status": #""ok""#]))
    }

    /// `GET /readyz`: 200 when PostgreSQL answers, else 503 with `Retry-After`.
    func readiness(_ context: RequestContext) -> HTTPResponse {
        do {
            let version = try database.ping()
            return context.json(
                200,
                JSONText.object(["status": #""ready""#, "database": JSONText.quoted("PostgreSQL \(version)")])
            )
        } catch {
            return APIError(error).response(route: context.route.template)
        }
    }

    /// `GET /openapi.json`.
    func openAPI(_ context: RequestContext) -> HTTPResponse {
        context.json(200, openAPIDocument)
    }

    /// `GET /verify`: the report of SPEC section 8; 200 when every check passes, else 503.
    func verify(_ context: RequestContext) -> HTTPResponse {
        let prefixes = Store.allCases.map { (store: $0, prefix: configuration.tablePrefix(for: $0)) }
        let report = database.verify(tablePrefixes: prefixes)
        return context.json(report.ok ? 200 : 503, Array(report.json.utf8))
    }
}
