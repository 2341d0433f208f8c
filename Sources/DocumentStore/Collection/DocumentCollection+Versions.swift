/// One version a collection holds, as its `version` column holds it, and how many documents have it.
public struct VersionCount: Sendable, Equatable {
    /// The document's `version` (a non-string version as its JSON text); `nil` for documents without one.
    public let version: String?
    /// The number of documents with this version; `nil` when not counted.
    public let count: Int?

    public init(version: String?, count: Int?) {
        self.version = version
        self.count = count
    }
}

extension DocumentCollection {
    /// Every version the collection holds, in code-point order, documents without a version last.
    ///
    /// Found by skipping through the index on `version` from one version to the next, so it costs a few
    /// index lookups per version whatever the number of documents. Counting reads every document (its
    /// index entry, or its row, as PostgreSQL judges cheaper), so it is asked for by `counting`.
    public func versions(counting: Bool) throws(DocumentStoreError) -> [VersionCount] {
        try perform(versionsOperation(counting: counting))
    }

    /// `versions` as an operation.
    public func versionsOperation(counting: Bool) -> CollectionOperation<[VersionCount]> {
        CollectionOperation(
            self, named: "versions",
            .statements([PipelineStatement(query: versionsQuery(counting: counting), reusable: true)]) { results in
                let versions = (results.first?.rows ?? []).map { row in
                    VersionCount(version: row[0], count: row[1].flatMap { Int($0) })
                }
                return versions.sorted { first, second in
                    guard let a = first.version else { return false }
                    guard let b = second.version else { return true }
                    return a.unicodeScalars.map(\.value).lexicographicallyPrecedes(b.unicodeScalars.map(\.value))
                }
            },
            whenMissing: [])
    }

    /// The statement of `versions`: a recursive skip from each version to the next through the index on
    /// `version`, then whether any document has none.
    func versionsQuery(counting: Bool) -> SQLQuery {
        let table = table.name.sql
        let countOf: (SQLQuery) -> SQLQuery = { condition in
            counting ? "(SELECT count(*) FROM \(table) WHERE \(condition))" : "NULL::bigint"
        }
        return """
            WITH RECURSIVE found(version) AS (
                SELECT min(version) FROM \(table) \
                UNION ALL \
                SELECT (SELECT min(t.version) FROM \(table) t WHERE t.version > found.version) \
                FROM found WHERE found.version IS NOT NULL\
            ) \
            SELECT f.version, \(countOf("version = f.version")) FROM found f WHERE f.version IS NOT NULL \
            UNION ALL \
            SELECT NULL, \(countOf("version IS NULL")) WHERE EXISTS (SELECT 1 FROM \(table) WHERE version IS NULL)
            """
    }
}
