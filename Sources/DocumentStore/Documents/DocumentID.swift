import COpenSSL

/// Document ids: checked when supplied, generated when absent.
enum DocumentID {
    /// The longest id accepted, in bytes.
    static let maximumLength = 256

    /// Checks that `value` is a usable id; the error names `field`.
    static func validate(_ value: JSONValue, field: String = "id") throws(DocumentStoreError) -> String {
        guard let id = value.stringValue else {
            throw .invalidDocument("\(field) must be a string, not \(value.typeName)")
        }
        try validate(id, field: field)
        return id
    }

    static func validate(_ id: String, field: String = "id") throws(DocumentStoreError) {
        guard !id.isEmpty, id.utf8.count <= maximumLength else {
            throw .invalidDocument("\(field) must be a non-empty string of at most \(maximumLength) bytes")
        }
    }

    /// A new random id: 16 characters of [A-Za-z0-9_-] (96 bits from OpenSSL's generator).
    static func generate() -> String {
        var bytes = [UInt8](repeating: 0, count: 12)
        guard RAND_bytes(&bytes, Int32(bytes.count)) == 1 else {
            preconditionFailure("OpenSSL's random generator failed")
        }
        return Base64URL.encode(bytes)
    }
}
