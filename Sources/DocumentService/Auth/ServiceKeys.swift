import DocumentStore

/// The keys clients may present, as `Authorization: Bearer <key>` or as the `apikey` header, each with
/// its scope.
///
/// Keys are compared as SHA-256 digests with OpenSSL's constant-time `CRYPTO_memcmp`, and a presented
/// key is compared with every key, with no early exit: neither the contents, the length nor which key
/// matched shows in how long an answer takes.
struct ServiceKeys: Sendable {
    private struct Entry: Sendable {
        let digest: [UInt8]
        let credential: Credential
    }

    private let entries: [Entry]
    private let digester: SHA256Digester

    init(_ keys: [AccessKey], digester: SHA256Digester) {
        self.digester = digester
        entries = keys.map { key in
            let digest = digester.digest(of: key.secret[...])
            return Entry(digest: digest, credential: Credential(scope: key.scope, fingerprint: Self.fingerprint(digest)))
        }
    }

    /// The key the request presents, or `nil` when it presents none of these. A request may present it
    /// as `Authorization: Bearer`, as `apikey`, or both; with both, both must be the same valid key, so
    /// a wrong credential is never hidden behind a right one. Blanks around a key are ignored in either.
    func credential(in headers: HTTPHeaders) -> Credential? {
        let viaAPIKey = headers["apikey"].map { match($0.trimming(" \t")[...]) }
        let viaBearer = headers["authorization"].map { authorization in
            Self.bearerToken(authorization).flatMap { match($0) }
        }
        switch (viaAPIKey, viaBearer) {
        case (nil, nil):
            return nil
        case (let presented?, nil), (nil, let presented?):
            return presented
        case (let apikey?, let bearer?):
            guard let apikey, let bearer, apikey.fingerprint == bearer.fingerprint else { return nil }
            return apikey
        }
    }

    /// The keys' fingerprints and scopes, for the log: `3f2a9c1b (full), 7d0e4b2a (access=read)`.
    var summary: String {
        entries.map { "\($0.credential.fingerprint) (\($0.credential.scope))" }.joined(separator: ", ")
    }

    var count: Int { entries.count }

    private func match(_ candidate: Substring) -> Credential? {
        let digest = digester.digest(of: candidate)
        var matched = -1
        for (index, entry) in entries.enumerated() {
            // Select without a branch on the outcome: every key is compared, whichever matches.
            let mask = 0 &- (SHA256Digester.equal(digest, entry.digest) ? 1 : 0)
            matched = (index & mask) | (matched & ~mask)
        }
        return matched >= 0 ? entries[matched].credential : nil
    }

    /// The first 8 hex digits of a key's SHA-256: how logs name a key without revealing it.
    private static func fingerprint(_ digest: [UInt8]) -> String {
        let hex = Array("0123456789abcdef".utf8)
        return String(decoding: digest.prefix(4).flatMap { [hex[Int($0 >> 4)], hex[Int($0 & 0x0f)]] }, as: UTF8.self)
    }

    /// The token of `Bearer <token>` (the scheme is case-insensitive), or `nil`.
    private static func bearerToken(_ authorization: String) -> Substring? {
        let bytes = authorization.utf8
        let isBlank = { (byte: UInt8) in byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        guard let schemeStart = bytes.firstIndex(where: { !isBlank($0) }),
            let schemeEnd = bytes[schemeStart...].firstIndex(where: isBlank)
        else { return nil }
        let scheme = bytes[schemeStart..<schemeEnd]
        guard scheme.count == 6, zip(scheme, "bearer".utf8).allSatisfy({ $0 | 0x20 == $1 }) else { return nil }
        guard let tokenStart = bytes[schemeEnd...].firstIndex(where: { !isBlank($0) }),
            let tokenLast = bytes.lastIndex(where: { !isBlank($0) })
        else { return nil }
        return authorization[tokenStart...tokenLast]
    }
}

/// The key a request presented: what it may do, and how the log names it.
struct Credential: Sendable {
    let scope: KeyScope
    /// The first 8 hex digits of the key's SHA-256.
    let fingerprint: String
}
