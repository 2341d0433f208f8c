/// What the `connection` check learned about the server, for the checks after it.
struct ServerFacts {
    /// `server_version`, e.g. `15.18 (Debian 15.18-0+deb12u1)`.
    let version: String
    let database: String
    let user: String
}

extension DocumentDatabase {
    /// The oldest PostgreSQL the service supports (SPEC section 1), as `server_version_num`.
    static let minimumServerVersion = 130_000

    /// Opens (or reuses) a pooled connection and reads the server version, database and user.
    /// `server` is `nil` when no connection could be had; then every later check is skipped.
    func checkConnection() -> (outcome: CheckOutcome, server: ServerFacts?) {
        let target = PostgresConnection.target(of: link.conninfo)
        let place = "\(target.host ?? "the default host"):\(target.port ?? "5432")"
        let row: [String?]
        let usesTLS: Bool
        do {
            (row, usesTLS) = try run { connection in
                let rows = try connection.query(
                    """
                    SELECT current_setting('server_version'), current_setting('server_version_num'), \
                    current_database(), current_user
                    """
                ).rows
                return (rows.first ?? [], connection.usesTLS)
            }
        } catch {
            return (
                .fail(
                    "cannot connect to PostgreSQL at \(place): \(Self.connectionCause(error)); check the host, port, "
                        + "user and password (DATABASE_URL or SUPABASE_URL and SUPABASE_DB_*) and that the network "
                        + "lets this machine reach the database"
                ),
                nil
            )
        }
        guard row.count == 4, let version = row[0] else {
            return (.fail("PostgreSQL at \(place) answered without its version"), nil)
        }
        let server = ServerFacts(version: version, database: row[2] ?? "", user: row[3] ?? "")
        let found =
            "PostgreSQL \(version) at \(place), database \(server.database), user \(server.user), "
            + (usesTLS ? "over TLS" : "without TLS")
        guard let number = row[1].flatMap({ Int($0) }), number >= Self.minimumServerVersion else {
            return (.fail("\(found): this service needs PostgreSQL 13 or later; upgrade the server"), server)
        }
        return (.pass(found), server)
    }

    /// What libpq said, without the library's own "cannot connect to PostgreSQL: " lead-in.
    private static func connectionCause(_ error: DocumentStoreError) -> String {
        let cause = error.causeText
        let lead = "cannot connect to PostgreSQL: "
        return cause.hasPrefix(lead) ? String(cause.dropFirst(lead.count)) : cause
    }
}
