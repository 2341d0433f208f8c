/// Whether a JSON number fits PostgreSQL's `numeric` (and so `jsonb`): at most 131,072 digits before
/// the decimal point and 16,383 after it, as written.
enum NumericRange {
    static let largestExponent = 131_071
    static let smallestExponent = -16_383

    /// `literal` is a valid JSON number.
    static func contains(_ literal: String) -> Bool {
        var text = Substring(literal)
        if text.first == "-" { text = text.dropFirst() }
        var exponent = 0
        if let marker = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            guard let value = Int(text[text.index(after: marker)...].drop { $0 == "+" }) else { return false }
            exponent = value
            text = text[..<marker]
        }
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let whole = parts[0].drop { $0 == "0" }
        let fraction = parts.count > 1 ? parts[1] : ""
        let (lowest, lowestOverflow) = exponent.subtractingReportingOverflow(fraction.count)
        guard !lowestOverflow, lowest >= smallestExponent else { return false }
        let leading: Int
        if !whole.isEmpty {
            leading = whole.count - 1
        } else if let firstDigit = fraction.firstIndex(where: { $0 != "0" }) {
            leading = -(fraction.distance(from: fraction.startIndex, to: firstDigit) + 1)
        } else {
            return true
        }
        let (highest, highestOverflow) = exponent.addingReportingOverflow(leading)
        return !highestOverflow && highest <= largestExponent
    }
}
