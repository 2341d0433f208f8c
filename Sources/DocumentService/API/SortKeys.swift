import DocumentStore

/// Sort keys written as `[[field, "asc"|"desc"], ...]` (`:findOne`'s sort, `:ensureIndexes`' fields).
enum SortKeys {
    /// The keys of `value`; `null` is none. Anything else malformed throws `invalid`.
    static func parse(_ value: JSONValue, orElse invalid: APIError) throws(APIError) -> [SortKey] {
        if value.isNull { return [] }
        guard let pairs = value.arrayValue else { throw invalid }
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
