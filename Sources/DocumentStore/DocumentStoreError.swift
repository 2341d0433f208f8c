/// Why a document store operation failed: a stable snake_case `code` and one sentence a person can act on.
///
/// The message never contains a password, a service key, or PostgreSQL's own error text.
public struct DocumentStoreError: Error, Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
    /// What kind of failure this is; new kinds may be added.
    public struct Kind: Sendable, Hashable, CustomStringConvertible {
        fileprivate enum Value: String {
            case invalidFilter = "invalid_filter"
            case invalidCursor = "invalid_cursor"
            case invalidDocument = "invalid_document"
            case invalidCollection = "invalid_collection"
            case invalidRequest = "invalid_request"
            case duplicateID = "duplicate_id"
            case uniqueViolation = "unique_violation"
            case databaseError = "database_error"
            case unavailable = "database_unavailable"
            case tooManyStreams = "too_many_streams"
            case internalError = "internal_error"
        }

        fileprivate let value: Value

        /// The filter (`Where`) is malformed or too large.
        public static let invalidFilter = Kind(value: .invalidFilter)
        /// The pagination cursor does not decode to `[creation_utc, id]`.
        public static let invalidCursor = Kind(value: .invalidCursor)
        /// A document is not acceptable (not an object, bad `id`, value out of range, ...).
        public static let invalidDocument = Kind(value: .invalidDocument)
        /// The collection name is not allowed.
        public static let invalidCollection = Kind(value: .invalidCollection)
        /// Some other argument (limit, sort, index fields, ids) is not acceptable.
        public static let invalidRequest = Kind(value: .invalidRequest)
        /// A document with that id already exists.
        public static let duplicateID = Kind(value: .duplicateID)
        /// A write would break a unique index made with `ensureIndexes`.
        public static let uniqueViolation = Kind(value: .uniqueViolation)
        /// PostgreSQL refused an operation for a reason the operator must fix (privileges, schema).
        public static let databaseError = Kind(value: .databaseError)
        /// PostgreSQL cannot be reached right now; retrying later may succeed.
        public static let unavailable = Kind(value: .unavailable)
        /// As many streamed finds as the service allows are running; retrying later may succeed.
        public static let tooManyStreams = Kind(value: .tooManyStreams)
        /// Something unexpected failed; details are in the service's log only.
        public static let internalError = Kind(value: .internalError)

        /// The snake_case code clients see.
        public var code: String { value.rawValue }
        public var description: String { code }
    }

    public let kind: Kind
    public let message: String
    /// What went wrong underneath, for the service's log only (never sent to clients).
    let detail: String?
    /// The database failure this error stands for, if it stands for one (for the metrics).
    var cause: DatabaseError.Kind?

    public init(_ kind: Kind, _ message: String) {
        self.init(kind, message, detail: nil)
    }

    init(_ kind: Kind, _ message: String, detail: String?) {
        self.kind = kind
        self.message = message
        self.detail = detail
    }

    public var code: String { kind.code }
    /// Whether PostgreSQL could not be reached because the connection settings are wrong (TLS
    /// verification, authentication), which retrying will not mend.
    public var isLinkMisconfiguration: Bool {
        cause == .connectFailed && detail.map(DatabaseLink.isMisconfiguration) == true
    }
    public var description: String { "\(kind.code): \(message)" }
    /// The description plus the underlying cause; for logs only.
    public var debugDescription: String { detail.map { "\(description) [\($0)]" } ?? description }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.kind == rhs.kind && lhs.message == rhs.message
    }

    static func invalidFilter(_ message: String) -> Self { Self(.invalidFilter, message) }
    static func invalidCursor(_ message: String) -> Self { Self(.invalidCursor, message) }
    static func invalidDocument(_ message: String) -> Self { Self(.invalidDocument, message) }
    static func invalidCollection(_ message: String) -> Self { Self(.invalidCollection, message) }
    static func invalidRequest(_ message: String) -> Self { Self(.invalidRequest, message) }
    static func duplicateID(detail: String? = nil) -> Self {
        Self(
            .duplicateID,
            "A document with this id already exists; use PUT to replace it or PATCH to change it.",
            detail: detail
        )
    }
}
