import DocumentStore

/// SPEC section 5's semantics evaluated in memory, the oracle the SQL translation is checked against:
/// Parlant's `matches_filters` with type-strict equality, numeric comparison of numbers, code-point
/// order of strings, and MongoDB's rule for missing fields.
public enum ReferenceFilter {
    public static func matches(_ filter: Where, _ document: JSONObject) -> Bool {
        switch filter {
        case .all(let parts):
            return parts.allSatisfy { matches($0, document) }
        case .any(let parts):
            return parts.contains { matches($0, document) }
        case .compare(let field, let comparison, let operand):
            guard let value = lookup(field, in: document) else {
                return comparison == .notEqual
            }
            switch comparison {
            case .equal: return equal(value, operand)
            case .notEqual: return !equal(value, operand)
            default: return ordered(value, comparison, operand)
            }
        case .member(let field, let negated, let operands):
            guard let value = lookup(field, in: document) else { return negated }
            let found = operands.contains { equal(value, $0) }
            return negated ? !found : found
        }
    }

    static func lookup(_ field: FieldPath, in document: JSONObject) -> JSONValue? {
        var current = JSONValue.object(document)
        for segment in field.segments {
            guard let object = current.objectValue, let next = object[segment] else { return nil }
            current = next
        }
        return current
    }

    static func equal(_ value: JSONValue, _ operand: Scalar) -> Bool {
        switch (value, operand) {
        case (.string(let a), .string(let b)): return a.unicodeScalars.elementsEqual(b.unicodeScalars)
        case (.number(let a), .number(let b)): return Double(a)! == Double(b)!
        case (.bool(let a), .bool(let b)): return a == b
        case (.null, .null): return true
        default: return false
        }
    }

    static func ordered(_ value: JSONValue, _ comparison: ComparisonOperator, _ operand: Scalar) -> Bool {
        let order: Int
        switch (value, operand) {
        case (.string(let a), .string(let b)):
            let x = a.unicodeScalars.map(\.value)
            let y = b.unicodeScalars.map(\.value)
            order = x.lexicographicallyPrecedes(y) ? -1 : (x == y ? 0 : 1)
        case (.number(let a), .number(let b)):
            let (x, y) = (Double(a)!, Double(b)!)
            order = x < y ? -1 : (x == y ? 0 : 1)
        case (.bool(let a), .bool(let b)):
            order = a == b ? 0 : (a ? 1 : -1)
        default:
            return false
        }
        switch comparison {
        case .greater: return order > 0
        case .greaterOrEqual: return order >= 0
        case .less: return order < 0
        case .lessOrEqual: return order <= 0
        default: return false
        }
    }
}
