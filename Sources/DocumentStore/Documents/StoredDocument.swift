/// A document as PostgreSQL returned it: its JSON text and the two fields that order it.
public struct StoredDocument: Sendable, Equatable {
    /// The whole document as a JSON object's text.
    public let json: String
    public let id: String
    /// `nil` only for rows written by hand without it.
    public let creationUTC: String?

    /// The keyset position of this document.
    public var cursor: Cursor { Cursor(creationUTC: creationUTC ?? "", id: id) }

    /// Parses `json` (for callers that need the fields).
    public func value() throws -> JSONObject {
        guard let object = try JSONValue.parse(json, maxDepth: 1_000).objectValue else {
            throw DocumentStoreError(.internalError, "a stored document is not a JSON object")
        }
        return object
    }
}
