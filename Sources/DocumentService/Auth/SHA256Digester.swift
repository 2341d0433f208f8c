import COpenSSL

/// SHA-256 with OpenSSL's implementation fetched once: the one-shot `SHA256()` looks it up in
/// OpenSSL's provider store, under a lock every request thread would share, on every call.
final class SHA256Digester: Sendable {
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

    static let digestLength = Int(SHA256_DIGEST_LENGTH)

    func digest(of text: Substring) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: Self.digestLength)
        var text = text
        text.withUTF8 { input in
            _ = EVP_Digest(input.baseAddress, input.count, &digest, nil, algorithm, nil)
        }
        return digest
    }

    /// Whether two digests are equal, in time that does not depend on where they differ.
    static func equal(_ first: [UInt8], _ second: [UInt8]) -> Bool {
        first.withUnsafeBytes { a in
            second.withUnsafeBytes { b in
                a.count == b.count && CRYPTO_memcmp(a.baseAddress, b.baseAddress, a.count) == 0
            }
        }
    }
}
