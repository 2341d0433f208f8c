/// A parsed filter in Parlant's `Where` grammar (SPEC section 5).
///
/// Semantics follow Parlant's `matches_filters`: numbers compare numerically, strings by Unicode code
/// point, values of different JSON types are never equal or ordered, and a missing field matches only
/// `$ne` and `$nin`.
public indirect enum Where: Sendable, Equatable {
    /// Every filter matches (`$and`, and the fields of one object). Empty matches everything.
    case all([Where])
    /// At least one filter matches (`$or`). Empty matches nothing.
    case any([Where])
    /// The field compared with one value (`$eq $ne $gt $gte $lt $lte`).
    case compare(FieldPath, ComparisonOperator, Scalar)
    /// The field equal (or, negated, not equal) to one of the values (`$in`, `$nin`).
    case member(FieldPath, negated: Bool, [Scalar])

    /// Matches every document.
    public static let everything = Where.all([])
}

/// A comparison operator of the `Where` grammar.
public enum ComparisonOperator: String, Sendable, CaseIterable {
    case equal = "$eq"
    case notEqual = "$ne"
    case greater = "$gt"
    case greaterOrEqual = "$gte"
    case less = "$lt"
    case lessOrEqual = "$lte"
}

/// A JSON scalar used as a filter operand; numbers keep their literal text.
public enum Scalar: Sendable, Equatable {
    case string(String)
    case number(String)
    case bool(Bool)
    case null

    /// The value as JSON text, e.g. `"abc"`, `1.5`, `true`, `null`.
    var jsonText: String { jsonValue.serialized }

    var jsonValue: JSONValue {
        switch self {
        case .string(let text): return .string(text)
        case .number(let literal): return .number(literal)
        case .bool(let flag): return .bool(flag)
        case .null: return .null
        }
    }
}

/// A field named by a dotted path into nested objects, such as `extra.tier`.
public struct FieldPath: Sendable, Hashable, CustomStringConvertible {
    /// The object keys from the top level down; never empty, no key empty.
    public let segments: [String]

    /// The longest accepted path, in bytes.
    public static let maximumLength = 1024

    /// Splits `dotted` at dots; empty segments and over-long paths are errors.
    public init(_ dotted: String) throws(DocumentStoreError) {
        guard !dotted.isEmpty else { throw .invalidFilter("a field name is empty") }
        guard !dotted.utf8.contains(0) else { throw .invalidFilter("a field name contains the NUL character") }
        guard dotted.utf8.count <= Self.maximumLength else {
            throw .invalidFilter("a field name is longer than \(Self.maximumLength) bytes")
        }
        let parts = dotted.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard !parts.contains(where: \.isEmpty) else {
            throw .invalidFilter("the field name '\(dotted)' has an empty part between dots")
        }
        segments = parts
    }

    public var description: String { segments.joined(separator: ".") }
}
