import Testing

@testable import DocumentStore

/// `NumericRange` must accept exactly the numbers PostgreSQL's jsonb accepts, so that a filter operand
/// out of range is an `invalid_filter` before it reaches SQL.
@Suite struct NumericRangeTests {
    static let literals = [
        "0", "-0", "0.0", "1", "-1.5", "1e131071", "1e131072", "9.9e131071", "99e131070", "99e131071",
        "1e-16383", "1e-16384", "12345e-16387", "1.5e-16383", "1.50e-16382", "0.001e-16380", "0.001e-16381",
        "0e-16383", "1E+5", "123456789012345678901234567890", "1e99999999999999999999", "-1e-99999999999999999999",
    ]

    @Test(arguments: literals)
    func agreesWithPostgreSQL(_ literal: String) throws {
        let accepted: Bool
        do {
            try TestDatabase.sql("SELECT \(bind: literal)::jsonb")
            accepted = true
        } catch let error as DatabaseError where error.sqlState == "22003" {
            accepted = false
        }
        #expect(NumericRange.contains(literal) == accepted, "\(literal): PostgreSQL accepts it: \(accepted)")
    }

    @Test func filterOperandsOutOfRangeAreInvalidFilters() throws {
        #expect(throws: DocumentStoreError.self) { try Where.parse(json: #"{"n": {"$gt": 1e1000000}}"#) }
        #expect(throws: DocumentStoreError.self) { try Where.parse(json: #"{"s": "a\u0000b"}"#) }
        #expect(throws: DocumentStoreError.self) { try Where.parse(json: #"{"a\u0000b": 1}"#) }
        #expect(try Where.parse(json: #"{"n": {"$gt": 1e131071}}"#) != .everything)
    }
}
