import Foundation
import TestSupport
import Testing

@testable import DocumentStore

/// Every operator over values of every JSON type, checked against the in-memory oracle, in a database
/// whose collation is C.UTF-8 and in one whose collation is en_US.UTF-8.
@Suite("Filter semantics against PostgreSQL")
struct FilterSemanticsTests {
    /// Documents whose fields hold every kind of value, including ones that trip naive SQL:
    /// 1 vs 1.0 vs "1" vs true, strings whose order differs between en_US and C, missing fields, nesting.
    static let documents: [String] = [
        #"{"id":"d01","v":1,"s":"a","n":{"tier":"gold","level":3}}"#,
        #"{"id":"d02","v":1.0,"s":"B","n":{"tier":"silver","level":10}}"#,
        #"{"id":"d03","v":"1","s":"b","n":{"tier":"Gold"}}"#,
        #"{"id":"d04","v":true,"s":"Z","n":"flat"}"#,
        #"{"id":"d05","v":false,"s":"é","n":{"tier":null}}"#,
        #"{"id":"d06","v":null,"s":"e","n":{}}"#,
        #"{"id":"d07","v":[1],"s":"apple"}"#,
        #"{"id":"d08","v":{"a":1},"s":"Apple"}"#,
        #"{"id":"d09","s":"_under"}"#,
        #"{"id":"d10","v":2,"s":"a b"}"#,
        #"{"id":"d11","v":-3.5,"s":"ab"}"#,
        #"{"id":"d12","v":1e2,"s":"😀"}"#,
        #"{"id":"d13","v":100,"s":"Ä"}"#,
        #"{"id":"d14","v":0.1,"s":""}"#,
        #"{"id":"d15","v":"","s":null}"#,
        #"{"id":"d16","v":"B","s":"\u00e9"}"#,
        #"{"id":"d17","v":"a","s":"a\u0301"}"#,
    ]

    static let fields = ["v", "s", "n.tier", "n.level", "missing"]
    static let operands: [String] = [
        "1", "1.0", "2", "100", "-3.5", "0.1", "0", #""1""#, #""a""#, #""B""#, #""b""#, #""é""#, #""e""#,
        #""Z""#, #""""#, #""gold""#, #""Gold""#, "true", "false", "null",
    ]

    static let databases: [String] = ["C.UTF-8", "en_US.UTF-8"]

    func collection(for collation: String) throws -> DocumentCollection {
        let url = collation == "C.UTF-8" ? TestDatabase.url : TestDatabase.englishCollationURL
        let database = try TestDatabase.make(label: "filters", url: url)
        let collection = database.collection(try CollectionName("docs"), tablePrefix: "parlant_sessions_")
        _ = try collection.insertMany(Self.documents.map(JSONValue.of))
        return collection
    }

    func check(_ filterJSON: String, in collection: DocumentCollection, stored: [JSONObject]) throws {
        let filter = try Where.parse(json: filterJSON)
        let expected = Set(stored.filter { ReferenceFilter.matches(filter, $0) }.map { $0["id"]!.stringValue! })
        let actual = try collection.ids(matching: filterJSON)
        #expect(actual == expected, "filter \(filterJSON)")
        // The service's own in-memory matching (what watchers use) agrees with PostgreSQL.
        let matched = Set(stored.filter { filter.matches($0) }.map { $0["id"]!.stringValue! })
        #expect(matched == actual, "Where.matches, filter \(filterJSON)")
    }

