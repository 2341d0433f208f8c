import EventLoop

/// The documents of an unlimited find, read from PostgreSQL only as its reader asks for them, on a
/// connection of its own (`STREAM_LIMIT` bounds how many run at once). Made by `StoreExecutor.stream`;
/// used on one event loop only, which is why it may be handed around as `Sendable`.
public final class StreamedDocuments: @unchecked Sendable {
    // @unchecked: every member is used on `loop` only.
    private let loop: EventLoop
    private let connections: StreamConnections
    private let workers: WorkerPool
    /// The statement's connection while rows remain; nil once they ended or the stream closed.
    private var connection: StreamingConnection?
    /// Documents read before the stream was handed out, so that a failing statement is an error rather
    /// than a cut-off body, and a small result gives its connection back before the client reads it.
    private var prefetched: [StoredDocument] = []
    private var prefetchedRead = 0
    /// Bytes of documents read ahead that way.
    private static let prefetchBytes = 64 * 1024

    init(connection: StreamingConnection, loop: EventLoop, connections: StreamConnections, workers: WorkerPool) {
        self.connection = connection
        self.loop = loop
        self.connections = connections
        self.workers = workers
    }

    deinit {
        close()
    }

    /// Reads documents, handing each to `take` until it returns false or they end; `done` then gets
    /// whether they ended. Call on the loop; `done` runs there, possibly before `read` returns.
    public func read(
        _ take: @escaping (StoredDocument) -> Bool,
        done: @escaping (Result<Bool, DocumentStoreError>) -> Void
    ) {
        while prefetchedRead < prefetched.count {
            let document = prefetched[prefetchedRead]
            prefetchedRead += 1
            guard take(document) else {
                return done(.success(connection == nil && prefetchedRead == prefetched.count))
            }
        }
        prefetched = []
        prefetchedRead = 0
        guard let connection else { return done(.success(true)) }
        connection.read({ row in take(DocumentTable.document(from: row)) }) { [self] end in
            switch end {
            case .paused:
                done(.success(false))
            case .finished:
                finish(reusable: true)
                done(.success(true))
            case .failed(let error) where error.isMissingTable:
                finish(reusable: true)
                done(.success(true))
            case .failed(let error):
                finish(reusable: false)
                done(.failure(DocumentStoreError(translating: error)))
            }
        }
    }

    /// Reads the first documents, up to `prefetchBytes`, so that `read` starts with them.
    func prime(_ done: @escaping (Result<Void, DocumentStoreError>) -> Void) {
        var bytes = 0
        var documents: [StoredDocument] = []
        read({ document in
            documents.append(document)
            bytes += document.json.utf8.count
            return bytes < Self.prefetchBytes
        }) { [self] outcome in
            prefetched = documents
            done(outcome.map { _ in () })
        }
    }

    /// Stops reading; a statement still running is cancelled on a worker and its connection given back.
    /// Safe to call more than once.
    public func close() {
        prefetched = []
        guard let connection else { return }
        self.connection = nil
        guard let handle = connection.detach() else { return }
        let connections = connections
        workers.submit {
            if handle.cancel() {
                connections.giveBack(handle)
            } else {
                connections.discard(handle)
            }
        }
    }

    private func finish(reusable: Bool) {
        guard let handle = connection?.detach() else { return }
        connection = nil
        if reusable {
            connections.giveBack(handle)
        } else {
            connections.discard(handle)
        }
    }
}
