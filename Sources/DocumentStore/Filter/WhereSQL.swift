/// The SQL condition of a `Where`, over a table whose JSONB column is `data`.
///
/// Values and field names only ever travel as bind parameters. On collection tables, equality on a
/// top-level field that has its own column (`customer_id`, ...) also tests the column, so the
/// composite indexes serve the query; equality on other top-level fields adds a containment test that
/// the GIN index on `data` serves.
struct WhereSQL {
    /// Top-level fields copied into columns of the same name.
    static let columnFields: Set<String> = ["id", "version", "creation_utc", "session_id", "customer_id", "agent_id"]

    /// The most values a list tested on every row may have and still go into a statement prepared once:
    /// PostgreSQL hashes a longer list (instead of testing its values one by one for each row) only when it
    /// is a constant of a plan made for its values. A list an index serves (`id = ANY(...)`) is prepared
    /// whatever its length: planning a long list each time costs more than the lookups.
    static let reusablePlanListLimit = 64

    /// Whether the table has the copied columns (collection tables do, failed-migrations tables do not).
    let hasColumns: Bool

    /// The condition of `filter` once folded (`Where.folded`), so that the clauses on one field go to
    /// PostgreSQL as one array bind however many there are.
    func condition(_ filter: Where) -> SQLQuery {
        clause(filter.folded)
    }

    private func clause(_ filter: Where) -> SQLQuery {
        switch filter {
        case .all(let parts):
            guard !parts.isEmpty else { return "TRUE" }
            return parts.count == 1 ? clause(parts[0]) : "(\(SQLQuery.joined(parts.map(clause), separator: " AND ")))"
        case .any(let parts):
            guard !parts.isEmpty else { return "FALSE" }
            return parts.count == 1 ? clause(parts[0]) : "(\(SQLQuery.joined(parts.map(clause), separator: " OR ")))"
        case .compare(let field, let comparison, let value):
            return compare(field, comparison, value)
        case .member(let field, let negated, let values):
            guard !values.isEmpty else { return negated ? "TRUE" : "FALSE" }
            var (test, indexed) = membership(field, values)
            // A long list an index serves is cheapest prepared; one tested on every row only hashed.
            if values.count > Self.reusablePlanListLimit && (negated || !indexed) { test = test.plannedForItsValues() }
            return negated ? "(\(test) IS NOT TRUE)" : test
        }
    }

    /// The field equals one of `values`: one `= ANY` over a `jsonb[]` bind; on a copied column, the strings
    /// go as one `= ANY` over a `text[]` bind of the column instead, which its index serves
    /// (`id = ANY($1::text[])` for Parlant's `$or` of ids). A string that is another type's JSON text
    /// (`"5"`, `"true"`), which the column also holds for a non-string field, is kept apart and also
    /// asks for a JSON string.
    /// `indexed` when every value went to a column test.
    private func membership(_ field: FieldPath, _ values: [Scalar]) -> (test: SQLQuery, indexed: Bool) {
        var tests: [SQLQuery] = []
        var jsonValues = values
        if hasColumns, field.segments.count == 1, Self.columnFields.contains(field.segments[0]),
            let column = SQLIdentifier(field.segments[0])
        {
            var plain: [String] = []
            var ambiguous: [String] = []
            jsonValues = []
            for value in values {
                guard case .string(let text) = value else {
                    jsonValues.append(value)
                    continue
                }
                if Self.columnCouldHoldOtherType(field.segments[0], text) {
                    ambiguous.append(text)
                } else {
                    plain.append(text)
                }
            }
            if !plain.isEmpty {
                tests.append("\(column) = ANY(\(bind: ArrayLiteral.text(plain))::text[])")
            }
            if !ambiguous.isEmpty {
                tests.append(
                    """
                    (\(column) = ANY(\(bind: ArrayLiteral.text(ambiguous))::text[]) \
                    AND jsonb_typeof(\(json(field))) = 'string')
                    """
                )
            }
        }
        if !jsonValues.isEmpty {
            tests.append("\(json(field)) = ANY(\(bind: ArrayLiteral.text(jsonValues.map(\.jsonText)))::jsonb[])")
        }
        let test: SQLQuery = tests.count == 1 ? "(\(tests[0]))" : "(\(SQLQuery.joined(tests, separator: " OR ")))"
        return (test, jsonValues.isEmpty)
    }

