import Synchronization

/// Hands the changes of tracked collections to the watchers of one process. Its `ChangeListener` says
/// which tables changed; for each, the hub reads the changes once, from the position all that table's
/// watchers share, and gives each watcher the changed documents that match its filter. Reads run on the
/// listener's thread, on a connection of the hub's own, so a burst of notifications becomes one read per
/// table; watchers cost no thread and no connection each. The listener and that connection are opened
/// with the first watch: a process nobody watches holds neither. A read gives documents as they are when it
/// runs, so a document changed several times between two reads comes once, in its latest state (and a
/// document inserted and deleted between them, only as deleted).
public final class ChangeHub: Sendable {
    /// One watcher's filter and where its changes go: `deliver` is called on the listener's thread (so it
    /// must not block) with the changes that match, in transaction order, and the watermark from which
    /// every change not yet delivered is still to be read; `end`, once, when the hub stops.
    public struct Subscription: Sendable {
        let id: Int
        let table: String
        let filter: Where
        let deliver: @Sendable ([Change], UInt64) -> Void
        let end: @Sendable () -> Void
    }

    /// What `watch` returns: the subscription, to cancel it, and the watermark from which its changes are
    /// delivered.
    public struct Registration: Sendable {
        public let subscription: Subscription
        public let watermark: UInt64
    }

    private struct Tracked {
        var position: ChangePosition
        let collection: DocumentCollection
        var watchers: [Int: Subscription] = [:]
    }

    private struct State {
        var tables: [String: Tracked] = [:]
        var nextID = 0
        var listening = Listening.notYet
        /// When this process last forgot each table's old deletions.
        var pruned: [String: ContinuousClock.Instant] = [:]
    }

    /// How often a watched table's deletions older than a day are forgotten, at most.
    private static let pruneInterval = Duration.seconds(3600)

    private enum Listening {
        case notYet
        case started
        case stopped
    }

    private let state = Mutex(State())
    private let link: DatabaseLink
    private let usesPreparedStatements: Bool
    private let reader = Mutex<PostgresConnection?>(nil)
    private let listener: ChangeListener

    public init(database: DocumentDatabase) {
        link = database.link
        usesPreparedStatements = database.usesPreparedStatements
        // The hub outlives nothing it is handed to: the listener's closure refers to it weakly.
        let forwarder = Forwarder()
        listener = ChangeListener(database: database) { table in forwarder.hub?.heard(table) }
        forwarder.hub = self
    }

    /// Ends every watch (each watcher's `end` is called) and stops listening: the service is stopping,
    /// and watchers are better off resuming on another replica than waiting for the grace period.
    /// No new watch starts after.
    public func stop() {
        let (wasListening, watchers) = state.withLock { state in
            defer {
                state.listening = .stopped
                state.tables = [:]
            }
            return (state.listening == .started, state.tables.values.flatMap(\.watchers.values))
        }
        for watcher in watchers { watcher.end() }
        if wasListening { listener.stop() }
        reader.withLock { $0 = nil }
    }

