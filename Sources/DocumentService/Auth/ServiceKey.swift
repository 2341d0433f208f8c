import COpenSSL

/// The key clients must present, as `Authorization: Bearer <key>` or as the `apikey` header.
///
/// Keys are compared as SHA-256 digests with OpenSSL's constant-time `CRYPTO_memcmp`, so neither the
/// contents nor the length of the key shows in how long a refusal takes.
struct ServiceKey: Sendable {
    private let digest: [UInt8]

    init(_ key: String) {
        digest = Self.digest(of: key)
    }

    /// Whether any credential in `headers` is the key.
    func isPresented(in headers: HTTPHeaders) -> Bool {
        var accepted = false
        if let authorization = headers["authorization"], let token = Self.bearerToken(authorization) {
            accepted = matches(token) || accepted
        }
        if let apikey = headers["apikey"] {
            accepted = matches(apikey) || accepted
        }
        return accepted
    }

    private func matches(_ candidate: String) -> Bool {
        let candidateDigest = Self.digest(of: candidate)
        return candidateDigest.withUnsafeBytes { presented in
            digest.withUnsafeBytes { expected in
                CRYPTO_memcmp(presented.baseAddress, expected.baseAddress, expected.count) == 0
            }
        }
    }

    /// The token of `Bearer <token>` (the scheme is case-insensitive), or `nil`.
    private static func bearerToken(_ authorization: String) -> String? {
        let parts = authorization.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        return parts[1].trimming(" \t")
    }

    private static func digest(of text: String) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: Int(SHA256_DIGEST_LENGTH))
        let bytes = Array(text.utf8)
        bytes.withUnsafeBufferPointer { input in
            _ = SHA256(input.baseAddress, input.count, &digest)
        }
        return digest
    }
}
