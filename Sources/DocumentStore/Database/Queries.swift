/// What `find` returns: one page, or every match when no limit is given.
public struct FindPage: Sendable {
    public let items: [StoredDocument]
    /// The number of items in the page, or of all matches when `countsAll` was asked for.
    public let totalCount: Int
    public let hasMore: Bool
    /// Where the next page starts; `nil` on the last page.
    public let nextCursor: Cursor?
}

/// The parameters of `find`.
public struct FindQuery: Sendable {
    /// The largest page size accepted.
    public static let maximumLimit = 1000

    public var filter: Where
    /// Page size, 1 to `maximumLimit`; `nil` returns every match.
    public var limit: Int?
    /// Start strictly after this position.
    public var cursor: Cursor?
    public var descending: Bool
    /// Count every match for `totalCount` instead of the page's items.
    public var countsAll: Bool

    public init(
        filter: Where = .everything,
        limit: Int? = nil,
        cursor: Cursor? = nil,
        descending: Bool = false,
        countsAll: Bool = false
    ) {
        self.filter = filter
        self.limit = limit
        self.cursor = cursor
        self.descending = descending
        self.countsAll = countsAll
    }
}

/// One key of a `findOne` sort or of an index: a field and its direction.
public struct SortKey: Sendable, Equatable {
    /// The most keys one sort or index may hold (SPEC section 5): PostgreSQL's cost grows with each, and
    /// past a few hundred it refuses the statement.
    public static let maximumCount = 32

    public let field: FieldPath
    public let descending: Bool

    public init(field: FieldPath, descending: Bool = false) {
        self.field = field
        self.descending = descending
    }
}

/// An index over document fields, as Parlant's `CollectionIndex` describes it.
public struct IndexSpec: Sendable, Equatable {
    public let fields: [SortKey]
    public let unique: Bool

    public init(fields: [SortKey], unique: Bool = false) {
        self.fields = fields
        self.unique = unique
    }
}

/// What `updateOne` did.
public struct UpdateOutcome: Sendable {
    public let matchedCount: Int
    public let modifiedCount: Int
    /// The document after the update, or the one inserted by an upsert; `nil` when nothing matched.
    public let document: StoredDocument?
}
