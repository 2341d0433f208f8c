/// The `name=value` pairs of a URL query, percent-decoded, in order.
struct QueryString {
    struct Item {
        let name: String
        let value: String
        /// The pair as received, still encoded, for building links.
        let raw: Substring
    }

    let items: [Item]

    /// Splits and decodes `query`; pairs without `=` or with malformed escapes are a 400.
    init(_ query: Substring?) throws(APIError) {
        guard let query, !query.isEmpty else {
            items = []
            return
        }
        var items: [Item] = []
        for pair in query.split(separator: "&", omittingEmptySubsequences: true) {
            guard let equals = pair.firstIndex(of: "=") else {
                throw .invalidRequest(
                    "The query parameter '\(Self.shortened(pair))' has no value; write name=value."
                )
            }
            guard let name = PercentEncoding.decode(pair[..<equals], plusIsSpace: true),
                let value = PercentEncoding.decode(pair[pair.index(after: equals)...], plusIsSpace: true)
            else {
                throw .invalidRequest(
                    "The query parameter '\(Self.shortened(pair[..<equals]))' is not valid percent-encoded UTF-8."
                )
            }
            guard !name.isEmpty else { throw .invalidRequest("A query parameter has an empty name.") }
            items.append(Item(name: name, value: value, raw: pair))
        }
        self.items = items
    }

    /// At most 64 characters of `text`, for error messages.
    static func shortened(_ text: Substring) -> String {
        text.count <= 64 ? String(text) : "\(text.prefix(61))..."
    }
}
