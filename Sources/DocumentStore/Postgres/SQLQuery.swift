/// A SQL statement whose values travel apart from its text, as bind parameters.
///
/// Built by string interpolation: `\(bind: value)` appends a parameter and writes `$n` into the text,
/// `\(identifier)` writes a validated, quoted identifier, `\(fragment)` splices another query with its
/// parameters, and raw SQL must be asked for by name with `\(unsafeSQL:)` so it stands out in review.
struct SQLQuery: Sendable, ExpressibleByStringInterpolation {
    enum Piece: Sendable {
        case sql(String)
        case bind(String?)
    }

    private(set) var pieces: [Piece] = []
    /// Whether the statement should be planned for its values each time rather than prepared once: set
    /// for long value lists, which PostgreSQL hashes only when they are constants of the plan.
    private(set) var needsCustomPlan = false

    init() {}

    init(stringLiteral value: String) {
        pieces = [.sql(value)]
    }

    init(stringInterpolation: Interpolation) {
        pieces = stringInterpolation.pieces
        needsCustomPlan = stringInterpolation.needsCustomPlan
    }

    /// The longest statement text prepared once per connection. Longer ones (a filter of hundreds of
    /// conditions over different fields) are one-offs whose kept plan would hold megabytes of the
    /// connection's memory, for as long as it lives: they go unnamed.
    static let longestPreparedText = 4096

    /// Whether the statement, whose text is `text`, may be prepared once per connection.
    func isPreparable(text: String) -> Bool {
        !needsCustomPlan && text.utf8.count <= Self.longestPreparedText
    }

    /// The same statement, marked to be planned for its values each time (see `needsCustomPlan`).
    func plannedForItsValues() -> SQLQuery {
        var query = self
        query.needsCustomPlan = true
        return query
    }

    /// The statement text with `$1`, `$2`, ... in place of the parameters.
    var text: String {
        var text = ""
        text.reserveCapacity(256)
        var number = 0
        for piece in pieces {
            switch piece {
            case .sql(let sql):
                text += sql
            case .bind:
                number += 1
                text += "$\(number)"
            }
        }
        return text
    }

    /// The parameter values in order; `nil` is SQL NULL.
    var binds: [String?] {
        pieces.compactMap { piece in
            if case .bind(let value) = piece { return .some(value) }
            return nil
        }
    }

    mutating func append(_ other: SQLQuery) {
        pieces += other.pieces
        needsCustomPlan = needsCustomPlan || other.needsCustomPlan
    }

    /// Joins fragments with a separator written as raw SQL.
    static func joined(_ parts: [SQLQuery], separator: String) -> SQLQuery {
        var result = SQLQuery()
        for (index, part) in parts.enumerated() {
            if index > 0 { result.pieces.append(.sql(separator)) }
            result.append(part)
        }
        return result
    }

    struct Interpolation: StringInterpolationProtocol {
        fileprivate(set) var pieces: [Piece] = []
        fileprivate(set) var needsCustomPlan = false

        init(literalCapacity: Int, interpolationCount: Int) {
            pieces.reserveCapacity(2 * interpolationCount + 1)
        }

        mutating func appendLiteral(_ literal: String) {
            pieces.append(.sql(literal))
        }

        mutating func appendInterpolation(bind value: String?) {
            pieces.append(.bind(value))
        }

        mutating func appendInterpolation(_ identifier: SQLIdentifier) {
            pieces.append(.sql(identifier.quoted))
        }

        mutating func appendInterpolation(_ fragment: SQLQuery) {
            pieces += fragment.pieces
            needsCustomPlan = needsCustomPlan || fragment.needsCustomPlan
        }

        mutating func appendInterpolation(unsafeSQL sql: String) {
            pieces.append(.sql(sql))
        }
    }
}