    @Test("in-memory matching orders numbers by exact value, beyond what a double holds")
    func exactNumbers() throws {
        let database = try TestDatabase.make(label: "numbers", url: TestDatabase.url)
        let collection = database.collection(try CollectionName("numbers"), tablePrefix: "parlant_sessions_")
        let values = [
            "12345678901234567890123", "12345678901234567890124", "1.2345678901234567890123e22", "-0.0", "0",
            "0.000000000000000000001", "1e-21", "-1e400", "1E+3", "999.9999999999999999999", "-12.50", "-12.5000001",
        ]
        _ = try collection.insertMany(values.enumerated().map { JSONValue.of(#"{"id": "n\#($0.offset)", "v": \#($0.element)}"#) })
        let stored = try collection.all()
        for operand in values + ["1000", "-12.5", "1.0e-21"] {
            for comparison in ComparisonOperator.allCases {
                let json = #"{"v": {"\#(comparison.rawValue)": \#(operand)}}"#
                let filter = try Where.parse(json: json)
                let matched = Set(stored.filter { filter.matches($0) }.map { $0["id"]!.stringValue! })
                #expect(matched == (try collection.ids(matching: json)), "filter \(json)")
            }
        }
    }

    @Test("every comparison operator on every field and operand", arguments: databases)
    func comparisons(collation: String) throws {
        let collection = try collection(for: collation)
        let stored = try collection.all()
        #expect(stored.count == Self.documents.count)
        for field in Self.fields {
            for comparison in ComparisonOperator.allCases {
                for operand in Self.operands {
                    try check(
                        #"{"\#(field)": {"\#(comparison.rawValue)": \#(operand)}}"#, in: collection, stored: stored)
                }
            }
        }
    }

    @Test("$in and $nin, including empty lists and mixed types", arguments: databases)
    func membership(collation: String) throws {
        let collection = try collection(for: collation)
        let stored = try collection.all()
        let lists = ["[]", "[1]", #"[1, "1"]"#, "[true, 2]", "[null]", #"["a", "B", "é"]"#, "[100, 0.1, -3.5]"]
        for field in Self.fields {
            for list in lists {
                try check(#"{"\#(field)": {"$in": \#(list)}}"#, in: collection, stored: stored)
                try check(#"{"\#(field)": {"$nin": \#(list)}}"#, in: collection, stored: stored)
            }
        }
    }

    @Test("the edge cases the spec names, spelled out")
    func namedEdgeCases() throws {
        let collection = try collection(for: "en_US.UTF-8")
        // 1 equals 1.0 and 1e2 equals 100; never "1" or true.
        #expect(try collection.ids(matching: #"{"v": 1}"#) == ["d01", "d02"])
        #expect(try collection.ids(matching: #"{"v": {"$eq": 100}}"#) == ["d12", "d13"])
        #expect(try collection.ids(matching: #"{"v": true}"#) == ["d04"])
        // Code-point order: "B" < "a" < "b" < "é" whatever the collation says.
        #expect(try collection.ids(matching: #"{"s": {"$lt": "a"}}"#) == ["d02", "d04", "d08", "d09", "d14"])
        #expect(try collection.ids(matching: #"{"s": {"$gt": "z"}}"#) == ["d05", "d12", "d13", "d16"])
        // A missing field matches $ne and $nin only.
        #expect(try collection.ids(matching: #"{"missing": {"$ne": 1}}"#).count == Self.documents.count)
        #expect(try collection.ids(matching: #"{"missing": {"$nin": [1]}}"#).count == Self.documents.count)
        #expect(try collection.ids(matching: #"{"missing": {"$eq": null}}"#).isEmpty)
        #expect(try collection.ids(matching: #"{"missing": {"$lte": 0}}"#).isEmpty)
        // null equals only null; ordering against null matches nothing.
        #expect(try collection.ids(matching: #"{"v": null}"#) == ["d06"])
        #expect(try collection.ids(matching: #"{"v": {"$gte": null}}"#).isEmpty)
        // Dotted paths reach into objects only.
        #expect(try collection.ids(matching: #"{"n.tier": "gold"}"#) == ["d01"])
        #expect(try collection.ids(matching: #"{"n.tier": null}"#) == ["d05"])
        // Empty lists: $in matches nothing, $nin everything.
        #expect(try collection.ids(matching: #"{"v": {"$in": []}}"#).isEmpty)
        #expect(try collection.ids(matching: #"{"v": {"$nin": []}}"#).count == Self.documents.count)
        // Arrays and objects never equal a scalar.
        #expect(try collection.ids(matching: #"{"v": {"$in": [1]}}"#) == ["d01", "d02"])
    }

    @Test("random combinations of $and, $or and several fields", arguments: databases)
    func combinations(collation: String) throws {
        let collection = try collection(for: collation)
        let stored = try collection.all()
        var random = TestRandom(seed: 20_261_125)
        for _ in 0..<300 {
            try check(randomFilter(depth: 0, using: &random), in: collection, stored: stored)
        }
    }

    @Test("folding keeps the meaning of random filters, in memory", arguments: [20_261_125, 7, 99])
    func foldingKeepsMeaning(seed: Int) throws {
        let stored = Self.documents.map { JSONValue.of($0).objectValue! }
        var random = TestRandom(seed: UInt64(seed))
        for _ in 0..<500 {
            let filter = try Where.parse(json: randomFilter(depth: 0, using: &random))
            for document in stored {
                #expect(
                    ReferenceFilter.matches(filter, document) == ReferenceFilter.matches(filter.folded, document),
                    "\(filter) folded to \(filter.folded) on \(document)")
            }
        }
    }

    @Test("filters of thousands of clauses on one field, as Parlant sends them, match as written", arguments: databases)
    func thousandsOfClauses(collation: String) throws {
        let url = collation == "C.UTF-8" ? TestDatabase.url : TestDatabase.englishCollationURL
        let database = try TestDatabase.make(label: "long_filters", url: url)
        let collection = database.collection(try CollectionName("customers"), tablePrefix: "parlant_customers_")
        // Ids, and a customer_id that is sometimes a number, sometimes its text, sometimes missing.
        let documents = (0..<3000).map { index -> JSONValue in
            let customer: String
            switch index % 4 {
            case 0: customer = #""customer_id": "c\#(index % 50)","#
            case 1: customer = #""customer_id": \#(index % 7),"#
            case 2: customer = #""customer_id": "\#(index % 7)","#
            default: customer = ""
            }
            return .of(#"{"id": "p\#(index)", \#(customer) "s": "\#(index % 2 == 0 ? "K" : "k")\#(index)"}"#)
        }
        for start in stride(from: 0, to: documents.count, by: 500) {
            _ = try collection.insertMany(Array(documents[start..<start + 500]))
        }
        let stored = try collection.all()
        #expect(stored.count == 3000)
        let ids = { (indexes: [Int]) in indexes.map { #"{"id": {"$eq": "p\#($0)"}}"# }.joined(separator: ",") }
        let notIDs = { (indexes: [Int]) in indexes.map { #"{"id": {"$ne": "p\#($0)"}}"# }.joined(separator: ",") }
        let evens = Array(stride(from: 0, to: 3000, by: 2))
        let thirds = Array(stride(from: 0, to: 3500, by: 3))
        let customers = (0..<60).flatMap { [#"{"customer_id": "c\#($0)"}"#, #"{"customer_id": \#($0 % 9)}"#] }
            .joined(separator: ",")
        let filters = [
            #"{"$or": [\#(ids(evens + [5000, 5001]))]}"#,
            #"{"$and": [\#(notIDs(thirds))]}"#,
            #"{"$or": [\#(ids(thirds)), {"s": {"$gt": "k2"}}, \#(customers)]}"#,
            #"{"$or": [\#(customers), {"customer_id": {"$in": ["3", 4, "c7"]}}]}"#,
            #"{"$and": [\#(notIDs(evens)), {"customer_id": {"$nin": ["5", 6]}}, {"customer_id": {"$ne": "c1"}}]}"#,
            #"{"$and": [{"$or": [\#(ids(evens))]}, {"$or": [\#(ids(thirds))]}], "s": {"$lt": "a"}}"#,
            #"{"$or": [{"$or": [\#(ids(Array(0..<1200)))]}, {"$or": [\#(ids(Array(1100..<2400)))]}]}"#,
        ]
        for filter in filters {
            try check(filter, in: collection, stored: stored)
        }
    }

    func randomFilter(depth: Int, using random: inout TestRandom) -> String {
        let choice = random.next(upperBound: depth >= 3 ? 2 : 5)
        switch choice {
        case 0, 1:
            let count = 1 + random.next(upperBound: 3)
            let conditions = (0..<count).map { _ -> String in
                let field = Self.fields[random.next(upperBound: Self.fields.count)]
                let comparison = ComparisonOperator.allCases[random.next(upperBound: ComparisonOperator.allCases.count)]
                let operand = Self.operands[random.next(upperBound: Self.operands.count)]
                return #""\#(field)": {"\#(comparison.rawValue)": \#(operand)}"#
            }
            return "{\(conditions.joined(separator: ", "))}"
        default:
            let logical = random.next(upperBound: 2) == 0 ? "$and" : "$or"
            let count = random.next(upperBound: 4)
            let parts = (0..<count).map { _ in randomFilter(depth: depth + 1, using: &random) }
            return #"{"\#(logical)": [\#(parts.joined(separator: ", "))]}"#
        }
    }
}
