/// PgBouncer in transaction mode in front of the test PostgreSQL (`scripts/pgbouncer-start.sh`), as a
/// transaction pooler such as Supabase's Supavisor on 6543.
public enum TestPgBouncer {
    /// On 6543, the port `DB_PREPARED_STATEMENTS=auto` recognises as a pooler's.
    public static let recognisedURL: String = start(port: 6543)
    /// On 6432, PgBouncer's own default, which the auto rule does not recognise.
    public static let unrecognisedURL: String = start(port: 6432)

    private static func start(port: Int) -> String {
        do {
            let url = try RepositoryScript.run("pgbouncer-start.sh", [String(port)])
            precondition(!url.isEmpty, "scripts/pgbouncer-start.sh printed no URL")
            return url
        } catch {
            fatalError("scripts/pgbouncer-start.sh \(port) failed: \(error)")
        }
    }
}
