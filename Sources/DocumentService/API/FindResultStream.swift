import DocumentStore
import EventLoop

/// The body of an unlimited find, `{"items":[...],"total_count":n,"has_more":false,"next_cursor":null}`,
/// written in blocks as rows arrive from PostgreSQL so memory stays flat however many documents match.
/// A block is read on `workers` only when the server asks for it, that is when the client has taken the
/// one before, so PostgreSQL is read no faster than the client reads.
final class FindResultStream: ResponseStream, @unchecked Sendable {
    // @unchecked: `documents`, `first`, `phase` and `count` are used only under `lock`, by one worker
    // task at a time.
    private enum Phase {
        case opening
        case items
        case finished
    }

    private let lock = Lock()
    private let workers: WorkerPool
    private let documents: DocumentStream
    private var first: StoredDocument?
    private var phase = Phase.opening
    private var count = 0

    /// Bytes gathered before a block is handed to the server.
    private static let blockSize = 32 * 1024

    /// - Parameter first: the row already read from `documents` (nil if there was none).
    init(_ documents: DocumentStream, first: StoredDocument?, workers: WorkerPool) {
        self.documents = documents
        self.first = first
        self.workers = workers
        if first == nil { documents.close() }
    }

    func next(_ deliver: @escaping @Sendable (ResponseChunk) -> Void) {
        workers.submit { [self] in
            let chunk = lock.withLock { nextBlock() }
            deliver(chunk)
        }
    }

    func close() {
        workers.submit { [self] in
            lock.withLock {
                phase = .finished
                documents.close()
            }
        }
    }

    private func nextBlock() -> ResponseChunk {
        var block: [UInt8] = []
        switch phase {
        case .finished:
            return .end
        case .opening:
            block.append(contentsOf: #"{"items":["#.utf8)
            phase = .items
        case .items:
            break
        }
        block.reserveCapacity(Self.blockSize + 1024)
        while block.count < Self.blockSize {
            let next: StoredDocument?
            do {
                next = try nextDocument()
            } catch {
                return .failed(reason: error.debugDescription)
            }
            guard let document = next else {
                block.append(contentsOf: #"],"total_count":\#(count),"has_more":false,"next_cursor":null}"#.utf8)
                phase = .finished
                documents.close()
                return .bytes(block)
            }
            if count > 0 { block.append(UInt8(ascii: ",")) }
            block.append(contentsOf: document.json.utf8)
            count += 1
        }
        return .bytes(block)
    }

    private func nextDocument() throws(DocumentStoreError) -> StoredDocument? {
        if let pending = first {
            first = nil
            return pending
        }
        return try documents.next()
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
