import Foundation

/// The throwaway PostgreSQL the tests run against: `TEST_DATABASE_URL`, or the one `scripts/pg-start.sh`
/// starts (and reuses) in the repository's `.data/` folder.
public enum TestPostgres {
    public static let url: String = {
        if let url = ProcessInfo.processInfo.environment["TEST_DATABASE_URL"], !url.isEmpty { return url }
        // Not Foundation's Process with a pipe: the server the script starts would inherit the pipe
        // and hold it open, so reading it to the end would never finish.
        let url: String
        do {
            url = try RepositoryScript.run("pg-start.sh")
        } catch {
            fatalError("scripts/pg-start.sh failed: \(error)")
        }
        precondition(!url.isEmpty, "scripts/pg-start.sh printed no URL")
        return url
    }()

    /// A database set up like a Supabase project's (`scripts/pg-supabase.sh`): roles `anon`, `authenticated`
    /// and `service_role`, and default privileges that grant the first two ALL on every table that its user,
    /// `docstore_owner` (neither superuser nor BYPASSRLS), creates. The URL connects as that user.
    public static let supabaseURL: String = {
        do {
            let url = try RepositoryScript.run("pg-supabase.sh", [TestPostgres.url])
            precondition(!url.isEmpty, "scripts/pg-supabase.sh printed no URL")
            return url
        } catch {
            fatalError("scripts/pg-supabase.sh failed: \(error)")
        }
    }()

    /// The Supabase-like database as the superuser, for `SET ROLE anon` and for tables made by hand; made
    /// first, as for `supabaseURL`.
    public static let supabaseAdminURL: String = {
        guard let slash = supabaseURL.lastIndex(of: "/") else { fatalError("unexpected URL form: \(supabaseURL)") }
        guard let adminSlash = url.lastIndex(of: "/") else { fatalError("unexpected TEST_DATABASE_URL form: \(url)") }
        return String(url[..<adminSlash]) + supabaseURL[slash...]
    }()

    /// The repository's root folder.
    public static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// A schema name no other test uses.
    public static func uniqueSchema(_ label: String) -> String {
        "t_\(label)_\(UUID().uuidString.prefix(8).lowercased())"
    }
}
