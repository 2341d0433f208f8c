import Foundation
import Testing

@testable import DocumentStore

@Suite("Hostile field names and values")
struct HostileInputTests {
    static let hostile: [String] = [
        "a'b", #"a"b"#, "a;b", "'; DROP TABLE parlant_sessions; --", "$1", "$where", "a\\b", "/* x */", "--",
        "ünï©ødé 😀", "\u{202E}rtl", "name with spaces", String(repeating: "long", count: 2000),
    ]

    @Test("hostile keys and values are stored verbatim and filter exactly", arguments: hostile)
    func storedVerbatim(text: String) throws {
        let database = try TestDatabase.make(label: "hostile")
        let collection = database.collection(try CollectionName("sessions"), tablePrefix: "parlant_sessions_")
        let bystander = database.collection(try CollectionName("events"), tablePrefix: "parlant_sessions_")
        _ = try bystander.insert(.of(#"{"id": "keep"}"#))
        var object = JSONObject()
        object["id"] = .string(String(text.prefix(200)))
        object[text] = .string(text)
        object["value"] = .string(text)
        let stored = try collection.insert(.object(object))
        object["creation_utc"] = stored.creationUTC.map(JSONValue.string)
        #expect(try stored.value() == object)

        let byValue = JSONValue.object(JSONObject([("value", .string(text))])).serialized
        #expect(try collection.ids(matching: byValue) == [stored.id])
        if !text.hasPrefix("$") && !text.contains(".") && text.utf8.count <= FieldPath.maximumLength {
            let byKey = JSONValue.object(JSONObject([(text, .object(JSONObject([("$eq", .string(text))])))])).serialized
            #expect(try collection.ids(matching: byKey) == [stored.id])
        }
        #expect(try collection.get(id: String(text.prefix(200)))?.id == stored.id)
        #expect(try bystander.get(id: "keep") != nil, "other tables are untouched")
    }

    @Test("NUL never reaches PostgreSQL: rejected in JSON and in ids")
    func nul() throws {
        #expect(throws: JSONParseError.self) { try JSONValue.parse(#"{"a\u0000": 1}"#) }
        #expect(throws: JSONParseError.self) { try JSONValue.parse(#"{"a": "x\u0000y"}"#) }
        let database = try TestDatabase.make(label: "nul")
        let collection = database.collection(try CollectionName("sessions"), tablePrefix: "parlant_sessions_")
        _ = try collection.insert(.of(#"{"id": "x"}"#))
        #expect(throws: DocumentStoreError.self) { try collection.get(id: "x\u{0}; DROP TABLE x") }
        #expect(throws: DocumentStoreError.self) { try collection.delete(id: "x\u{0}") }
        #expect(try collection.get(id: "x") != nil)
    }

    @Test("a field name starting with $ in a filter is an operator error, not SQL")
    func dollarField() {
        #expect(throws: DocumentStoreError.self) { try Where.parse(json: #"{"$where": "1=1"}"#) }
        #expect(throws: DocumentStoreError.self) { try Where.parse(json: #"{"a": {"$regex": ".*"}}"#) }
    }

    @Test(
        "hostile collection names are refused",
        arguments: [
            "", "A", "1abc", "a-b", "a b", "a;drop", "a'b", "ä", String(repeating: "a", count: 64),
            "x_failed_migrations",
        ])
    func collectionNames(name: String) {
        #expect(throws: DocumentStoreError.self) { try CollectionName(name) }
    }

    @Test("out-of-range numbers and oversized ids are 4xx-class errors that write nothing")
    func outOfRange() throws {
        let database = try TestDatabase.make(label: "range")
        let collection = database.collection(try CollectionName("sessions"), tablePrefix: "parlant_sessions_")
        #expect(throws: DocumentStoreError.self) { try collection.insert(.of(#"{"id": "n", "x": 1e999999}"#)) }
        #expect(throws: DocumentStoreError.self) {
            try collection.insert(.object(JSONObject([("id", .string(String(repeating: "i", count: 257)))])))
        }
        #expect(throws: DocumentStoreError.self) { try collection.insert(.of(#"{"id": 5}"#)) }
        #expect(throws: DocumentStoreError.self) { try collection.insert(.of(#"{"creation_utc": "yesterday"}"#)) }
        #expect(try collection.count(.everything) == 0)
    }
}
