import DocumentStore
import EventLoop

/// The body of `GET /{store}/{collection}:watch`: Server-Sent Events. First the changes a resumed watcher
/// missed (from its `Last-Event-ID`'s watermark), then every match after the cursor in find's order, page
/// by page as the client reads, then each matching change the `ChangeHub` delivers, as it commits. Each
/// event's `id:` is the document's cursor with the watermark from which the watcher's changes are still
/// to be read, so a client that reconnects with it misses nothing still stored. A comment line goes out
/// when nothing else has for `heartbeatInterval`.
final class WatchStream: ResponseStream, @unchecked Sendable {
    // @unchecked: every member is touched on `loop` only; the hub's deliveries hop onto it.
    private let loop: EventLoop
    private let executor: StoreExecutor
    private let collection: DocumentCollection
    private let filter: Where
    private let hub: ChangeHub
    private var subscription: ChangeHub.Subscription?

    /// Changes to read first, from this watermark (a resumed watcher's).
    private var missedSince: UInt64?
    /// Where the next catch-up page starts; `catchingUp` until the last page was sent.
    private var catchUpCursor: Cursor?
    private var catchingUp = true
    /// The watermark of catch-up events: the hub delivers every change from it on.
    private var startWatermark: UInt64 = 0
    /// Live changes that arrived during the catch-up, sent after it.
    private var heldBack: [([Change], UInt64)] = []

    private var pending: [UInt8] = []
    private var parked: (@Sendable (ResponseChunk) -> Void)?
    private var ended = false
    private var lastSent = ContinuousClock.now
    private var heartbeatScheduled = false

    /// Catch-up documents read per statement.
    static let pageSize = 200
    /// A comment line goes out when nothing else has for this long, so proxies keep the stream open.
    static let heartbeatInterval = Duration.seconds(15)
    /// Bytes a watcher that does not read may leave unsent (and changes held back during its catch-up)
    /// before it is cut off; it then reconnects with its `Last-Event-ID` and reads what it missed from
    /// the database.
    static let unsentLimit = 8 * 1024 * 1024
    static let heldBackLimit = 10_000

    /// Events are small and a watch lives long: a small buffer keeps thousands of watchers cheap.
    var blockSize: Int { 8 * 1024 }

    init(
        loop: EventLoop, executor: StoreExecutor, collection: DocumentCollection, filter: Where, hub: ChangeHub,
        after cursor: Cursor?
    ) {
        self.loop = loop
        self.executor = executor
        self.collection = collection
        self.filter = filter
        self.hub = hub
        self.catchUpCursor = cursor?.position
        self.missedSince = cursor?.watermark
    }

    /// Registers with the hub, blocking (the first watch of a collection installs its change tracking);
    /// call on a worker, then `start` on the loop. Deliveries that come before `start` are held back.
    func subscribe() throws(DocumentStoreError) -> ChangeHub.Registration {
        try hub.watch(
            collection, filter: filter,
            deliver: { [self] changes, watermark in loop.execute { self.arrive(changes, watermark) } },
            end: { [self] in loop.execute { self.endAtOnce() } })
    }

    /// On the loop, once subscribed: catch-up events carry the registration's watermark, and a resumed
    /// watcher's missed changes are read only up to it.
    func start(_ registration: ChangeHub.Registration) {
        subscription = registration.subscription
        startWatermark = registration.watermark
        if let missed = missedSince, missed >= registration.watermark { missedSince = nil }
    }

    func next(_ deliver: @escaping @Sendable (ResponseChunk) -> Void) {
        if !pending.isEmpty {
            return send(deliver)
        }
        if ended {
            return deliver(.end)
        }
        if let since = missedSince {
            missedSince = nil
            return readMissed(since: since, deliver)
        }
        if catchingUp {
            return readPage(deliver)
        }
        parked = deliver
        scheduleHeartbeat()
    }

    func close() {
        ended = true
        parked = nil
        if let subscription {
            hub.cancel(subscription)
            self.subscription = nil
        }
    }

