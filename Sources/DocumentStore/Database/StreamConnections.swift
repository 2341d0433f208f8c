import EventLoop
import Synchronization

/// The connections of streamed finds, apart from every other connection so that clients that read
/// slowly never hold up other requests: at most `limit` at once, a few idle ones kept for the next
/// streams, and streams past the limit waiting in order for a place, for a while. Safe from any thread;
/// a handle leased out belongs to its stream until given back.
final class StreamConnections: Sendable {
    /// What a stream gets.
    enum Lease: Sendable {
        /// An idle connection to use.
        case idle(LibPQ.Handle)
        /// A place for a new connection: open one, then `giveBack` or `discard` it.
        case open
        /// `limit` streams ran for as long as the stream could wait.
        case full
    }

    private struct Waiter {
        let id: Int
        let loop: EventLoop
        let granted: @Sendable (Lease) -> Void
    }

    private struct State {
        var idle: [LibPQ.Handle] = []
        /// Places taken: connections leased, idle, or being opened.
        var count = 0
        var waiters: [Waiter] = []
        var nextWaiter = 0
        var isClosed = false
    }

    let limit: Int
    private let state = Mutex(State())
    /// Idle connections kept; the others are closed when their stream ends.
    private static let idleKept = 2

    init(limit: Int) {
        self.limit = limit
    }

    /// Gets a connection or a place for one, on `loop`: at once when one is free, else when a stream ends,
    /// or `.full` after `timeout`. Call on `loop`; `granted` runs there.
    func lease(on loop: EventLoop, waitingAtMost timeout: Duration, _ granted: @escaping @Sendable (Lease) -> Void) {
        var stale: [LibPQ.Handle] = []
        let (now, waiter) = state.withLock { state -> (Lease?, Int?) in
            while let handle = state.idle.popLast() {
                if handle.isReusable { return (.idle(handle), nil) }
                stale.append(handle)
                state.count -= 1
            }
            if state.isClosed { return (.full, nil) }
            if state.count < limit {
                state.count += 1
                return (.open, nil)
            }
            state.nextWaiter += 1
            state.waiters.append(Waiter(id: state.nextWaiter, loop: loop, granted: granted))
            return (nil, state.nextWaiter)
        }
        for handle in stale { handle.finish() }
        if let now { return granted(now) }
        guard let waiter else { return }
        loop.schedule(after: timeout) { [self] in
            let expired = state.withLock { state in
                guard let index = state.waiters.firstIndex(where: { $0.id == waiter }) else { return false }
                state.waiters.remove(at: index)
                return true
            }
            if expired { granted(.full) }
        }
    }

    /// Takes back a leased connection: to the stream that waits longest, else kept idle when it is
    /// reusable and few are idle, else closed.
    func giveBack(_ handle: LibPQ.Handle) {
        guard handle.isReusable else { return discard(handle) }
        let (waiter, kept) = state.withLock { state -> (Waiter?, Bool) in
            if !state.waiters.isEmpty { return (state.waiters.removeFirst(), true) }
            guard !state.isClosed, state.idle.count < Self.idleKept else { return (nil, false) }
            state.idle.append(handle)
            return (nil, true)
        }
        if let waiter {
            waiter.loop.execute { waiter.granted(.idle(handle)) }
        } else if !kept {
            discard(handle)
        }
    }

    /// Frees the place of a leased connection, closing it (`nil`: the connection could not be opened);
    /// the stream that waits longest gets the place.
    func discard(_ handle: LibPQ.Handle?) {
        handle?.finish()
        let waiter = state.withLock { state -> Waiter? in
            if !state.waiters.isEmpty, !state.isClosed { return state.waiters.removeFirst() }
            state.count -= 1
            return nil
        }
        if let waiter { waiter.loop.execute { waiter.granted(.open) } }
    }

    /// The connections of streams as they are now, for the metrics.
    var statistics: DatabaseMetrics.Pool {
        state.withLock { state in
            DatabaseMetrics.Pool(
                name: "stream", size: limit, open: state.count, busy: state.count - state.idle.count,
                waiting: state.waiters.count)
        }
    }

    /// Closes the idle connections; those leased close when given back, and waiting streams get `.full`.
    func close() {
        let (idle, waiters) = state.withLock { state in
            state.isClosed = true
            defer {
                state.idle.removeAll()
                state.waiters.removeAll()
            }
            state.count -= state.idle.count
            return (state.idle, state.waiters)
        }
        for handle in idle { handle.finish() }
        for waiter in waiters { waiter.loop.execute { waiter.granted(.full) } }
    }
}
