import Testing

@testable import DocumentStore

/// The SQL of a filter given as JSON, on a collection table (with the copied columns) unless told otherwise.
private func whereSQL(_ json: String, hasColumns: Bool = true) throws -> SQLQuery {
    WhereSQL(hasColumns: hasColumns).condition(try Where.parse(json: json))
}

/// The `$n` placeholders of `text`, in order of appearance.
private func placeholderNumbers(in text: String) -> [Int] {
    text.matches(of: /\$([0-9]+)/).map { Int($0.output.1)! }
}

/// Checks that `query` numbers its placeholders `$1...$n` in order, one per bind, and that none of
/// `hostile` (field names and values) reached its text.
private func expectParameterized(
    _ query: SQLQuery,
    keeping hostile: [String],
    sourceLocation: SourceLocation = #_sourceLocation
) {
    let text = query.text
    #expect(
        placeholderNumbers(in: text) == (0..<query.binds.count).map { $0 + 1 },
        "placeholders are $1...$\(query.binds.count) in order: \(text)",
        sourceLocation: sourceLocation
    )
    let withoutPlaceholders = text.replacing(/\$[0-9]+/, with: "?")
    #expect(!withoutPlaceholders.contains("$"), "no other $ in \(text)", sourceLocation: sourceLocation)
    for string in hostile {
        #expect(!withoutPlaceholders.contains(string), "\(string) leaked into \(text)", sourceLocation: sourceLocation)
    }
}

/// Field names and values that would break or subvert SQL pasted as text.
private let hostileStrings = [
    "it's", #"say "hi""#, "x'; DROP TABLE parlant_sessions; --", "$1", "$$", #"back\slash"#, "--comment",
    "/* open", "close */", "名前🚀", "e'\\x41'", "U&'\\0041'",
]

@Suite("Where to SQL")
struct WhereSQLTests {
    // MARK: Exact text and binds

