import COpenSSL

/// The key clients must present, as `Authorization: Bearer <key>` or as the `apikey` header.
///
/// Keys are compared as SHA-256 digests with OpenSSL's constant-time `CRYPTO_memcmp`, so neither the
/// contents nor the length of the key shows in how long a refusal takes.
struct ServiceKey: Sendable {
    private let digest: [UInt8]
    private let sha256 = SHA256Digester()

    init(_ key: String) {
        digest = sha256.digest(of: key[...])
    }

    /// Whether any credential in `headers` is the key.
    func isPresented(in headers: HTTPHeaders) -> Bool {
        var accepted = false
        if let authorization = headers["authorization"], let token = Self.bearerToken(authorization) {
            accepted = matches(token) || accepted
        }
        if let apikey = headers["apikey"] {
            accepted = matches(apikey[...]) || accepted
        }
        return accepted
    }

    private func matches(_ candidate: Substring) -> Bool {
        let candidateDigest = sha256.digest(of: candidate)
        return candidateDigest.withUnsafeBytes { presented in
            digest.withUnsafeBytes { expected in
                CRYPTO_memcmp(presented.baseAddress, expected.baseAddress, expected.count) == 0
            }
        }
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

/// SHA-256 with OpenSSL's implementation fetched once: the one-shot `SHA256()` looks it up in
/// OpenSSL's provider store, under a lock every request thread would share, on every call.
private final class SHA256Digester: Sendable {
    // Sendable: a fetched EVP_MD is immutable and may be used from any thread.
    private nonisolated(unsafe) let algorithm: OpaquePointer

    init() {
        guard let fetched = EVP_MD_fetch(nil, "SHA256", nil) else {
            fatalError("OpenSSL has no SHA-256 implementation")
        }
        algorithm = fetched
    }

    deinit {
        EVP_MD_free(algorithm)
    }

    func digest(of text: Substring) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: Int(SHA256_DIGEST_LENGTH))
        var text = text
        text.withUTF8 { input in
            _ = EVP_Digest(input.baseAddress, input.count, &digest, nil, algorithm, nil)
        }
        return digest
    }
}
