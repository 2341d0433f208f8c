extension TestPostgres {
    /// A second PostgreSQL with TLS on (`scripts/pg-tls.sh`): its URL, with host `localhost`, which its
    /// certificate names.
    public static let tlsURL: String = {
        do {
            let url = try RepositoryScript.run("pg-tls.sh")
            precondition(!url.isEmpty, "scripts/pg-tls.sh printed no URL")
            return url
        } catch {
            fatalError("scripts/pg-tls.sh failed: \(error)")
        }
    }()

    /// The throwaway CA that signed the TLS server's certificate, and one that did not.
    public static let tlsCA = repository.appendingPathComponent(".data/tls/ca.crt").path
    public static let otherCA = repository.appendingPathComponent(".data/tls/other-ca.crt").path
}
