/// A scrape in Prometheus' text exposition format (version 0.0.4), written family by family: a family's
/// `HELP` and `TYPE` lines, then its samples.
public struct PrometheusText {
    /// What a family measures.
    public enum MetricType: String {
        case counter
        case gauge
        case histogram
    }

    /// The exposition, as UTF-8.
    public private(set) var bytes: [UInt8] = []

    /// The `Content-Type` of the exposition.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    public init() {}

    /// Starts the family `name`; its samples follow.
    public mutating func family(_ name: String, _ type: MetricType, help: String) {
        append("# HELP \(name) \(Self.escapedHelp(help))\n# TYPE \(name) \(type.rawValue)\n")
    }

    /// One sample of the current family.
    public mutating func sample(_ name: String, _ value: Int, labels: [(String, String)] = []) {
        line(name, labels, String(value))
    }

    /// One sample of the current family.
    public mutating func sample(_ name: String, _ value: Double, labels: [(String, String)] = []) {
        line(name, labels, Self.format(value))
    }

    /// The samples of one histogram of the current family `name`: cumulative buckets, sum and count.
    public mutating func histogram(_ name: String, _ histogram: DurationHistogram, labels: [(String, String)]) {
        var cumulative = 0
        for (bucket, count) in histogram.counts.enumerated() {
            cumulative += count
            let bound = bucket < DurationHistogram.bounds.count ? Self.format(DurationHistogram.bounds[bucket]) : "+Inf"
            line(name + "_bucket", labels + [("le", bound)], String(cumulative))
        }
        line(name + "_sum", labels, Self.format(histogram.sumSeconds))
        line(name + "_count", labels, String(cumulative))
    }

    private mutating func line(_ name: String, _ labels: [(String, String)], _ value: String) {
        append(name)
        if !labels.isEmpty {
            append("{")
            for (index, (label, labelValue)) in labels.enumerated() {
                if index > 0 { append(",") }
                append("\(label)=\"\(Self.escapedLabelValue(labelValue))\"")
            }
            append("}")
        }
        append(" \(value)\n")
    }

    private mutating func append(_ text: String) {
        bytes.append(contentsOf: text.utf8)
    }

    /// A value as Prometheus reads it: integers without a fraction, others in Swift's shortest form.
    static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }

    private static func escapedHelp(_ text: String) -> String {
        text.replacing("\\", with: "\\\\").replacing("\n", with: "\\n")
    }

    private static func escapedLabelValue(_ text: String) -> String {
        text.replacing("\\", with: "\\\\").replacing("\"", with: "\\\"").replacing("\n", with: "\\n")
    }
}
