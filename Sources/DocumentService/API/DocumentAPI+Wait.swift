import DocumentStore
import EventLoop

/// `find` with `wait=S`: a long poll for clients that cannot hold a stream.
extension DocumentAPI {
    /// Holds the find while nothing matches after its cursor: until a matching change commits, `wait`
    /// runs out or the client leaves, whichever comes first; then `answer` runs on the request's loop.
    /// The change feed is joined before the first look, so a change committed in between is not missed.
    func waitForMatch(
        _ context: RequestContext, _ query: FindQuery, upTo wait: Duration,
        then answer: @escaping @Sendable (RequestContext) -> Void
    ) {
        let collection = collection(context)
        let loop = context.loop
        let waiter = MatchWaiter(hub: changes) { answer(context.onItsLoop) }
        let hub = changes
        context.executor.runBlocking(
            on: loop,
            { () throws(DocumentStoreError) in
                try hub.watch(
                    collection, filter: query.filter,
                    deliver: { _, _ in loop.execute { waiter.finish() } },
                    end: { loop.execute { waiter.finish() } })
            }
        ) { outcome in
            switch outcome {
            case .failure(let error):
                context.fail(APIError(error))
            case .success(let registration):
                waiter.registration = registration
                let probe = FindQuery(filter: query.filter, limit: 1, cursor: query.cursor, descending: query.descending)
                guard let operation = try? collection.findOperation(probe) else { return waiter.finish() }
                context.executor.run(operation, on: loop) { outcome in
                    guard case .success(let page) = outcome, page.items.isEmpty else { return waiter.finish() }
                    loop.schedule(after: wait) { waiter.finish() }
                    context.request.cancellation.whenCancelled { loop.execute { waiter.finish() } }
                }
            }
        }
    }
}

/// One waiting find's registration with the change feed, and what it does once: leaves the feed and
/// answers. Touched on the request's loop only.
private final class MatchWaiter: @unchecked Sendable {
    private let hub: ChangeHub
    private var answer: (@Sendable () -> Void)?
    var registration: ChangeHub.Registration?

    init(hub: ChangeHub, answer: @escaping @Sendable () -> Void) {
        self.hub = hub
        self.answer = answer
    }

    /// Ends the wait; only the first call (once registered) does anything.
    func finish() {
        guard let registration, let answer else { return }
        self.answer = nil
        hub.cancel(registration.subscription)
        answer()
    }
}
