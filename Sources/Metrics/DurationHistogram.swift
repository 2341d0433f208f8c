/// Durations counted in fixed buckets, for a Prometheus histogram. A plain value: each owner records into
/// its own (one per event loop), and the owners' histograms are added together when metrics are scraped.
public struct DurationHistogram: Sendable {
    /// The buckets' upper bounds, in seconds, from half a millisecond to ten seconds; a last bucket
    /// (`+Inf`) takes the rest.
    public static let bounds: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
    private static let boundsInNanoseconds: [Int64] = bounds.map { Int64(($0 * 1e9).rounded()) }

    /// How many durations fell in each bucket (not cumulative); one more than `bounds`.
    public private(set) var counts: [Int]
    /// The sum of every duration recorded, in nanoseconds.
    public private(set) var sumNanoseconds: Int64 = 0

    public init() {
        counts = Array(repeating: 0, count: Self.bounds.count + 1)
    }

    /// How many durations were recorded.
    public var count: Int { counts.reduce(0, +) }

    /// The sum of every duration recorded, in seconds.
    public var sumSeconds: Double { Double(sumNanoseconds) / 1e9 }

    public mutating func record(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        let nanoseconds = max(0, seconds &* 1_000_000_000 &+ attoseconds / 1_000_000_000)
        sumNanoseconds &+= nanoseconds
        var bucket = 0
        while bucket < Self.boundsInNanoseconds.count && nanoseconds > Self.boundsInNanoseconds[bucket] {
            bucket += 1
        }
        counts[bucket] += 1
    }

    /// Adds `other`'s durations to these.
    public mutating func add(_ other: DurationHistogram) {
        for bucket in counts.indices { counts[bucket] += other.counts[bucket] }
        sumNanoseconds &+= other.sumNanoseconds
    }
}
