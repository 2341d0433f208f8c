/// The id of one request, sent back as `X-Request-Id`, written in its access-log line and in its error
/// body: a client's own id when it is a sane token, else one this service makes.
enum RequestID {
    /// The longest client id taken as it is.
    static let maximumLength = 128

    /// `value` when it is 1 to 128 characters of letters, digits and `-_.:`, else nil: anything else
    /// (control characters, quotes, spaces, very long values) could forge or break a log line.
    static func sane(_ value: String?) -> String? {
        guard let value else { return nil }
        let bytes = value.utf8
        guard (1...maximumLength).contains(bytes.count) else { return nil }
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."),
                UInt8(ascii: ":"):
                continue
            default:
                return nil
            }
        }
        return value
    }
}

/// Makes request ids for one event loop: a random prefix, drawn once, then a counter, so that ids are
/// unique across loops, restarts and replicas without a system call per request. Used on its loop only.
struct RequestIDGenerator {
    private let prefix: String
    private var counter: UInt64 = 0

    init() {
        var generator = SystemRandomNumberGenerator()
        let random = String(generator.next() as UInt64, radix: 16)
        prefix = String(repeating: "0", count: 16 - random.count) + random + "-"
    }

    mutating func next() -> String {
        counter &+= 1
        return prefix + String(counter, radix: 16)
    }
}
