/// PostgreSQL's text form of a one-dimensional array, `{"a","b\"c"}`, to send as one bind parameter
/// (cast to `text[]` or `jsonb[]` in the statement) however many elements it holds.
enum ArrayLiteral {
    /// Every element double-quoted, with `"` and `\` escaped by a backslash; no element is NULL.
    static func text(_ elements: [String]) -> String {
        var literal = "{"
        literal.reserveCapacity(elements.reduce(2) { $0 + $1.utf8.count + 3 })
        for (index, element) in elements.enumerated() {
            if index > 0 { literal += "," }
            literal += "\""
            for character in element.unicodeScalars {
                if character == "\"" || character == "\\" { literal += "\\" }
                literal.unicodeScalars.append(character)
            }
            literal += "\""
        }
        return literal + "}"
    }
}
