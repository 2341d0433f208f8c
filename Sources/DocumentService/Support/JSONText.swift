import DocumentStore

/// Small helpers for writing JSON text by hand around documents that are already JSON text.
enum JSONText {
    /// `text` as a JSON string literal.
    static func quoted(_ text: String) -> String {
        JSONValue.string(text).serialized
    }
}

extension JSONText {
    /// A JSON array of items that are already JSON text.
    static func array(_ items: [String]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(items.reduce(2) { $0 + $1.utf8.count + 1 })
        bytes.append(UInt8(ascii: "["))
        for (index, item) in items.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            bytes.append(contentsOf: item.utf8)
        }
        bytes.append(UInt8(ascii: "]"))
        return bytes
    }

    /// A JSON object of fields whose values are already JSON text, in order.
    static func object(_ fields: KeyValuePairs<String, String>) -> [UInt8] {
        var bytes: [UInt8] = [UInt8(ascii: "{")]
        for (index, field) in fields.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            bytes.append(contentsOf: quoted(field.key).utf8)
            bytes.append(UInt8(ascii: ":"))
            bytes.append(contentsOf: field.value.utf8)
        }
        bytes.append(UInt8(ascii: "}"))
        return bytes
    }
}
