extension Where {
    /// Whether `document` matches, with the meaning the filter's SQL has in PostgreSQL (SPEC section 5):
    /// type-strict equality, numbers compared by value, strings by code point, a missing field matching
    /// only `$ne` and `$nin`. Lets a watcher test changed documents without asking the database.
    public func matches(_ document: JSONObject) -> Bool {
        switch self {
        case .all(let parts):
            return parts.allSatisfy { $0.matches(document) }
        case .any(let parts):
            return parts.contains { $0.matches(document) }
        case .compare(let field, let comparison, let operand):
            guard let value = Self.value(at: field, in: document) else { return comparison == .notEqual }
            switch comparison {
            case .equal: return Self.equal(value, operand)
            case .notEqual: return !Self.equal(value, operand)
            case .greater: return Self.order(value, operand).map { $0 > 0 } ?? false
            case .greaterOrEqual: return Self.order(value, operand).map { $0 >= 0 } ?? false
            case .less: return Self.order(value, operand).map { $0 < 0 } ?? false
            case .lessOrEqual: return Self.order(value, operand).map { $0 <= 0 } ?? false
            }
        case .member(let field, let negated, let operands):
            guard let value = Self.value(at: field, in: document) else { return negated }
            return operands.contains { Self.equal(value, $0) } != negated
        }
    }

    /// The value at `field`, nil when a key on the way is missing or a step is not an object. Keys are
    /// told apart by their bytes, as `jsonb` does (`é` and `e` with a combining accent are two keys).
    private static func value(at field: FieldPath, in document: JSONObject) -> JSONValue? {
        var object = document
        for (position, segment) in field.segments.enumerated() {
            guard let next = member(segment, of: object) else { return nil }
            if position == field.segments.count - 1 { return next }
            guard case .object(let inner) = next else { return nil }
            object = inner
        }
        return nil
    }

    /// Swift's `==` holds canonically equivalent strings equal; `jsonb` compares keys by their bytes.
    private static func member(_ key: String, of object: JSONObject) -> JSONValue? {
        object.first { $0.key.utf8.elementsEqual(key.utf8) }?.value
    }

    /// `jsonb` equality of a value and a scalar operand: same type, and the same bytes, number or flag.
    private static func equal(_ value: JSONValue, _ operand: Scalar) -> Bool {
        switch (value, operand) {
        case (.string(let text), .string(let other)): return text.utf8.elementsEqual(other.utf8)
        case (.number(let literal), .number(let other)): return NumberOrder.compare(literal, other) == 0
        case (.bool(let flag), .bool(let other)): return flag == other
        case (.null, .null): return true
        default: return false
        }
    }

    /// The order of a value against an operand of its own type (negative, zero, positive); nil for
    /// values of different types and for null, which no ordering operator matches.
    private static func order(_ value: JSONValue, _ operand: Scalar) -> Int? {
        switch (value, operand) {
        case (.string(let text), .string(let other)):
            if text.utf8.elementsEqual(other.utf8) { return 0 }
            return text.utf8.lexicographicallyPrecedes(other.utf8) ? -1 : 1
        case (.number(let literal), .number(let other)):
            return NumberOrder.compare(literal, other)
        case (.bool(let flag), .bool(let other)):
            return flag == other ? 0 : (flag ? 1 : -1)
        default:
            return nil
        }
    }
}
