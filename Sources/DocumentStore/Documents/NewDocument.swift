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

    /// Checks `id` and `creation_utc` where present (a merge patch may carry either or neither).
    static func checkFields(of object: JSONObject) throws(DocumentStoreError) {
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
