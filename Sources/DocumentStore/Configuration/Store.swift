/// One of the service's three stores (SPEC section 3): a table prefix and the collections Parlant keeps in it.
public enum Store: String, Sendable, CaseIterable {
    case sessions
    case customers
    case variables

    /// The collection that `/{store}` alone addresses.
    public var primaryCollection: CollectionName {
        // The raw values are valid collection names.
        try! CollectionName(rawValue)
    }

    /// Every collection Parlant uses in this store, the primary one first.
    public var knownCollections: [CollectionName] {
        let others: [String]
        switch self {
        case .sessions: others = ["events", "metadata"]
        case .customers: others = ["customer_tag_associations", "metadata"]
        case .variables: others = ["variable_tag_associations", "values", "metadata"]
        }
        return [primaryCollection] + others.map { try! CollectionName($0) }
    }

    /// The table prefix used when none is configured.
    public var defaultTablePrefix: String {
        switch self {
        case .sessions: return "parlant_sessions_"
        case .customers: return "parlant_customers_"
        case .variables: return "parlant_context_variables_"
        }
    }

    /// The environment variable that overrides the prefix.
    public var prefixVariable: String {
        switch self {
        case .sessions: return "SESSIONS_TABLE_PREFIX"
        case .customers: return "CUSTOMERS_TABLE_PREFIX"
        case .variables: return "VARIABLES_TABLE_PREFIX"
        }
    }
}
