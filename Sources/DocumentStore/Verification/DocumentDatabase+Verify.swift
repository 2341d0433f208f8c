extension DocumentDatabase {
    /// Runs every check against the live database; never throws: a failing check says why in its detail.
    ///
    /// The checks, in order: `connection`, `schema`, one per store and known collection (`sessions/events`,
    /// ...), `data_api` (no store table is open to Supabase's Data API), `probe`, `storage`. Without a connection the others fail at once as skipped.
    public func verify(tablePrefixes: [(store: Store, prefix: String)]) -> VerificationReport {
        let targets = VerificationTarget.all(tablePrefixes)
        var server: ServerFacts?
        let connection = VerificationCheck.timed("connection") {
            let result = checkConnection()
            server = result.server
            return result.outcome
        }
        guard let server else {
            let skipped = ["schema"] + targets.map(\.checkName) + ["data_api", "probe", "storage"]
            return VerificationReport(
                checks: [connection]
                    + skipped.map { VerificationCheck.timed($0) { .skipped } }
            )
        }
        var checks = [connection]
        var schemaFacts: SchemaFacts?
        checks.append(
            VerificationCheck.timed("schema") {
                let result = checkSchema(server: server)
                schemaFacts = result.facts
                return result.outcome
            }
        )
        for target in targets {
            checks.append(
                VerificationCheck.timed(target.checkName) {
                    checkCollection(target, server: server, schema: schemaFacts)
                }
            )
        }
        let prefixes = Store.allCases.map { store in
            tablePrefixes.first { $0.store == store }?.prefix ?? store.defaultTablePrefix
        }
        checks.append(VerificationCheck.timed("data_api") { checkDataAPI(tablePrefixes: prefixes) })
        let probePrefix = targets.first { $0.store == .sessions }?.prefix ?? Store.sessions.defaultTablePrefix
        checks.append(VerificationCheck.timed("probe") { checkProbe(prefix: probePrefix, schema: schemaFacts) })
        checks.append(
            VerificationCheck.timed("storage") { checkStorage(server: server, connectionOK: connection.ok) }
        )
        return VerificationReport(checks: checks)
    }
}