    /// Starts giving `deliver` the changes of `collection` that match `filter`, tracking the collection's
    /// changes first if they are not yet (blocking). Returns the subscription and the watermark from which
    /// every change will be delivered: changes of transactions before it are already committed, so a read
    /// made after this returns sees them.
    public func watch(
        _ collection: DocumentCollection, filter: Where, deliver: @escaping @Sendable ([Change], UInt64) -> Void,
        end: @escaping @Sendable () -> Void
    ) throws(DocumentStoreError) -> Registration {
        let startListening = try state.withLock { state throws(DocumentStoreError) -> Bool in
            switch state.listening {
            case .stopped: throw DocumentStoreError(.unavailable, "The service is stopping.")
            case .started: return false
            case .notYet:
                state.listening = .started
                return true
            }
        }
        if startListening && !listener.start() {
            state.withLock { $0.listening = .notYet }
            throw DocumentStoreError(.internalError, "No thread could be made to listen for changes.")
        }
        try collection.trackChanges()
        let table = collection.changeNotificationPayload
        let prune = state.withLock { state in
            guard state.pruned[table].map({ ContinuousClock.now - $0 >= Self.pruneInterval }) ?? true else { return false }
            state.pruned[table] = .now
            return true
        }
        // Not worth failing a watch over: the next watch an hour later tries again.
        if prune { _ = try? collection.pruneDeletions() }
        // Watchers of a table already tracked join at its position; only a first one needs a watermark
        // (read without the lock, then the registration tried again).
        var start: UInt64?
        while true {
            let registration = try state.withLock { state throws(DocumentStoreError) -> Registration? in
                // Stopped meanwhile: a watcher registered now would never be ended.
                guard state.listening != .stopped else {
                    throw DocumentStoreError(.unavailable, "The service is stopping.")
                }
                guard var tracked = state.tables[table] ?? start.map({
                    Tracked(position: ChangePosition(watermark: $0), collection: collection)
                }) else { return nil }
                state.nextID += 1
                let subscription = Subscription(id: state.nextID, table: table, filter: filter, deliver: deliver, end: end)
                tracked.watchers[subscription.id] = subscription
                state.tables[table] = tracked
                return Registration(subscription: subscription, watermark: tracked.position.watermark)
            }
            if let registration { return registration }
            start = try collection.watermarkOperation().performBlocking()
        }
    }

    /// Stops delivering to `subscription`.
    public func cancel(_ subscription: Subscription) {
        state.withLock { state in
            state.tables[subscription.table]?.watchers[subscription.id] = nil
            if state.tables[subscription.table]?.watchers.isEmpty == true {
                state.tables[subscription.table] = nil
            }
        }
    }

    /// The number of watchers now.
    var watcherCount: Int {
        state.withLock { $0.tables.values.reduce(0) { $0 + $1.watchers.count } }
    }

    /// On the listener's thread: `table` changed, or (nil) anything may have.
    private func heard(_ table: String?) {
        let tables = state.withLock { state in table.map { [$0] } ?? Array(state.tables.keys) }
        for table in tables {
            read(table)
        }
    }

    private func read(_ table: String) {
        guard let (collection, watermark) = state.withLock({ state in
            state.tables[table].map { ($0.collection, $0.position.watermark) }
        }) else { return }
        let batch: ChangeBatch
        do {
            batch = try reader.withLock { connection throws(DocumentStoreError) in
                if connection == nil {
                    do throws(DatabaseError) {
                        connection = PostgresConnection(handle: try link.connect(), usesPreparedStatements: usesPreparedStatements)
                    } catch {
                        throw DocumentStoreError(translating: error)
                    }
                }
                return try collection.changesOperation(since: watermark).perform(on: connection!)
            }
        } catch {
            // The next notification, or the listener's next start, reads again from the same position.
            reader.withLock { $0 = nil }
            return
        }
        let (fresh, watchers, next) = state.withLock { state -> ([Change], [Subscription], UInt64) in
            guard var tracked = state.tables[table] else { return ([], [], 0) }
            let fresh = tracked.position.take(batch)
            state.tables[table] = tracked
            return (fresh, Array(tracked.watchers.values), tracked.position.watermark)
        }
        guard !fresh.isEmpty else { return }
        let documents = fresh.map { try? $0.document.value() }
        for watcher in watchers {
            let matching = fresh.indices.filter { documents[$0].map(watcher.filter.matches) ?? false }.map { fresh[$0] }
            if !matching.isEmpty { watcher.deliver(matching, next) }
        }
    }

    /// Lets the listener reach the hub without keeping it alive.
    private final class Forwarder: @unchecked Sendable {
        // @unchecked: set once, in the hub's initializer, before the listener starts.
        weak var hub: ChangeHub?
    }
}