    @Test("{} and an empty $and are TRUE, an empty $or is FALSE, with no binds")
    func constants() throws {
        for (json, text) in [("{}", "TRUE"), (#"{"$and": []}"#, "TRUE"), (#"{"$or": []}"#, "FALSE")] {
            let query = try whereSQL(json)
            #expect(query.text == text)
            #expect(query.binds.isEmpty)
        }
    }

    @Test("$in with no values is FALSE and $nin with no values is TRUE")
    func emptyMembership() throws {
        #expect(try whereSQL(#"{"a": {"$in": []}}"#).text == "FALSE")
        #expect(try whereSQL(#"{"a": {"$nin": []}}"#).text == "TRUE")
        #expect(try whereSQL(#"{"a": {"$in": []}}"#).binds.isEmpty)
    }

    @Test("$eq on a copied column with a string that no other JSON value prints as tests the column alone")
    func columnEquality() throws {
        let query = try whereSQL(#"{"customer_id": "c-1"}"#)
        #expect(query.text == #""customer_id" = $1"#)
        #expect(query.binds == ["c-1"])
        for column in ["id", "version", "creation_utc", "session_id", "agent_id"] {
            let query = try whereSQL(#"{"\#(column)": {"$eq": "v"}}"#)
            #expect(query.text == #""\#(column)" = $1"#)
            #expect(query.binds == ["v"])
        }
    }

    @Test(
        "$eq on a copied column with a string that is another value's JSON text also tests the JSON value",
        arguments: ["5", "-1.5e3", "true", "null", "[1, 2]", #"{"a": 1}"#, " 7 "]
    )
    func columnEqualityWithJSONText(text: String) throws {
        let query = WhereSQL(hasColumns: true).condition(.compare(try FieldPath("customer_id"), .equal, .string(text)))
        #expect(query.text == #"("customer_id" = $1 AND (data -> $2::text = $3::jsonb))"#)
        #expect(query.binds == [text, "customer_id", JSONValue.string(text).serialized])
    }

    @Test("$eq on a column field with a non-string, or on a table without columns, uses JSON containment")
    func containmentEquality() throws {
        let number = try whereSQL(#"{"customer_id": 5}"#)
        #expect(number.text == "(data @> $1::jsonb AND (data -> $2::text = $3::jsonb))")
        #expect(number.binds == [#"{"customer_id":5}"#, "customer_id", "5"])

        let noColumns = try whereSQL(#"{"customer_id": "c-1"}"#, hasColumns: false)
        #expect(noColumns.text == "(data @> $1::jsonb AND (data -> $2::text = $3::jsonb))")
        #expect(noColumns.binds == [#"{"customer_id":"c-1"}"#, "customer_id", #""c-1""#])

        let other = try whereSQL(#"{"tier": null}"#)
        #expect(other.binds == [#"{"tier":null}"#, "tier", "null"])
    }

    @Test("$eq on a dotted path walks the path with one bind per part")
    func dottedEquality() throws {
        let query = try whereSQL(#"{"extra.tier": "gold"}"#)
        #expect(query.text == "(data -> $1::text -> $2::text = $3::jsonb)")
        #expect(query.binds == ["extra", "tier", #""gold""#])
    }

    @Test("$ne is the negation that a missing field also satisfies")
    func notEqual() throws {
        let query = try whereSQL(#"{"a": {"$ne": 1.50}}"#)
        #expect(query.text == "((data -> $1::text = $2::jsonb) IS NOT TRUE)")
        #expect(query.binds == ["a", "1.50"])
    }

    @Test("ordering a number or a boolean is restricted to that JSON type")
    func orderedNumbersAndBooleans() throws {
        let number = try whereSQL(#"{"n": {"$gt": 5}}"#)
        #expect(number.text == "(jsonb_typeof(data -> $1::text) = 'number' AND data -> $2::text > $3::jsonb)")
        #expect(number.binds == ["n", "n", "5"])
        let flag = try whereSQL(#"{"b": {"$lte": true}}"#)
        #expect(flag.text == "(jsonb_typeof(data -> $1::text) = 'boolean' AND data -> $2::text <= $3::jsonb)")
        #expect(flag.binds == ["b", "b", "true"])
        #expect(try whereSQL(#"{"n": {"$gte": -1e3}}"#).text.contains(" >= $3::jsonb"))
    }

    @Test("ordering strings compares code points (COLLATE \"C\") of the unquoted text")
    func orderedStrings() throws {
        let query = try whereSQL(#"{"a.name": {"$lt": "m"}}"#)
        #expect(
            query.text
                == #"(jsonb_typeof(data -> $1::text -> $2::text) = 'string' AND "#
                + #"(data -> $3::text ->> $4::text) COLLATE "C" < $5::text COLLATE "C")"#
        )
        #expect(query.binds == ["a", "name", "a", "name", "m"])
    }

    @Test("ordering against null matches nothing")
    func orderedNull() throws {
        #expect(try whereSQL(#"{"a": {"$gt": null}}"#).text == "FALSE")
    }

    @Test("$in sends its values as one jsonb[] bind; $nin is its negation")
    func membership() throws {
        let query = try whereSQL(#"{"s": {"$in": ["a", 1, true, null, "q\"uote\\"]}}"#)
        #expect(query.text == "(data -> $1::text = ANY($2::jsonb[]))")
        #expect(query.binds == ["s", #"{"\"a\"","1","true","null","\"q\\\"uote\\\\\""}"#])
        let negated = try whereSQL(#"{"s": {"$nin": ["a"]}}"#)
        #expect(negated.text == "((data -> $1::text = ANY($2::jsonb[])) IS NOT TRUE)")
        #expect(negated.binds == ["s", #"{"\"a\""}"#])
    }

    @Test("on a copied column, strings go as text[] binds of the column; those that are JSON of another type ask for a string")
    func membershipOnAColumn() throws {
        let query = try whereSQL(#"{"session_id": {"$in": ["c1", "c\"2", "5", 5, "true"]}}"#)
        #expect(
            query.text
                == #"("session_id" = ANY($1::text[]) OR ("session_id" = ANY($2::text[]) AND jsonb_typeof(data -> $3::text) = 'string') "#
                + #"OR data -> $4::text = ANY($5::jsonb[]))"#)
        #expect(query.binds == [#"{"c1","c\"2"}"#, #"{"5","true"}"#, "session_id", "session_id", "{\"5\"}"])
        // Every write checks that an id is a string, so the id column's test is exact for any string.
        let ids = try whereSQL(#"{"id": {"$in": ["c1", "5", "true", 5]}}"#)
        #expect(ids.text == #"("id" = ANY($1::text[]) OR data -> $2::text = ANY($3::jsonb[]))"#)
        #expect(ids.binds == [#"{"c1","5","true"}"#, "id", "{\"5\"}"])
        #expect(try whereSQL(#"{"id": "5"}"#).text == #""id" = $1"#)
        let strings = try whereSQL(#"{"customer_id": {"$nin": ["a", "b"]}}"#)
        #expect(strings.text == #"(("customer_id" = ANY($1::text[])) IS NOT TRUE)"#)
        #expect(try whereSQL(#"{"id": {"$in": ["a"]}}"#, hasColumns: false).text == "(data -> $1::text = ANY($2::jsonb[]))")
    }

    @Test("Parlant's $or of $eq and $and of $ne on one field become one list; other clauses stay")
    func foldedLists() throws {
        let ids = (0..<3000).map { #"{"id": {"$eq": "c\#($0)"}}"# }.joined(separator: ",")
        let anyOf = try whereSQL(#"{"$or": [\#(ids)]}"#)
        #expect(anyOf.text == #"("id" = ANY($1::text[]))"#)
        #expect(anyOf.binds == [ArrayLiteral.text((0..<3000).map { "c\($0)" })])
        #expect(!anyOf.needsCustomPlan, "a long list the primary key serves is prepared")

        let notIDs = (0..<3000).map { #"{"id": {"$ne": "c\#($0)"}}"# }.joined(separator: ",")
        let noneOf = try whereSQL(#"{"$and": [\#(notIDs)], "kind": "message"}"#)
        #expect(noneOf.text.hasPrefix(#"((("id" = ANY($1::text[])) IS NOT TRUE) AND "#), "\(noneOf.text)")
        #expect(noneOf.binds.count == 1 + 3, "one list, and kind's containment and JSON tests")
        #expect(noneOf.needsCustomPlan, "a long list tested on every row is planned for its values, to be hashed")
        let values = (0..<100).map(String.init).joined(separator: ",")
        #expect(try whereSQL(#"{"n": {"$in": [\#(values)]}}"#).needsCustomPlan, "a long list on a JSON field")
        #expect(!(try whereSQL(#"{"n": {"$in": [1, 2]}}"#).needsCustomPlan))

        let mixed = try whereSQL(#"{"$or": [{"a": 1}, {"b": 2}, {"a": {"$in": [3, 4]}}, {"a": {"$gt": 5}}]}"#)
        #expect(
            mixed.text
                == "((data -> $1::text = ANY($2::jsonb[])) OR (data @> $3::jsonb AND (data -> $4::text = $5::jsonb)) "
                + "OR (jsonb_typeof(data -> $6::text) = 'number' AND data -> $7::text > $8::jsonb))")
        #expect(mixed.binds[1] == "{\"1\",\"3\",\"4\"}")
        #expect(!mixed.needsCustomPlan)
    }

    @Test("$and and $or join their parts, renumbering the placeholders")
    func logical() throws {
        let query = try whereSQL(#"{"$or": [{"a": {"$ne": 1}}, {"b": {"$ne": 2}, "c": {"$in": [3]}}]}"#)
        #expect(
            query.text
                == "(((data -> $1::text = $2::jsonb) IS NOT TRUE) OR (((data -> $3::text = $4::jsonb) IS NOT TRUE) "
                + "AND (data -> $5::text = ANY($6::jsonb[]))))"
        )
        #expect(query.binds == ["a", "1", "b", "2", "c", "{\"3\"}"])
        #expect(try whereSQL(#"{"$and": [{"$or": [{"a": {"$ne": 1}}]}]}"#).text.hasPrefix("((data -> $1"))
    }

    // MARK: Values and names only in binds

    @Test("hostile field names reach SQL only as binds", arguments: hostileStrings)
    func hostileFieldNames(name: String) throws {
        let filters: [Where] = [
            .compare(try FieldPath(name), .equal, .string("v")),
            .compare(try FieldPath("outer.\(name)"), .equal, .number("1")),
            .compare(try FieldPath(name), .notEqual, .bool(true)),
            .compare(try FieldPath(name), .greater, .string("v")),
            .compare(try FieldPath(name), .lessOrEqual, .number("2")),
            .member(try FieldPath(name), negated: true, [.string("v")]),
        ]
        for filter in filters {
            for hasColumns in [true, false] {
                let query = WhereSQL(hasColumns: hasColumns).condition(filter)
                expectParameterized(query, keeping: hostileStrings)
                #expect(query.binds.contains(name))
            }
        }
    }

    @Test("hostile values reach SQL only as binds", arguments: hostileStrings)
    func hostileValues(value: String) throws {
        let encoded = JSONValue.string(value).serialized
        let a = try FieldPath("a")
        let cases: [(Where, String)] = [
            (.compare(a, .equal, .string(value)), encoded),
            (.compare(try FieldPath("customer_id"), .equal, .string(value)), value),
            (.compare(a, .notEqual, .string(value)), encoded),
            (.compare(a, .less, .string(value)), value),
            (.compare(a, .greaterOrEqual, .string(value)), value),
            (.member(a, negated: false, [.string(value), .string(value)]), ArrayLiteral.text([encoded, encoded])),
            (.member(try FieldPath("id"), negated: true, [.string(value)]), ArrayLiteral.text([value])),
            (.any([.compare(a, .equal, .string(value)), .member(a, negated: true, [.string(value)])]), encoded),
        ]
        for (filter, bind) in cases {
            let query = WhereSQL(hasColumns: true).condition(filter)
            expectParameterized(query, keeping: hostileStrings)
            #expect(query.binds.contains(bind), "\(bind) in \(query.binds)")
        }
    }

    @Test("a large filter numbers its placeholders $1...$n in order")
    func manyPlaceholders() throws {
        let clauses = (0..<120).map { #"{"f\#($0)": {"$ne": \#($0)}}"# }.joined(separator: ",")
        let query = try whereSQL(#"{"$and": [\#(clauses)], "g": {"$in": [1, 2]}, "customer_id": "c"}"#)
        #expect(query.binds.count == 240 + 2 + 1)
        #expect(placeholderNumbers(in: query.text) == Array(1...243))
        expectParameterized(query, keeping: [])
    }
}
