@testable import DocumentStore

extension TestPostgres {
    /// The URL of a database of the test server whose default collation is en_US.UTF-8, as many
    /// production databases are; created on first use.
    public static let englishCollationURL: String = {
        let name = "docstore_en_us"
        do {
            let connection = try PostgresConnection(
                conninfo: url, connectTimeoutSeconds: 5, usesPreparedStatements: false)
            if try connection.query("SELECT 1 FROM pg_database WHERE datname = \(bind: name)").rows.isEmpty {
                do {
                    try connection.execute(
                        """
                        CREATE DATABASE docstore_en_us TEMPLATE template0 ENCODING 'UTF8' \
                        LC_COLLATE 'en_US.UTF-8' LC_CTYPE 'en_US.UTF-8'
                        """
                    )
                } catch let error as DatabaseError where error.sqlState == "42P04" {
                    // Created meanwhile by a concurrent test run.
                }
            }
        } catch {
            fatalError("cannot create the en_US database: \(error)")
        }
        guard let slash = url.lastIndex(of: "/") else { fatalError("unexpected TEST_DATABASE_URL form: \(url)") }
        return String(url[..<slash]) + "/" + name
    }()
}