    /// The changes of a resumed watcher made while it was away, up to where the hub's deliveries start.
    private func readMissed(since watermark: UInt64, _ deliver: @escaping @Sendable (ResponseChunk) -> Void) {
        executor.run(collection.changesOperation(since: watermark), on: loop) { [self] outcome in
            switch outcome {
            case .success(let batch):
                let matching = batch.changes.filter { change in
                    (try? change.document.value()).map(filter.matches) ?? false
                }
                append(matching, safeUpTo: min(batch.watermark, startWatermark))
                next(deliver)
            case .failure(let error):
                deliver(.failed(reason: error.debugDescription))
            }
        }
    }

    private func readPage(_ deliver: @escaping @Sendable (ResponseChunk) -> Void) {
        let query = FindQuery(filter: filter, limit: Self.pageSize, cursor: catchUpCursor)
        let operation: CollectionOperation<FindPage>
        do {
            operation = try collection.findOperation(query)
        } catch {
            return deliver(.failed(reason: error.debugDescription))
        }
        executor.run(operation, on: loop) { [self] outcome in
            switch outcome {
            case .success(let page):
                for document in page.items {
                    event("upsert", document, watermark: startWatermark)
                }
                catchUpCursor = page.items.last?.cursor ?? catchUpCursor
                if !page.hasMore {
                    catchingUp = false
                    for (changes, watermark) in heldBack { append(changes, safeUpTo: watermark) }
                    heldBack = []
                }
                next(deliver)
            case .failure(let error):
                deliver(.failed(reason: error.debugDescription))
            }
        }
    }

    /// On the loop: the service is stopping; what is pending goes out, then the stream ends, and the client
    /// resumes elsewhere with its `Last-Event-ID`.
    private func endAtOnce() {
        subscription = nil
        ended = true
        if let deliver = parked {
            parked = nil
            next(deliver)
        }
    }

    /// On the loop: changes the hub delivered.
    private func arrive(_ changes: [Change], _ watermark: UInt64) {
        guard !ended else { return }
        if catchingUp {
            heldBack.append((changes, watermark))
        } else {
            append(changes, safeUpTo: watermark)
        }
        if pending.count > Self.unsentLimit || heldBack.reduce(0, { $0 + $1.0.count }) > Self.heldBackLimit {
            // The client does not read: stop holding changes for it; it resumes from its last event.
            close()
        }
        if let deliver = parked {
            parked = nil
            next(deliver)
        }
    }

    /// Events for changes in transaction order. After each, every change before the next one's transaction
    /// (and before `watermark`, the oldest that may still commit) has been sent: that is its id's watermark.
    private func append(_ changes: [Change], safeUpTo watermark: UInt64) {
        for (index, change) in changes.enumerated() {
            let following = index + 1 < changes.count ? changes[index + 1].transaction : watermark
            let safe = min(watermark, following)
            switch change.kind {
            case .upsert: event("upsert", change.document, watermark: safe)
            case .delete: event("delete", change.document, watermark: safe)
            }
        }
    }

    private func event(_ kind: String, _ document: StoredDocument, watermark: UInt64) {
        let id = Cursor(creationUTC: document.creationUTC ?? "", id: document.id, watermark: watermark).token
        let data = kind == "delete" ? JSONText.object(["id": JSONText.quoted(document.id)]) : Array(document.json.utf8)
        pending.append(contentsOf: "event: \(kind)\nid: \(id)\ndata: ".utf8)
        pending.append(contentsOf: data)
        pending.append(contentsOf: "\n\n".utf8)
    }

    private func send(_ deliver: @Sendable (ResponseChunk) -> Void) {
        let bytes = pending
        pending = []
        lastSent = .now
        deliver(.bytes(bytes))
    }

    /// One timer at a time per stream, due `heartbeatInterval` after the last bytes sent.
    private func scheduleHeartbeat() {
        guard !heartbeatScheduled else { return }
        heartbeatScheduled = true
        loop.schedule(after: max(.zero, lastSent + Self.heartbeatInterval - .now)) { [self] in
            heartbeatScheduled = false
            guard let deliver = parked, !ended else { return }
            if ContinuousClock.now >= lastSent + Self.heartbeatInterval {
                parked = nil
                pending.append(contentsOf: ": keep-alive\n\n".utf8)
                send(deliver)
            } else {
                scheduleHeartbeat()
            }
        }
    }
}
