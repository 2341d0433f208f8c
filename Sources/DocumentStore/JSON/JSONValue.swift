/// A JSON value that keeps numbers as their literal text, so no precision is lost.
public enum JSONValue: Sendable, Equatable, Hashable {
    /// The JSON `null` literal.
    case null
    /// A JSON `true` or `false`.
    case bool(Bool)
    /// A JSON number, held as the literal exactly as it appeared in the input.
    case number(String)
    /// A JSON string.
    case string(String)
    /// A JSON array.
    case array([JSONValue])
    /// A JSON object.
    case object(JSONObject)
}

extension JSONValue {
    /// The string, if this value is a JSON string.
    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// The object, if this value is a JSON object.
    public var objectValue: JSONObject? {
        if case .object(let value) = self { return value }
        return nil
    }

    /// The elements, if this value is a JSON array.
    public var arrayValue: [JSONValue]? {
        if case .array(let value) = self { return value }
        return nil
    }

    /// The boolean, if this value is `true` or `false`.
    public var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    /// The number's literal text, if this value is a JSON number.
    public var numberLiteral: String? {
        if case .number(let literal) = self { return literal }
        return nil
    }

    /// Whether this value is the JSON `null` literal.
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// The JSON type of this value: "null", "boolean", "number", "string", "array" or "object".
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .number: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }
}

/// A JSON object with keys in insertion order; setting an existing key replaces its value in place.
///
/// Two objects are equal when they have the same keys with equal values, whatever the order of the keys.
public struct JSONObject: Sendable, Equatable, Hashable, Sequence {
    /// Objects with at most this many keys find keys by scanning, which beats hashing for small objects.
    private static let maxKeysWithoutIndex = 8

    private var entries: [(key: String, value: JSONValue)] = []
    private var indexByKey: [String: Int]?

    /// Creates an empty object.
    public init() {}

    /// Creates an object from key-value pairs in order; a later duplicate key replaces the earlier value.
    public init(_ pairs: [(String, JSONValue)]) {
        reserveCapacity(pairs.count)
        for (key, value) in pairs {
            self[key] = value
        }
    }

    /// Creates an object from parallel keys and values in order; a later duplicate key replaces the earlier value.
    init(keys: ArraySlice<String>, values: ArraySlice<JSONValue>) {
        reserveCapacity(keys.count)
        for (key, value) in zip(keys, values) {
            self[key] = value
        }
    }

    private mutating func reserveCapacity(_ capacity: Int) {
        entries.reserveCapacity(capacity)
        if capacity > Self.maxKeysWithoutIndex {
            indexByKey = Dictionary(minimumCapacity: capacity)
        }
    }

    private func index(of key: String) -> Int? {
        if let indexByKey {
            return indexByKey[key]
        }
        return entries.firstIndex { $0.key == key }
    }

    /// The value for `key`; assigning `nil` removes the key, assigning to a new key appends it.
    public subscript(key: String) -> JSONValue? {
        get {
            index(of: key).map { entries[$0].value }
        }
        set {
            if let newValue {
                if let index = index(of: key) {
                    entries[index].value = newValue
                } else {
                    indexByKey?[key] = entries.count
                    entries.append((key, newValue))
                    if indexByKey == nil && entries.count > Self.maxKeysWithoutIndex {
                        indexByKey = Dictionary(uniqueKeysWithValues: entries.indices.map { (entries[$0].key, $0) })
                    }
                }
            } else if let index = index(of: key) {
                entries.remove(at: index)
                if indexByKey != nil {
                    indexByKey?[key] = nil
                    for position in index..<entries.count {
                        indexByKey?[entries[position].key] = position
                    }
                }
            }
        }
    }

    /// The keys in insertion order.
    public var keys: [String] { entries.map(\.key) }

    /// The number of keys.
    public var count: Int { entries.count }

    /// Whether the object has no keys.
    public var isEmpty: Bool { entries.isEmpty }

    /// The key-value pairs in insertion order.
    public func makeIterator() -> IndexingIterator<[(key: String, value: JSONValue)]> {
        entries.makeIterator()
    }

    /// The number of key-value pairs.
    public var underestimatedCount: Int { entries.count }

    /// Whether both objects have the same keys with equal values, in any order.
    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        guard lhs.count == rhs.count else { return false }
        for (key, value) in lhs where rhs[key] != value {
            return false
        }
        return true
    }

    /// Hashes the key-value pairs independently of their order, consistent with `==`.
    public func hash(into hasher: inout Hasher) {
        var combined = 0
        for (key, value) in self {
            var pairHasher = Hasher()
            pairHasher.combine(key)
            pairHasher.combine(value)
            combined &+= pairHasher.finalize()
        }
        hasher.combine(count)
        hasher.combine(combined)
    }
}
