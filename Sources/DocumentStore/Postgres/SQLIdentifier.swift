/// A PostgreSQL identifier (schema, table or index name) checked against a strict pattern,
/// written into SQL only in double quotes.
struct SQLIdentifier: Sendable, Hashable, CustomStringConvertible {
    /// The longest identifier PostgreSQL keeps without truncating it (NAMEDATALEN - 1).
    static let maximumLength = 63

    let name: String

    /// Accepts `^[a-z_][a-z0-9_$]*$` of at most 63 bytes; anything else is `nil`.
    init?(_ name: String) {
        guard let first = name.utf8.first, name.utf8.count <= Self.maximumLength else { return nil }
        guard first == UInt8(ascii: "_") || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(first) else {
            return nil
        }
        for byte in name.utf8 {
            let isLower = (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
            let isDigit = (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
            guard isLower || isDigit || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "$") else { return nil }
        }
        self.name = name
    }

    var quoted: String { "\"\(name)\"" }

    var description: String { name }
}

/// A table (or index) name qualified by its schema.
struct QualifiedName: Sendable, Hashable {
    let schema: SQLIdentifier
    let name: SQLIdentifier

    var sql: SQLQuery { "\(schema).\(name)" }
}
