/// A key clients may present, and what it lets them do.
public struct AccessKey: Sendable, Equatable {
    /// The secret itself: at least 16 printable ASCII characters, no space or comma.
    public let secret: String
    public let scope: KeyScope

    public init(secret: String, scope: KeyScope = .full) {
        self.secret = secret
        self.scope = scope
    }

    /// The shortest secret accepted.
    public static let minimumLength = 16
}

/// What a key may do: every store or some, read and write or only read.
public struct KeyScope: Sendable, Equatable, CustomStringConvertible {
    /// The stores the key may use; `nil` for every store.
    public var stores: Set<Store>?
    /// Whether the key may only read.
    public var readOnly: Bool

    public init(stores: Set<Store>? = nil, readOnly: Bool = false) {
        self.stores = stores
        self.readOnly = readOnly
    }

    /// Every store, read and write: what a key line without a scope grants.
    public static let full = KeyScope()

    public var isFull: Bool { stores == nil && !readOnly }

    /// `full`, or the scope as a key line writes it, e.g. `stores=sessions,customers access=read`.
    public var description: String {
        guard !isFull else { return "full" }
        var parts: [String] = []
        if let stores {
            parts.append("stores=" + Store.allCases.filter(stores.contains).map(\.rawValue).joined(separator: ","))
        }
        if readOnly { parts.append("access=read") }
        return parts.joined(separator: " ")
    }
}

/// Reads keys from `SERVICE_KEY` (a comma-separated list) and from a keys file (`SERVICE_KEY_FILE`): one
/// key a line, optionally followed by a scope, `#` comments and blank lines ignored:
///
///     3b7c...e1   stores=sessions,customers access=read
///
/// Problems name the line but never repeat a key.
public enum AccessKeyList {
    /// The keys of a comma-separated list, each with full access.
    public static func parse(list: String) throws(AccessKeyError) -> [AccessKey] {
        var keys: [AccessKey] = []
        for (index, item) in list.split(separator: ",", omittingEmptySubsequences: false).enumerated() {
            let secret = item.trimmingBlanks()
            let position = "key \(index + 1)"
            guard !secret.isEmpty else { throw AccessKeyError("\(position) is empty (two commas in a row?)") }
            try check(secret, at: position, allowing: [])
            try add(AccessKey(secret: String(secret)), at: position, to: &keys)
        }
        return keys
    }

    /// The keys of a keys file's text.
    public static func parse(file text: String) throws(AccessKeyError) -> [AccessKey] {
        var keys: [AccessKey] = []
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
        for (index, rawLine) in lines.enumerated() {
            let line = rawLine.trimmingBlanks()
            guard !line.isEmpty, line.first != "#" else { continue }
            let position = "line \(index + 1)"
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            let secret = words[0]
            try check(secret, at: position, allowing: [","])
            let scope = try self.scope(of: words.dropFirst(), at: position)
            try add(AccessKey(secret: String(secret), scope: scope), at: position, to: &keys)
        }
        guard !keys.isEmpty else { throw AccessKeyError("holds no key (one a line; # starts a comment)") }
        return keys
    }

    private static func check(_ secret: Substring, at position: String, allowing extra: Set<Character>) throws(
        AccessKeyError
    ) {
        let printable = secret.unicodeScalars.allSatisfy { (0x21...0x7e).contains($0.value) }
        guard printable, !secret.contains(",") || extra.contains(",") else {
            throw AccessKeyError("\(position): a key must be printable ASCII without spaces or commas")
        }
        guard secret.utf8.count >= AccessKey.minimumLength else {
            throw AccessKeyError(
                "\(position): too short to be a secret; use at least \(AccessKey.minimumLength) characters")
        }
    }

    private static func add(_ key: AccessKey, at position: String, to keys: inout [AccessKey]) throws(AccessKeyError) {
        guard !keys.contains(where: { $0.secret == key.secret }) else {
            throw AccessKeyError("\(position): the same key appears twice")
        }
        keys.append(key)
    }

    private static func scope(of words: ArraySlice<Substring>, at position: String) throws(AccessKeyError) -> KeyScope {
        var scope = KeyScope.full
        var seen: Set<Substring> = []
        for word in words {
            let parts = word.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, ["stores", "access"].contains(parts[0]) else {
                throw AccessKeyError(
                    "\(position): after the key only stores=<store>,... and access=read|full may follow")
            }
            guard seen.insert(parts[0]).inserted else { throw AccessKeyError("\(position): \(parts[0])= given twice") }
            if parts[0] == "access" {
                guard parts[1] == "read" || parts[1] == "full" else {
                    throw AccessKeyError("\(position): access must be read or full")
                }
                scope.readOnly = parts[1] == "read"
                continue
            }
            var stores: Set<Store> = []
            for name in parts[1].split(separator: ",", omittingEmptySubsequences: false) {
                guard let store = Store(rawValue: String(name)) else {
                    throw AccessKeyError(
                        "\(position): stores= takes a comma-separated list of sessions, customers, variables")
                }
                stores.insert(store)
            }
            scope.stores = stores
        }
        return scope
    }
}

/// Why a list of keys was refused.
public struct AccessKeyError: Error, Sendable, CustomStringConvertible {
    public let description: String

    init(_ description: String) {
        self.description = description
    }
}

extension Substring {
    /// Without leading and trailing spaces, tabs and carriage returns.
    fileprivate func trimmingBlanks() -> Substring {
        let isBlank = { (character: Character) in character == " " || character == "\t" || character == "\r" }
        guard let first = firstIndex(where: { !isBlank($0) }), let last = lastIndex(where: { !isBlank($0) }) else {
            return self[endIndex...]
        }
        return self[first...last]
    }
}
