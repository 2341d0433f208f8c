/// The name of a collection: `^[a-z][a-z0-9_]{0,62}$`, and not one that would name another
/// collection's failed-migrations table.
public struct CollectionName: Sendable, Hashable, CustomStringConvertible {
    public let rawValue: String

    /// Checks `name`; the error says what is wrong with it.
    public init(_ name: String) throws(DocumentStoreError) {
        let bytes = Array(name.utf8)
        guard let first = bytes.first, (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(first), bytes.count <= 63,
            bytes.allSatisfy({ Self.isAllowed($0) })
        else {
            throw .invalidCollection(
                "collection names are 1 to 63 characters of a-z, 0-9 and _, starting with a letter"
            )
        }
        guard name != "failed_migrations", !name.hasSuffix("_failed_migrations") else {
            throw .invalidCollection("collection names may not end in 'failed_migrations' (reserved)")
        }
        rawValue = name
    }

    public var description: String { rawValue }

    private static func isAllowed(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
            || byte == UInt8(ascii: "_")
    }
}
