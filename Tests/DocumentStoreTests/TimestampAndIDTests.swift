import Foundation
import Testing

@testable import DocumentStore

/// What Python's `datetime.now(timezone.utc).isoformat()` prints: microseconds only when non-zero.
private func isPythonISOFormat(_ text: String) -> Bool {
    text.wholeMatch(of: /[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{6})?\+00:00/) != nil
}

private let urlSafeCharacters = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")

@Suite("Timestamps and document ids")
struct TimestampAndIDTests {}

extension TimestampAndIDTests {
    @Suite("Timestamps")
    struct Timestamps {
        @Test("now() prints UTC as Python's isoformat() does, and is the current time")
        func nowFormat() throws {
            let before = Date()
            let text = Timestamp.now()
            let after = Date()
            #expect(isPythonISOFormat(text), "\(text)")
            #expect(Timestamp.isValid(text))

            // Foundation parses the part without the fraction; the instant must lie between the two readings.
            let seconds = text.replacing(/\.[0-9]{6}/, with: "")
            let date = try #require(ISO8601DateFormatter().date(from: seconds))
            #expect(date >= before.addingTimeInterval(-1) && date <= after)
            #expect(text.hasPrefix(String(ISO8601DateFormatter().string(from: date).prefix(19))))
        }

        @Test("now() carries microseconds: six digits, never .000000")
        func nowMicroseconds() {
            let samples = (0..<1000).map { _ in Timestamp.now() }
            #expect(samples.allSatisfy { isPythonISOFormat($0) })
            #expect(!samples.contains { $0.contains(".000000") })
            // A whole second (no fraction) comes once in a million readings; all 1000 cannot be whole.
            #expect(samples.contains { $0.count == "2024-05-01T12:00:00.123456+00:00".count })
        }

        @Test(
            "isValid accepts the ISO 8601 date-times it documents",
            arguments: [
                "2024-05-01T12:00:00.123456+00:00",
                "2024-05-01T12:00:00+00:00",
                "2024-05-01T12:00:00.123Z",
                "2024-05-01T12:00:00Z",
                "2024-05-01T12:00:00",
                "2024-05-01T12:00",
                "2024-05-01T12:00Z",
                "2024-05-01T12:00:00.1-05:30",
                "2024-05-01T12:00:00.123456789+14:00",
                "2024-05-01 12:00:00.5+00:00",
            ]
        )
        func valid(text: String) {
            #expect(Timestamp.isValid(text))
        }

        @Test(
            "isValid rejects other text",
            arguments: [
                "", "now", "2024-05-01", "2024-05-01T12", "2024-5-01T12:00:00", "2024-05-1T12:00:00",
                "24-05-01T12:00:00", "2024/05/01T12:00:00", "20240501T120000Z", "2024-05-01t12:00:00",
                "2024-05-01_12:00:00", "2024-05-01T12:00:00.", "2024-05-01T12:00:00.Z", "2024-05-01T12:00:00+0000",
                "2024-05-01T12:00:00+00", "2024-05-01T12:00:00 +00:00", " 2024-05-01T12:00:00",
                "2024-05-01T12:00:00Z ", "2024-05-01T12:00:00Zjunk", "2024-05-01T12:00:00z", "2024-05-01T1:00:00",
                "2024-05-01T12:0:00", "2024-05-01T12:00:0", "２０２４-05-01T12:00:00", "2024-05-01T12:00:00+00:00\n",
                "-2024-05-01T12:00:00",
            ]
        )
        func invalid(text: String) {
            #expect(!Timestamp.isValid(text))
        }

        @Test(
            "isValid rejects dates and times that do not exist",
            arguments: [
                "2024-13-01T12:00:00+00:00", "2024-00-10T12:00:00+00:00", "2024-05-32T12:00:00+00:00",
                "2024-05-00T12:00:00+00:00", "2023-02-29T12:00:00+00:00", "2024-05-01T25:00:00+00:00",
                "2024-05-01T12:60:00+00:00", "2024-05-01T12:00:61+00:00", "2024-05-01T12:00:00+24:00",
                "9999-99-99T99:99:99",
            ]
        )
        func impossibleDates(text: String) {
            #expect(!Timestamp.isValid(text))
        }
    }
}

extension TimestampAndIDTests {
    @Suite("Document ids")
    struct DocumentIDs {
        @Test("generate() gives 16 URL-safe characters from 12 random bytes")
        func generatedShape() throws {
            let id = DocumentID.generate()
            #expect(id.count == 16)
            #expect(id.utf8.count == 16)
            #expect(id.allSatisfy(urlSafeCharacters.contains))
            #expect(try #require(Base64URL.decode(id)).count == 12)
            #expect(throws: Never.self) { try DocumentID.validate(id) }
        }

        @Test("10,000 generated ids are distinct and well-formed")
        func generatedDistinct() {
            let ids = (0..<10_000).map { _ in DocumentID.generate() }
            #expect(Set(ids).count == 10_000)
            #expect(ids.allSatisfy { $0.count == 16 && $0.allSatisfy(urlSafeCharacters.contains) })
            // 96 random bits: every symbol of the alphabet shows up in 160,000 characters.
            #expect(Set(ids.joined()) == urlSafeCharacters)
        }

        @Test(
            "ids of 1 to 256 bytes are accepted",
            arguments: [
                "a", "id-1", "ünï 日本 🚀", String(repeating: "a", count: 256), String(repeating: "é", count: 128),
                String(repeating: "🚀", count: 64),
            ]
        )
        func validIDs(id: String) throws {
            #expect(throws: Never.self) { try DocumentID.validate(id) }
            #expect(try DocumentID.validate(JSONValue.string(id)) == id)
        }

        @Test(
            "the empty id and ids over 256 bytes are invalid_document",
            arguments: [
                "", String(repeating: "a", count: 257), String(repeating: "é", count: 128) + "a",
                String(repeating: "🚀", count: 64) + "a", String(repeating: "x", count: 10_000),
            ]
        )
        func invalidIDs(id: String) {
            let error = #expect(throws: DocumentStoreError.self) { try DocumentID.validate(id) }
            #expect(error?.code == "invalid_document")
            #expect(error?.message.contains("256 bytes") == true)
            let fromJSON = #expect(throws: DocumentStoreError.self) { try DocumentID.validate(JSONValue.string(id)) }
            #expect(fromJSON?.code == "invalid_document")
        }

        @Test(
            "an id that is not a string is invalid_document, naming its type",
            arguments: [
                (JSONValue.number("1"), "number"), (.null, "null"), (.bool(true), "boolean"),
                (.array([.string("a")]), "array"),
                (.object(JSONObject([("id", .string("a"))])), "object"),
            ]
        )
        func nonStringIDs(value: JSONValue, type: String) {
            let error = #expect(throws: DocumentStoreError.self) { try DocumentID.validate(value) }
            #expect(error?.code == "invalid_document")
            #expect(error?.message == "id must be a string, not \(type)")
        }

        @Test("the error names the field it was given")
        func fieldName() {
            let typed = #expect(throws: DocumentStoreError.self) { try DocumentID.validate(.null, field: "ids[2]") }
            #expect(typed?.message.hasPrefix("ids[2] must be a string") == true)
            let empty = #expect(throws: DocumentStoreError.self) { try DocumentID.validate("", field: "ids[0]") }
            #expect(empty?.message.hasPrefix("ids[0] must be a non-empty string") == true)
        }
    }
}
