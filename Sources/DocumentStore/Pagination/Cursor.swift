/// A keyset position: the `(creation_utc, id)` of the last document of a page (SPEC section 6).
///
/// Its token is the base64url (no padding) of the JSON array `[creation_utc, id]`, so a client holding
/// Parlant's `Cursor(creation_utc, id)` can build one without the service. The events of a watch carry a
/// third element, the change watermark from which the watcher's changes are still to be read
/// (`ChangePosition`); `find` takes such a token too and goes by its position.
public struct Cursor: Sendable, Hashable {
    public let creationUTC: String
    public let id: String
    /// The change watermark of a watch event's token; `nil` for a page's cursor.
    public let watermark: UInt64?

    public init(creationUTC: String, id: String, watermark: UInt64? = nil) {
        self.creationUTC = creationUTC
        self.id = id
        self.watermark = watermark
    }

    /// Decodes a token; anything but exactly `[string, string]` or `[string, string, watermark]` is an
    /// `invalid_cursor` error.
    public init(token: String) throws(DocumentStoreError) {
        let invalid = DocumentStoreError.invalidCursor(
            "the cursor is not a token this service issued: expected base64url of [creation_utc, id]"
        )
        guard token.utf8.count <= 4096, let bytes = Base64URL.decode(token) else { throw invalid }
        guard let value = try? JSONValue.parse(bytes, maxDepth: 2), let items = value.arrayValue,
            items.count == 2 || items.count == 3,
            let creationUTC = items[0].stringValue, let id = items[1].stringValue, !id.isEmpty
        else { throw invalid }
        var watermark: UInt64?
        if items.count == 3 {
            guard let literal = items[2].numberLiteral, let value = UInt64(literal) else { throw invalid }
            watermark = value
        }
        self.init(creationUTC: creationUTC, id: id, watermark: watermark)
    }

    /// The token clients pass back as `cursor` (or, from a watch event, as `Last-Event-ID`).
    public var token: String {
        var items: [JSONValue] = [.string(creationUTC), .string(id)]
        if let watermark { items.append(.number(String(watermark))) }
        return Base64URL.encode(Array(JSONValue.array(items).serialized.utf8))
    }

    /// The same position without a watermark.
    public var position: Cursor { Cursor(creationUTC: creationUTC, id: id) }
}

/// Base64 with the URL-safe alphabet and no padding (RFC 4648 section 5).
enum Base64URL {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        var output: [UInt8] = []
        output.reserveCapacity((bytes.count * 4 + 2) / 3)
        var index = 0
        while index < bytes.count {
            let chunk = bytes[index..<min(index + 3, bytes.count)]
            var group: UInt32 = 0
            for (offset, byte) in chunk.enumerated() {
                group |= UInt32(byte) << (16 - 8 * offset)
            }
            for position in 0...chunk.count {
                output.append(alphabet[Int((group >> (18 - 6 * position)) & 0x3f)])
            }
            index += 3
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// `nil` for padding, characters outside the alphabet, an impossible length or stray low bits.
    static func decode(_ text: String) -> [UInt8]? {
        let symbols = Array(text.utf8)
        guard symbols.count % 4 != 1 else { return nil }
        var output: [UInt8] = []
        output.reserveCapacity(symbols.count * 3 / 4)
        var index = 0
        while index < symbols.count {
            let chunk = symbols[index..<min(index + 4, symbols.count)]
            var group: UInt32 = 0
            for (offset, symbol) in chunk.enumerated() {
                guard let value = sextet(symbol) else { return nil }
                group |= value << (18 - 6 * offset)
            }
            let byteCount = chunk.count - 1
            for position in 0..<byteCount {
                output.append(UInt8((group >> (16 - 8 * position)) & 0xff))
            }
            // Bits below the last whole byte must be zero, so each byte string has one token.
            guard group & ((1 << (24 - 8 * byteCount)) - 1) == 0 else { return nil }
            index += 4
        }
        return output
    }

    private static func sextet(_ symbol: UInt8) -> UInt32? {
        switch symbol {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): return UInt32(symbol - UInt8(ascii: "A"))
        case UInt8(ascii: "a")...UInt8(ascii: "z"): return UInt32(symbol - UInt8(ascii: "a") + 26)
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt32(symbol - UInt8(ascii: "0") + 52)
        case UInt8(ascii: "-"): return 62
        case UInt8(ascii: "_"): return 63
        default: return nil
        }
    }
}
