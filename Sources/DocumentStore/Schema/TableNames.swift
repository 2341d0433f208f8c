/// The PostgreSQL names of one collection's tables and indexes (SPEC section 3).
struct TableNames: Sendable, Hashable {
    let schema: SQLIdentifier
    /// The collection's table, e.g. `parlant_sessions` or `parlant_sessions_events`.
    let table: SQLIdentifier
    /// Where documents that failed to migrate are kept: `<table>_failed_migrations`.
    let failedTable: SQLIdentifier
    /// Where deletions are recorded for watchers, once the collection's changes are tracked:
    /// `<table>_deletions`.
    let deletionsTable: SQLIdentifier
    /// The unshortened table name, the stem of every index name.
    private let stem: String

    /// `prefix` is a validated table prefix such as `parlant_sessions_`.
    init(schema: SQLIdentifier, prefix: String, collection: CollectionName) {
        let base = prefix.hasSuffix("_") ? String(prefix.dropLast()) : prefix
        let name = collection.rawValue
        let lastSegment = base.split(separator: "_", omittingEmptySubsequences: false).last.map(String.init)
        let full = lastSegment == name ? base : prefix + name
        self.schema = schema
        self.stem = full
        self.table = Self.identifier(full)
        self.failedTable = Self.identifier(full + "_failed_migrations")
        self.deletionsTable = Self.identifier(full + "_deletions")
    }

    var qualifiedTable: QualifiedName { QualifiedName(schema: schema, name: table) }
    var qualifiedFailedTable: QualifiedName { QualifiedName(schema: schema, name: failedTable) }
    var qualifiedDeletionsTable: QualifiedName { QualifiedName(schema: schema, name: deletionsTable) }

    /// The name of an index on this table: `idx_<table>_<suffix>`, shortened when too long. The seed's
    /// own suffixes (`creation_utc`, `session_id`, ...) are kept as they are so hand-made tables match.
    func index(_ suffix: String) -> SQLIdentifier {
        Self.identifier("idx_\(stem)_\(suffix)")
    }

    /// The name of an index this service adds: `idx_<table>_<suffix>_<hash>`. The hash covers the table
    /// and `identity` (what makes the index distinct; the suffix by default), so another collection's
    /// table (`<table>_<word>`) or another index can never produce the same name.
    func ownIndex(_ suffix: String, identity: String? = nil) -> SQLIdentifier {
        index("\(suffix)_\(SHA256.hexDigest("\(stem) \(identity ?? suffix)").prefix(8))")
    }

    /// `name` as an identifier; longer than 63 bytes, it becomes a prefix of itself, `_` and the first
    /// 8 hex digits of its SHA-256, so distinct long names stay distinct and PostgreSQL never truncates.
    /// A 63-byte name that already ends like that is shortened too, so no name can pose as another's
    /// shortened form.
    static func identifier(_ name: String) -> SQLIdentifier {
        if let identifier = SQLIdentifier(name), !looksShortened(name) { return identifier }
        let hash = String(SHA256.hexDigest(name).prefix(8))
        // Bytes an identifier may not hold become `_`; the hash of the original keeps names distinct.
        let kept = name.utf8.prefix(SQLIdentifier.maximumLength - 9).map { byte -> UInt8 in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"):
                return byte
            case UInt8(ascii: "A")...UInt8(ascii: "Z"):
                return byte + 32
            default:
                return UInt8(ascii: "_")
            }
        }
        let prefix = kept.first.map { (48...57).contains($0) } == true ? [UInt8(ascii: "_")] + kept.dropLast() : kept
        return SQLIdentifier(String(decoding: prefix, as: UTF8.self) + "_" + hash)!
    }

    /// Exactly 63 bytes ending in `_` and 8 lowercase hex digits: the shape of a shortened name.
    private static func looksShortened(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard bytes.count == SQLIdentifier.maximumLength, bytes[bytes.count - 9] == UInt8(ascii: "_") else {
            return false
        }
        return bytes.suffix(8).allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }
}
