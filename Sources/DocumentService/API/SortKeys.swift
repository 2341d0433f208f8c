import DocumentStore

/// Sort keys written as `[[field, "asc"|"desc"], ...]` (`:findOne`'s sort, `:ensureIndexes`' fields).
enum SortKeys {
    /// The most keys one list may hold (SPEC section 5): PostgreSQL's cost grows with each, and past a few
    /// hundred it refuses the statement.
    static let maximumCount = 32

    /// The keys of `value`; `null` is none. More than `maximumCount` keys, or anything else malformed,
    /// throws.
    static func parse(_ value: JSONValue, orElse invalid: APIError) throws(APIError) -> [SortKey] {
        if value.isNull { return [] }
        guard let pairs = value.arrayValue else { throw invalid }
        guard pairs.count <= maximumCount else {
            throw .invalidRequest("At most \(maximumCount) [field, direction] pairs are allowed; \(pairs.count) were sent.")
        }
        var keys: [SortKey] = []
        for pair in pairs {
            guard let items = pair.arrayValue, items.count == 2, let field = items[0].stringValue,
                let direction = items[1].stringValue, direction == "asc" || direction == "desc"
            else { throw invalid }
            let path = try storeCall { () throws(DocumentStoreError) in try FieldPath(field) }
            keys.append(SortKey(field: path, descending: direction == "desc"))
        }
        return keys
    }
}
