extension Where {
    /// The deepest nesting of `$and` / `$or` accepted.
    public static let maximumDepth = 32
    /// The most conditions (comparisons, `$in`/`$nin` lists and logical operators together) a filter may
    /// have once the clauses on one field are folded into one list (`folded`). Folded values count
    /// nothing: Parlant sends one clause per document it means, so their number is bounded only by the
    /// size of the request.
    public static let maximumConditions = 1000

    /// Parses a filter from JSON text; errors say what is wrong and where.
    public static func parse(json text: String) throws(DocumentStoreError) -> Where {
        let value: JSONValue
        do {
            value = try JSONValue.parse(text, maxDepth: 2 * maximumDepth + 4)
        } catch {
            throw .invalidFilter("the filter is not valid JSON: \(error.message)")
        }
        return try parse(value)
    }

    /// Parses a filter from a JSON value. The result is the filter as written; it is refused when it
    /// still has more than `maximumConditions` conditions once folded.
    public static func parse(_ value: JSONValue) throws(DocumentStoreError) -> Where {
        let parser = WhereParser()
        let filter = try parser.filter(value, at: "where", depth: 0)
        let conditions = filter.folded.conditionCount
        guard conditions <= maximumConditions else {
            throw .invalidFilter(
                "the filter has \(conditions) conditions, more than the \(maximumConditions) allowed, even with "
                    + "the clauses on one field folded together ($in/$nin values, and $or of $eq or $and of $ne on "
                    + "one field, count as one condition)"
            )
        }
        return filter
    }
}

/// Turns JSON into a `Where`, bounding the depth as it goes.
private struct WhereParser {
    func filter(_ value: JSONValue, at path: String, depth: Int) throws(DocumentStoreError) -> Where {
        guard let object = value.objectValue else {
            throw .invalidFilter("\(path) must be a JSON object, not \(value.typeName)")
        }
        var parts: [Where] = []
        for (key, operand) in object {
            let keyPath = "\(path).\(key)"
            switch key {
            case "$and", "$or":
                guard depth < Where.maximumDepth else {
                    throw .invalidFilter("\(keyPath) nests $and/$or deeper than \(Where.maximumDepth) levels")
                }
                guard let items = operand.arrayValue else {
                    throw .invalidFilter("\(keyPath) must be an array of filters, not \(operand.typeName)")
                }
                var children: [Where] = []
                for (index, item) in items.enumerated() {
                    children.append(try filter(item, at: "\(keyPath)[\(index)]", depth: depth + 1))
                }
                parts.append(key == "$and" ? .all(children) : .any(children))
            default:
                if key.hasPrefix("$") {
                    throw .invalidFilter("\(keyPath): unknown logical operator '\(key)' (use $and or $or)")
                }
                let field: FieldPath
                do {
                    field = try FieldPath(key)
                } catch {
                    throw .invalidFilter("\(path): \(error.message)")
                }
                parts += try conditions(on: field, operand, at: keyPath)
            }
        }
        return parts.count == 1 ? parts[0] : .all(parts)
    }

    private func conditions(
        on field: FieldPath,
        _ operand: JSONValue,
        at path: String
    ) throws(DocumentStoreError) -> [Where] {
        guard let operators = operand.objectValue else {
            return [.compare(field, .equal, try scalar(operand, at: path))]
        }
        var result: [Where] = []
        for (name, value) in operators {
            let operatorPath = "\(path).\(name)"
            if let comparison = ComparisonOperator(rawValue: name) {
                result.append(.compare(field, comparison, try scalar(value, at: operatorPath)))
            } else if name == "$in" || name == "$nin" {
                guard let items = value.arrayValue else {
                    throw .invalidFilter("\(operatorPath) must be an array of values, not \(value.typeName)")
                }
                var values: [Scalar] = []
                for (index, item) in items.enumerated() {
                    values.append(try scalar(item, at: "\(operatorPath)[\(index)]"))
                }
                result.append(.member(field, negated: name == "$nin", values))
            } else {
                throw .invalidFilter(
                    "\(operatorPath): unknown operator '\(name)' (use $eq $ne $gt $gte $lt $lte $in $nin)"
                )
            }
        }
        return result
    }

    private func scalar(_ value: JSONValue, at path: String) throws(DocumentStoreError) -> Scalar {
        switch value {
        case .string(let text):
            guard !text.utf8.contains(0) else { throw .invalidFilter("\(path) contains the NUL character") }
            return .string(text)
        case .number(let literal):
            guard NumericRange.contains(literal) else {
                throw .invalidFilter("\(path) is a number beyond PostgreSQL's numeric range")
            }
            return .number(literal)
        case .bool(let flag): return .bool(flag)
        case .null: return .null
        case .array, .object:
            throw .invalidFilter("\(path) must be a string, number, boolean or null, not \(value.typeName)")
        }
    }
}
