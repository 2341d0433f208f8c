extension DocumentDatabase {
    /// States where documents live. There is no other storage in this service at all, so this passes exactly
    /// when the connection check did.
    func checkStorage(server: ServerFacts, connectionOK: Bool) -> CheckOutcome {
        let statement =
            "documents are stored only in PostgreSQL \(server.version), schema \(schema.name); "
            + "this service has no file or memory fallback"
        return connectionOK
            ? .pass(statement) : .fail(statement + ", so nothing is stored until the connection check passes")
    }
}
