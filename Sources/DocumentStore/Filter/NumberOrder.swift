/// The order of two JSON number literals by their exact decimal value, as PostgreSQL's `numeric` orders
/// them: `1`, `1.0` and `1e0` are equal, `-0` equals `0`, and no digit is lost to floating point.
enum NumberOrder {
    /// Negative when `left` is smaller, zero when equal, positive when larger.
    static func compare(_ left: String, _ right: String) -> Int {
        let (a, b) = (Digits(left), Digits(right))
        if a.isZero || b.isZero {
            return a.isZero && b.isZero ? 0 : (a.isZero ? (b.negative ? 1 : -1) : (a.negative ? -1 : 1))
        }
        if a.negative != b.negative { return a.negative ? -1 : 1 }
        let magnitude = compareMagnitudes(a, b)
        return a.negative ? -magnitude : magnitude
    }

    private static func compareMagnitudes(_ a: Digits, _ b: Digits) -> Int {
        if a.pointPosition != b.pointPosition { return a.pointPosition < b.pointPosition ? -1 : 1 }
        if a.digits.elementsEqual(b.digits) { return 0 }
        return a.digits.lexicographicallyPrecedes(b.digits) ? -1 : 1
    }

    /// A literal as `0.d1d2d3... × 10^pointPosition`, with neither leading nor trailing zero digits.
    private struct Digits {
        var negative = false
        var digits: ArraySlice<UInt8> = []
        var pointPosition = 0

        var isZero: Bool { digits.isEmpty }

        init(_ literal: String) {
            var bytes = Array(literal.utf8)[...]
            if bytes.first == UInt8(ascii: "-") {
                negative = true
                bytes = bytes.dropFirst()
            }
            var exponent = 0
            if let marker = bytes.firstIndex(where: { $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }) {
                let text = String(decoding: bytes[(marker + 1)...].drop { $0 == UInt8(ascii: "+") }, as: UTF8.self)
                // An exponent too large for Int is far beyond what numeric holds; saturate it.
                exponent = Int(text) ?? (text.hasPrefix("-") ? Int.min / 4 : Int.max / 4)
                bytes = bytes[..<marker]
            }
            let point = bytes.firstIndex(of: UInt8(ascii: "."))
            let whole = point.map { bytes[..<$0] } ?? bytes
            let fraction = point.map { bytes[($0 + 1)...] } ?? []
            var all = Array(whole + fraction)[...]
            var position = whole.count
            while all.first == UInt8(ascii: "0") {
                all = all.dropFirst()
                position -= 1
            }
            while all.last == UInt8(ascii: "0") { all = all.dropLast() }
            digits = all
            pointPosition = all.isEmpty ? 0 : position.addingReportingOverflow(exponent).partialValue
        }
    }
}
