import DocumentStore

/// PostgREST-style query filters, `field=op.value`, turned into `Where` conditions (as JSON, so the one
/// `Where` parser checks them like any other filter).
///
/// Operators: `eq neq gt gte lt lte` and `in.(a,b,...)`. A value is a JSON literal when it is one (`30`,
/// `1.5`, `true`, `null`, `"30"` in double quotes), otherwise the string as written: `status=eq.open`
/// is the string `open`, `age=gt.30` the number 30, `code=eq."30"` the string `30`. Inside `in.(...)`
/// items are separated by commas; quote an item to keep commas or parentheses in it.
enum PostgRESTFilter {
    /// `{"field": {"$op": value}}` for one query pair.
    static func condition(field: String, expression: String) throws(APIError) -> JSONValue {
        guard let dot = expression.firstIndex(of: ".") else {
            throw invalid("The filter '\(field)' must be written op.value, e.g. \(field)=eq.value.")
        }
        let name = expression[..<dot]
        let operand = expression[expression.index(after: dot)...]
        let value: JSONValue
        let op: String
        switch name {
        case "eq", "neq", "gt", "gte", "lt", "lte":
            op = name == "neq" ? "$ne" : "$\(name)"
            value = literal(operand)
        case "in":
            op = "$in"
            value = .array(try list(operand, field: field))
        default:
            throw invalid(
                "The filter '\(field)' uses the unknown operator '\(QueryString.shortened(name))'; "
                    + "use eq, neq, gt, gte, lt, lte or in."
            )
        }
        var inner = JSONObject()
        inner[op] = value
        var outer = JSONObject()
        outer[field] = .object(inner)
        return .object(outer)
    }

    /// A JSON scalar when `text` is one, else the string itself.
    static func literal(_ text: Substring) -> JSONValue {
        switch text {
        case "null": return .null
        case "true": return .bool(true)
        case "false": return .bool(false)
        default: break
        }
        if let first = text.first, first == "-" || first.isNumber || first == "\"",
            let value = try? JSONValue.parse(String(text), maxDepth: 1)
        {
            switch value {
            case .number, .string: return value
            default: break
            }
        }
        return .string(String(text))
    }

    /// The items of `(a,b,"c,d")`.
    private static func list(_ text: Substring, field: String) throws(APIError) -> [JSONValue] {
        guard text.first == "(", text.last == ")", text.count >= 2 else {
            throw invalid("The filter '\(field)' must list its values in parentheses: \(field)=in.(a,b).")
        }
        let inside = text.dropFirst().dropLast()
        guard !inside.isEmpty else { return [] }
        var items: [JSONValue] = []
        var index = inside.startIndex
        while true {
            if inside[index...].first == "\"" {
                var text = ""
                var position = inside.index(after: index)
                var closed = false
                while position < inside.endIndex {
                    let character = inside[position]
                    if character == "\\", inside.index(after: position) < inside.endIndex {
                        position = inside.index(after: position)
                        text.append(inside[position])
                    } else if character == "\"" {
                        closed = true
                        break
                    } else {
                        text.append(character)
                    }
                    position = inside.index(after: position)
                }
                guard closed else { throw invalid("The filter '\(field)' has an unterminated quoted value.") }
                items.append(.string(text))
                index = inside.index(after: position)
                if index == inside.endIndex { break }
                guard inside[index] == "," else {
                    throw invalid("The filter '\(field)' needs a comma after each quoted value.")
                }
                index = inside.index(after: index)
            } else {
                let end = inside[index...].firstIndex(of: ",") ?? inside.endIndex
                items.append(literal(inside[index..<end]))
                if end == inside.endIndex { break }
                index = inside.index(after: end)
            }
            if index == inside.endIndex {
                items.append(.string(""))
                break
            }
        }
        return items
    }

    private static func invalid(_ message: String) -> APIError {
        APIError(status: 400, code: "invalid_filter", message: message)
    }
}
