import COpenSSL

enum SHA256 {
    /// The SHA-256 digest of the UTF-8 bytes of `text`, as lowercase hex.
    static func hexDigest(_ text: String) -> String {
        var digest = [UInt8](repeating: 0, count: Int(SHA256_DIGEST_LENGTH))
        let bytes = Array(text.utf8)
        bytes.withUnsafeBufferPointer { input in
            _ = COpenSSL.SHA256(input.baseAddress, input.count, &digest)
        }
        let hex: [Character] = Array("0123456789abcdef")
        return String(digest.flatMap { [hex[Int($0 >> 4)], hex[Int($0 & 0x0f)]] })
    }
}