    /// Whether `name` is a copied column whose test alone is exact for the string `text`.
    static func columnTestIsExact(_ name: String, _ text: String) -> Bool {
        columnFields.contains(name) && !columnCouldHoldOtherType(name, text)
    }

    /// Whether the copied column `name` may hold `text` for a field that is not that string: the JSON
    /// text of a value of another type (`5`, `true`, `[1]`), which only the JSON test can tell apart.
    /// Never for `id`: every write checks that a document's id is a string.
    private static func columnCouldHoldOtherType(_ name: String, _ text: String) -> Bool {
        name != "id" && couldBeOtherType(text)
    }

    private static func couldBeOtherType(_ text: String) -> Bool {
        (try? JSONValue.parse(text)).map { $0.stringValue == nil } ?? false
    }

    private func compare(_ field: FieldPath, _ comparison: ComparisonOperator, _ value: Scalar) -> SQLQuery {
        let equal: SQLQuery = "(\(json(field)) = \(bind: value.jsonText)::jsonb)"
        switch comparison {
        case .equal:
            return equality(field, value, exact: equal)
        case .notEqual:
            return "(\(equal) IS NOT TRUE)"
        case .greater, .greaterOrEqual, .less, .lessOrEqual:
            return ordered(field, comparison, value)
        }
    }

    /// `$gt $gte $lt $lte`: only values of the operand's own type can match.
    private func ordered(_ field: FieldPath, _ comparison: ComparisonOperator, _ value: Scalar) -> SQLQuery {
        let symbol: String
        switch comparison {
        case .greater: symbol = ">"
        case .greaterOrEqual: symbol = ">="
        case .less: symbol = "<"
        default: symbol = "<="
        }
        switch value {
        case .string(let string):
            // Code-point order whatever the database's collation: "C" compares UTF-8 bytes.
            return """
                (jsonb_typeof(\(json(field))) = 'string' \
                AND (\(text(field))) COLLATE "C" \(unsafeSQL: symbol) \(bind: string)::text COLLATE "C")
                """
        case .number, .bool:
            let type = value == .bool(true) || value == .bool(false) ? "boolean" : "number"
            return """
                (jsonb_typeof(\(json(field))) = \(unsafeSQL: "'\(type)'") \
                AND \(json(field)) \(unsafeSQL: symbol) \(bind: value.jsonText)::jsonb)
                """
        case .null:
            return "FALSE"
        }
    }

    /// `$eq`, written so that an index can find the candidates.
    ///
    /// A copied column holds a string field's text, or a non-string value's JSON text. So when the operand
    /// string could not be the JSON text of a non-string value (`"c3"`, unlike `"5"` or `"true"`), the column
    /// test alone is exact, and the planner estimates it well; otherwise the JSON test is added. Other
    /// top-level fields add a containment test that the GIN index on `data` serves.
    private func equality(_ field: FieldPath, _ value: Scalar, exact: SQLQuery) -> SQLQuery {
        guard field.segments.count == 1 else { return exact }
        let name = field.segments[0]
        if hasColumns, Self.columnFields.contains(name), case .string(let text) = value,
            let column = SQLIdentifier(name)
        {
            let columnTest: SQLQuery = "\(column) = \(bind: text)"
            return Self.columnCouldHoldOtherType(name, text) ? "(\(columnTest) AND \(exact))" : columnTest
        }
        let containment = JSONValue.object(JSONObject([(name, value.jsonValue)])).serialized
        return "(data @> \(bind: containment)::jsonb AND \(exact))"
    }

    /// The field's JSON value (`jsonb`), NULL when it is missing.
    func json(_ field: FieldPath) -> SQLQuery {
        var expression: SQLQuery = "data"
        for segment in field.segments {
            expression.append(" -> \(bind: segment)::text")
        }
        return expression
    }

    /// The field's value as text (strings unquoted), NULL when it is missing.
    func text(_ field: FieldPath) -> SQLQuery {
        var expression: SQLQuery = "data"
        for (index, segment) in field.segments.enumerated() {
            let arrow = index == field.segments.count - 1 ? " ->> " : " -> "
            expression.append("\(unsafeSQL: arrow)\(bind: segment)::text")
        }
        return expression
    }
}
