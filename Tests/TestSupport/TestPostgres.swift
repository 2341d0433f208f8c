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

    /// The repository's root folder.
    public static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// A schema name no other test uses.
    public static func uniqueSchema(_ label: String) -> String {
        "t_\(label)_\(UUID().uuidString.prefix(8).lowercased())"
    }
}
