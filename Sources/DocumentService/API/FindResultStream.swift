import DocumentStore

/// The body of an unlimited find, `{"items":[...],"total_count":n,"has_more":false,"next_cursor":null}`,
/// written in blocks as rows arrive from PostgreSQL so memory stays flat however many documents match.
/// A block is read only when the server asks for it, that is when the client has taken the one before,
/// so PostgreSQL is read no faster than the client reads.
final class FindResultStream: ResponseStream, @unchecked Sendable {
    // @unchecked: the server calls `next` and `close` on the event loop of the request, where `documents`
    // lives; every member is used there only.
    private enum Phase {
        case opening
        case items
        case finished
    }

    private let documents: StreamedDocuments
    private var phase = Phase.opening
    private var count = 0

    /// Bytes gathered before a block is handed to the server.
    private static let blockSize = 32 * 1024

    init(_ documents: StreamedDocuments) {
        self.documents = documents
    }

    func next(_ deliver: @escaping @Sendable (ResponseChunk) -> Void) {
        var block: [UInt8] = []
        switch phase {
        case .finished:
            return deliver(.end)
        case .opening:
            block.append(contentsOf: #"{"items":["#.utf8)
            phase = .items
        case .items:
            break
        }
        block.reserveCapacity(Self.blockSize + 1024)
        documents.read({ [self] document in
            if count > 0 { block.append(UInt8(ascii: ",")) }
            block.append(contentsOf: document.json.utf8)
            count += 1
            return block.count < Self.blockSize
        }) { [self] outcome in
            switch outcome {
            case .success(let ended):
                if ended {
                    block.append(contentsOf: #"],"total_count":\#(count),"has_more":false,"next_cursor":null}"#.utf8)
                    phase = .finished
                }
                deliver(.bytes(block))
            case .failure(let error):
                phase = .finished
                deliver(.failed(reason: error.debugDescription))
            }
        }
    }

    func close() {
        phase = .finished
        documents.close()
    }

    /// A page of a limited find, whole, written into one buffer (pages run to hundreds of kilobytes).
    static func page(_ page: FindPage) -> [UInt8] {
        let cursor = page.nextCursor.map { JSONText.quoted($0.token) } ?? "null"
        let tail = #"],"total_count":\#(page.totalCount),"has_more":\#(page.hasMore),"next_cursor":\#(cursor)}"#
        var body: [UInt8] = []
        body.reserveCapacity(page.items.reduce(16 + tail.utf8.count) { $0 + $1.json.utf8.count + 1 })
        body.append(contentsOf: #"{"items":["#.utf8)
        for (index, item) in page.items.enumerated() {
            if index > 0 { body.append(UInt8(ascii: ",")) }
            body.append(contentsOf: item.json.utf8)
        }
        body.append(contentsOf: tail.utf8)
        return body
    }
}
