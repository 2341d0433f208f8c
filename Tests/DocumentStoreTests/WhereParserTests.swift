import Testing

@testable import DocumentStore

/// A field path the test knows to be valid.
private func field(_ dotted: String) -> FieldPath {
    try! FieldPath(dotted)
}

/// The `invalid_filter` message `json` is rejected with; `nil` (and a recorded issue) if it is accepted
/// or rejected with another code.
private func filterError(_ json: String, sourceLocation: SourceLocation = #_sourceLocation) -> String? {
    do {
        let filter = try Where.parse(json: json)
        Issue.record("expected invalid_filter, parsed \(filter)", sourceLocation: sourceLocation)
        return nil
    } catch {
        #expect(error.code == "invalid_filter", sourceLocation: sourceLocation)
        return error.message
    }
}

/// `leaf` inside `levels` nested `$and` arrays: `{"$and":[{"$and":[... leaf ...]}]}`.
private func nestedAnd(_ levels: Int, leaf: String = #"{"a":1}"#) -> String {
    String(repeating: #"{"$and":["#, count: levels) + leaf + String(repeating: "]}", count: levels)
}

/// An object with `count` shorthand fields `f0`, `f1`, ...
private func manyFields(_ count: Int) -> String {
    "{" + (0..<count).map { #""f\#($0)":\#($0)"# }.joined(separator: ",") + "}"
}

@Suite("Where parsing")
struct WhereParserTests {
    // MARK: Accepted filters

    @Test("{} matches everything")
    func empty() throws {
        #expect(try Where.parse(json: "{}") == .all([]))
        #expect(try Where.parse(json: " \n{ }\t") == Where.everything)
    }

    @Test("every comparison operator", arguments: ComparisonOperator.allCases)
    func comparison(op: ComparisonOperator) throws {
        let number = try Where.parse(json: #"{"age": {"\#(op.rawValue)": 30}}"#)
        #expect(number == .compare(field("age"), op, .number("30")))
        let string = try Where.parse(json: #"{"name": {"\#(op.rawValue)": "x"}}"#)
        #expect(string == .compare(field("name"), op, .string("x")))
    }

    @Test(
        "operands of every scalar type; numbers keep their literal text",
        arguments: [
            (#""text""#, Scalar.string("text")),
            (#""""#, Scalar.string("")),
            (#""\u00e9\n""#, Scalar.string("é\n")),
            ("1", Scalar.number("1")),
            ("1.0", Scalar.number("1.0")),
            ("-2.5e3", Scalar.number("-2.5e3")),
            ("true", Scalar.bool(true)),
            ("false", Scalar.bool(false)),
            ("null", Scalar.null),
        ]
    )
    func scalars(json: String, value: Scalar) throws {
        #expect(try Where.parse(json: #"{"f": {"$ne": \#(json)}}"#) == .compare(field("f"), .notEqual, value))
        #expect(try Where.parse(json: #"{"f": \#(json)}"#) == .compare(field("f"), .equal, value))
    }

    @Test("$in and $nin take arrays of scalars, empty included")
    func membership() throws {
        #expect(
            try Where.parse(json: #"{"s": {"$in": ["a", 1, true, null]}}"#)
                == .member(field("s"), negated: false, [.string("a"), .number("1"), .bool(true), .null])
        )
        #expect(try Where.parse(json: #"{"s": {"$nin": ["a"]}}"#) == .member(field("s"), negated: true, [.string("a")]))
        #expect(try Where.parse(json: #"{"s": {"$in": []}}"#) == .member(field("s"), negated: false, []))
        #expect(try Where.parse(json: #"{"s": {"$nin": []}}"#) == .member(field("s"), negated: true, []))
    }

    @Test("several operators on one field are ANDed, in order")
    func severalOperators() throws {
        #expect(
            try Where.parse(json: #"{"age": {"$gte": 18, "$lt": 65, "$ne": 30}}"#)
                == .all([
                    .compare(field("age"), .greaterOrEqual, .number("18")),
                    .compare(field("age"), .less, .number("65")),
                    .compare(field("age"), .notEqual, .number("30")),
                ])
        )
    }

    @Test("several fields are ANDed, in order")
    func severalFields() throws {
        #expect(
            try Where.parse(json: #"{"a": 1, "b": {"$ne": "x"}, "c": {"$in": [2]}}"#)
                == .all([
                    .compare(field("a"), .equal, .number("1")),
                    .compare(field("b"), .notEqual, .string("x")),
                    .member(field("c"), negated: false, [.number("2")]),
                ])
        )
    }

    @Test("$and and $or nest, and sit beside fields")
    func logical() throws {
        let json = #"{"$or": [{"a": 1}, {"$and": [{"b": 2}, {"c": {"$in": [3]}}]}], "d": true}"#
        #expect(
            try Where.parse(json: json)
                == .all([
                    .any([
                        .compare(field("a"), .equal, .number("1")),
                        .all([
                            .compare(field("b"), .equal, .number("2")),
                            .member(field("c"), negated: false, [.number("3")]),
                        ]),
                    ]),
                    .compare(field("d"), .equal, .bool(true)),
                ])
        )
    }

    @Test("empty $and matches everything, empty $or nothing")
    func emptyLogical() throws {
        #expect(try Where.parse(json: #"{"$and": []}"#) == .all([]))
        #expect(try Where.parse(json: #"{"$or": []}"#) == .any([]))
    }

    @Test("a field with no operators adds no condition")
    func emptyOperators() throws {
        #expect(try Where.parse(json: #"{"f": {}}"#) == .all([]))
        #expect(try Where.parse(json: #"{"f": {}, "g": 1}"#) == .compare(field("g"), .equal, .number("1")))
    }

    @Test("dotted paths name nested fields")
    func dottedPaths() throws {
        let filter = try Where.parse(json: #"{"extra.tier": "gold", "a.b.c": {"$gt": 1}}"#)
        #expect(
            filter
                == .all([
                    .compare(field("extra.tier"), .equal, .string("gold")),
                    .compare(field("a.b.c"), .greater, .number("1")),
                ])
        )
        #expect(field("extra.tier").segments == ["extra", "tier"])
        #expect(field("a.b.c").segments == ["a", "b", "c"])
    }

    @Test("field names may hold any other characters", arguments: ["名前", "with space", "a$b", "'; DROP TABLE x; --"])
    func unusualFieldNames(name: String) throws {
        let json = JSONValue.object(JSONObject([(name, .string("v"))])).serialized
        #expect(try Where.parse(json: json) == .compare(field(name), .equal, .string("v")))
    }

    @Test("a repeated key keeps its last value, as Python's json does")
    func repeatedKey() throws {
        #expect(try Where.parse(json: #"{"a": 1, "a": 2}"#) == .compare(field("a"), .equal, .number("2")))
    }

    @Test("parse(_:) takes a JSON value")
    func fromValue() throws {
        let value = JSONValue.object(JSONObject([("$or", .array([.object(JSONObject([("a", .null)]))]))]))
        #expect(try Where.parse(value) == .any([.compare(field("a"), .equal, .null)]))
        #expect(throws: DocumentStoreError.self) { try Where.parse(.array([])) }
    }

    // MARK: Errors say what and where

    @Test("$in with a non-array names the operator's path")
    func inWithoutArray() {
        let message = filterError(#"{"$and": [{"a": 1}, {"status": {"$in": "active"}}]}"#)
        #expect(message?.contains("where.$and[1].status.$in") == true)
        #expect(message?.contains("array") == true)
        #expect(message?.contains("string") == true)
        #expect(filterError(#"{"a": {"$nin": 5}}"#)?.contains("where.a.$nin") == true)
    }

    @Test("an unknown operator is named with its path")
    func unknownOperator() {
        let message = filterError(#"{"$or": [{"name": {"$regex": "^a"}}]}"#)
        #expect(message?.contains("where.$or[0].name.$regex") == true)
        #expect(message?.contains("unknown operator") == true)
        #expect(filterError(#"{"a": {"eq": 1}}"#)?.contains("where.a.eq") == true)
    }

    @Test("an unknown logical operator is named with its path", arguments: ["$nor", "$not", "$where", "$"])
    func unknownLogicalOperator(name: String) {
        let message = filterError(#"{"$and": [{"\#(name)": []}]}"#)
        #expect(message?.contains("where.$and[0].\(name)") == true)
        #expect(message?.contains("unknown logical operator") == true)
    }

    @Test(
        "array and object operands are rejected where a value belongs",
        arguments: [
            (#"{"a": {"$eq": [1]}}"#, "where.a.$eq", "array"),
            (#"{"a": {"$gt": {"b": 1}}}"#, "where.a.$gt", "object"),
            (#"{"a": [1, 2]}"#, "where.a", "array"),
            (#"{"a": {"$in": [1, {"b": 2}]}}"#, "where.a.$in[1]", "object"),
            (#"{"a": {"$nin": [[1]]}}"#, "where.a.$nin[0]", "array"),
        ]
    )
    func nonScalarOperand(json: String, path: String, type: String) {
        let message = filterError(json)
        #expect(message?.contains(path) == true)
        #expect(message?.contains("not \(type)") == true)
    }

    @Test("$and and $or need arrays of objects")
    func logicalOperands() {
        #expect(filterError(#"{"$and": {"a": 1}}"#)?.contains("where.$and must be an array") == true)
        #expect(filterError(#"{"$or": "a"}"#)?.contains("where.$or must be an array") == true)
        #expect(filterError(#"{"$or": [{"a": 1}, 2]}"#)?.contains("where.$or[1] must be a JSON object") == true)
    }

    @Test("an empty field name is rejected with its place")
    func emptyFieldName() {
        #expect(filterError(#"{"": 1}"#)?.contains("empty") == true)
        let nested = filterError(#"{"$or": [{"a": 1}, {"": {"$eq": 1}}]}"#)
        #expect(nested?.contains("where.$or[1]") == true)
        #expect(nested?.contains("empty") == true)
    }

    @Test("a dotted path with an empty part is rejected", arguments: ["a..b", ".a", "a.", "."])
    func emptyPathPart(name: String) {
        let message = filterError(#"{"x": 1, "\#(name)": 1}"#)
        #expect(message?.contains("'\(name)'") == true)
        #expect(message?.contains("empty part") == true)
    }

    @Test("field names of up to 1024 bytes are accepted, longer ones rejected")
    func longFieldNames() throws {
        let longest = String(repeating: "é", count: 512)
        #expect(try Where.parse(json: #"{"\#(longest)": 1}"#) == .compare(field(longest), .equal, .number("1")))
        #expect(throws: Never.self) { try Where.parse(json: #"{"\#(String(repeating: "a", count: 1024))": 1}"#) }
        let message = filterError(#"{"\#(longest)a": 1}"#)
        #expect(message?.contains("longer than 1024 bytes") == true)
        #expect(filterError(#"{"\#(String(repeating: "a", count: 5000))": 1}"#) != nil)
    }

    @Test("32 levels of $and/$or are accepted")
    func depthLimitAccepted() throws {
        #expect(Where.maximumDepth == 32)
        var expected = Where.compare(field("a"), .equal, .number("1"))
        for _ in 0..<32 { expected = .all([expected]) }
        #expect(try Where.parse(json: nestedAnd(32)) == expected)
        // The deepest operand a leaf can have still fits.
        #expect(throws: Never.self) { try Where.parse(json: nestedAnd(32, leaf: #"{"a":{"$in":[1]}}"#)) }
        let mixed = String(repeating: #"{"$or":[{"$and":["#, count: 16) + "{}" + String(repeating: "]}]}", count: 16)
        #expect(throws: Never.self) { try Where.parse(json: mixed) }
    }

    @Test("33 levels of $and/$or are rejected, naming the limit and the place")
    func depthLimitRejected() {
        let message = filterError(nestedAnd(33))
        #expect(message?.contains("deeper than 32") == true)
        #expect(message?.contains("where" + String(repeating: ".$and[0]", count: 32) + ".$and") == true)
        #expect(filterError(nestedAnd(33, leaf: #"{"a":{"$in":[1]}}"#))?.contains("deeper") == true)
        #expect(filterError(nestedAnd(200))?.contains("deeper") == true)
    }

    @Test("1000 conditions are accepted once folded, 1001 rejected; folded values count nothing")
    func conditionLimit() throws {
        #expect(Where.maximumConditions == 1000)
        #expect(throws: Never.self) { try Where.parse(json: manyFields(1000)) }
        #expect(filterError(manyFields(1001))?.contains("has 1001 conditions, more than the 1000 allowed") == true)

        // The values of one list, however many, are one condition.
        let values = (0..<100_000).map(String.init).joined(separator: ",")
        #expect(throws: Never.self) { try Where.parse(json: #"{"a": {"$in": [\#(values)]}, "b": {"$nin": [\#(values)]}}"#) }

        // Parlant's $or of $eq and $and of $ne on one field fold into one list.
        let equals = (0..<100_000).map { #"{"id": {"$eq": "c\#($0)"}}"# }.joined(separator: ",")
        let anyOf = try Where.parse(json: #"{"$or": [\#(equals)]}"#)
        guard case .any(let parts) = anyOf else { Issue.record("parsed as written: \(anyOf)"); return }
        #expect(parts.count == 100_000, "parse keeps the filter as written")
        #expect(anyOf.folded == .member(try FieldPath("id"), negated: false, (0..<100_000).map { .string("c\($0)") }))
        let notEquals = (0..<100_000).map { #"{"id": {"$ne": "c\#($0)"}}"# }.joined(separator: ",")
        let noneOf = try Where.parse(json: #"{"$and": [\#(notEquals)]}"#)
        #expect(noneOf.folded.conditionCount == 1)

        // Clauses on different fields, or that do not fold ($ne in an $or), still count one each.
        let items = { (count: Int) in (0..<count).map { #"{"f\#($0)": 1}"# }.joined(separator: ",") }
        #expect(throws: Never.self) { try Where.parse(json: #"{"$and": [\#(items(1000))]}"#) }
        #expect(filterError(#"{"$and": [\#(items(1001))]}"#)?.contains("1001 conditions") == true)
        let notInOr = (0..<1001).map { #"{"a": {"$ne": \#($0)}}"# }.joined(separator: ",")
        #expect(filterError(#"{"$or": [\#(notInOr)]}"#)?.contains("1001 conditions") == true)
        // Several operators on one field count one each; a field with no operators counts nothing.
        let operators = #"{"a": {"$gt": 1, "$lt": 9}, "e": {}}"#
        #expect(throws: Never.self) { try Where.parse(json: "{\"$or\": [\(items(998)), \(operators)]}") }
        #expect(filterError("{\"$or\": [\(items(999)), \(operators)]}")?.contains("1001 conditions") == true)
        // Empty $and/$or parts fold away, so they cannot make a filter costly.
        let empties = Array(repeating: "{}", count: 50_000).joined(separator: ",")
        #expect(try Where.parse(json: #"{"$and": [\#(empties)]}"#).folded == .everything)
        #expect(try Where.parse(json: #"{"$or": [{"a": 1}, {"$or": []}, {"$and": [\#(empties)]}]}"#).folded == .everything)
    }

    @Test(
        "malformed JSON is an invalid_filter that says so",
        arguments: [#"{"a": }"#, #"{"a": 1"#, "{'a': 1}", "", #"{"a": 1} x"#, #"{"a": NaN}"#, #"{"a": 01}"#, "{a: 1}"]
    )
    func malformedJSON(json: String) {
        #expect(filterError(json)?.contains("not valid JSON") == true)
    }

    @Test(
        "the top level must be an object",
        arguments: [("[]", "array"), ("1", "number"), (#""x""#, "string"), ("null", "null"), ("true", "boolean")]
    )
    func topLevelNotObject(json: String, type: String) {
        #expect(filterError(json) == "where must be a JSON object, not \(type)")
    }
}
