/// Checks of documents that clients send, and the fields filled in for them.
enum NewDocument {
    /// A document ready to insert: `id` and `creation_utc` present and checked.
    static func complete(_ value: JSONValue) throws(DocumentStoreError) -> JSONObject {
        guard var object = value.objectValue else {
            throw .invalidDocument("a document must be a JSON object, not \(value.typeName)")
        }
        try checkFields(of: object)
        if object["id"] == nil { object["id"] = .string(DocumentID.generate()) }
        if object["creation_utc"] == nil { object["creation_utc"] = .string(Timestamp.now()) }
        return object
    }

    /// The fields besides `id` that are copied into indexed columns.
    static let indexedFields = ["version", "creation_utc", "session_id", "customer_id", "agent_id"]
    /// The most bytes one of `indexedFields` may take as column text: PostgreSQL refuses an index row
    /// over about 2.7 kB, and a keyset index row also holds `creation_utc` and `id`.
    static let indexedFieldLimit = 1024

    /// Checks `id`, `creation_utc` and the other indexed fields where present (a merge patch may carry
    /// any of them or none).
    static func checkFields(of object: JSONObject) throws(DocumentStoreError) {
        for field in indexedFields {
            guard let value = object[field], !value.isNull else { continue }
            let length = value.stringValue?.utf8.count ?? value.serialized.utf8.count
            guard length <= indexedFieldLimit else {
                throw .invalidDocument(
                    "\(field) is copied into an indexed column and may take at most \(indexedFieldLimit) bytes, not \(length)"
                )
            }
        }
        if let id = object["id"] {
            _ = try DocumentID.validate(id)
        }
        if let creation = object["creation_utc"] {
            guard let text = creation.stringValue, Timestamp.isValid(text) else {
                throw .invalidDocument(
                    "creation_utc must be an ISO 8601 date-time string such as 2024-05-01T12:00:00.000000+00:00"
                )
            }
        }
    }
}
