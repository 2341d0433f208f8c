import Foundation
import TestSupport
import Testing

@testable import DocumentStore

/// The throwaway PostgreSQL the tests run against: `TEST_DATABASE_URL`, or the one `scripts/pg-start.sh`
/// starts (and reuses) in the repository's `.data/` folder.
enum TestDatabase {
    static var url: String { TestPostgres.url }

    /// A schema name no other test uses.
    static func uniqueSchema(_ label: String) -> String {
        TestPostgres.uniqueSchema(label)
    }

    /// A database over a fresh schema of its own.
    static func make(
        label: String,
        url: String = TestDatabase.url,
        poolSize: Int = 8,
        poolTimeout: Duration = .seconds(10),
        preparedStatements: Bool = true
    ) throws -> DocumentDatabase {
        try DocumentDatabase(
            settings: DatabaseSettings(
                conninfo: url,
                schema: uniqueSchema(label),
                poolSize: poolSize,
                poolTimeout: poolTimeout,
                usesPreparedStatements: preparedStatements
            )
        )
    }

    /// Runs SQL on a connection of its own and returns the rows as text.
    @discardableResult
    static func sql(_ query: SQLQuery, url: String = TestDatabase.url) throws -> [[String?]] {
        let connection = try PostgresConnection(conninfo: url, connectTimeoutSeconds: 5, usesPreparedStatements: false)
        return try connection.query(query).rows
    }

    /// Runs a script of one or more statements on a connection of its own.
    static func execute(_ script: String, url: String = TestDatabase.url) throws {
        let connection = try PostgresConnection(conninfo: url, connectTimeoutSeconds: 5, usesPreparedStatements: false)
        try connection.execute(script)
    }

    /// The URL of a database whose default collation is en_US.UTF-8, created on first use.
    static var englishCollationURL: String { TestPostgres.englishCollationURL }
}

extension DocumentCollection {
    /// Every document matching `filter`, in keyset order.
    func all(_ filter: Where = .everything, descending: Bool = false) throws -> [JSONObject] {
        try find(FindQuery(filter: filter, descending: descending)).items.map { try $0.value() }
    }

    /// The ids of every document matching the filter given as JSON text.
    func ids(matching json: String) throws -> Set<String> {
        Set(try find(FindQuery(filter: Where.parse(json: json))).items.map(\.id))
    }
}

extension JSONValue {
    /// Parses test JSON that is known to be valid.
    static func of(_ text: String) -> JSONValue {
        do {
            return try JSONValue.parse(text)
        } catch {
            fatalError("invalid test JSON \(text): \(error)")
        }
    }
}
