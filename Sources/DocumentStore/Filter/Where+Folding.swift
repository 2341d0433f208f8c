extension Where {
    /// The same filter with the clauses on one field that PostgreSQL can test against one array merged
    /// into one `member`: in an `$or`, the `$eq` and `$in` clauses on a field become one `$in`; in an
    /// `$and`, the `$ne` and `$nin` clauses on a field become one `$nin`. Nested `$and`s in an `$and`
    /// (and `$or`s in an `$or`) are flattened first.
    ///
    /// The meaning is unchanged under Parlant's rules: a field equals one of several values exactly when
    /// it equals one of them, a missing field matches neither `$eq` nor `$in`, and it matches every
    /// `$ne` as it matches `$nin`. This is how `list_customers(tags=...)`, which sends one `$eq` (or
    /// `$ne`) on `id` for every tagged customer, runs as one `id = ANY($1)` with one bind.
    ///
    /// Constant parts are dropped on the way: an empty `$and` (everything) in an `$and`, an empty `$or`
    /// (nothing) in an `$or`; and an `$or` holding an empty `$and` is everything, an `$and` holding an
    /// empty `$or` nothing. So every logical operator left has two parts or more.
    var folded: Where {
        switch self {
        case .all(let parts):
            return Self.merged(parts.map(\.folded), conjunction: true)
        case .any(let parts):
            return Self.merged(parts.map(\.folded), conjunction: false)
        case .compare, .member:
            return self
        }
    }

    /// The number of comparisons and lists in the tree. In a folded tree it bounds the logical operators
    /// too, which all have two parts or more.
    var conditionCount: Int {
        switch self {
        case .all(let parts), .any(let parts):
            return parts.reduce(0) { $0 + $1.conditionCount }
        case .compare, .member:
            return 1
        }
    }

    /// Flattens nested nodes of the same kind, then merges the foldable clauses of each field, in the
    /// place of the field's first foldable clause.
    private static func merged(_ parts: [Where], conjunction: Bool) -> Where {
        var flat: [Where] = []
        for part in parts {
            switch (part, conjunction) {
            case (.all(let inner), true), (.any(let inner), false):
                flat += inner
            case (.any([]), true):
                return .any([])
            case (.all([]), false):
                return .all([])
            default:
                flat.append(part)
            }
        }
        // A foldable clause's field and values: `$eq`/`$in` in an `$or`, `$ne`/`$nin` in an `$and`.
        func foldable(_ part: Where) -> (field: FieldPath, values: [Scalar])? {
            switch part {
            case .compare(let field, .equal, let value) where !conjunction: return (field, [value])
            case .compare(let field, .notEqual, let value) where conjunction: return (field, [value])
            case .member(let field, let negated, let values) where negated == conjunction: return (field, values)
            default: return nil
            }
        }
        var counts: [FieldPath: Int] = [:]
        for part in flat {
            if let field = foldable(part)?.field { counts[field, default: 0] += 1 }
        }
        var result: [Where] = []
        var listPositions: [FieldPath: Int] = [:]
        var lists: [FieldPath: [Scalar]] = [:]
        for part in flat {
            guard let (field, values) = foldable(part), counts[field, default: 0] > 1 else {
                result.append(part)
                continue
            }
            if listPositions[field] == nil {
                listPositions[field] = result.count
                result.append(part)
            }
            lists[field, default: []] += values
        }
        for (field, position) in listPositions {
            result[position] = .member(field, negated: conjunction, lists[field] ?? [])
        }
        if result.count == 1 { return result[0] }
        return conjunction ? .all(result) : .any(result)
    }
}
