#if canImport(Glibc)
    import Glibc
#endif

/// A fixed set of threads that run blocking work (libpq's blocking calls) in the order it was handed
/// to them, so that work never blocks an event loop. Work waits in a queue while every thread is busy.
public final class WorkerPool: @unchecked Sendable {
    // @unchecked: `queue`, `stopping` and `threads` are touched only while `condition` is held.
    public let name: String
    private let size: Int
    private let condition = ConditionLock()
    private var queue: [@Sendable () -> Void] = []
    private var queueStart = 0
    private var stopping = false
    private var threads: [pthread_t] = []

    /// A pool of `threads` threads (at least one), started by `start`.
    public init(name: String, threads: Int) {
        self.name = name
        size = max(1, threads)
    }

    /// The number of threads.
    public var threadCount: Int { size }

    public func start() {
        condition.withLock {
            for _ in 0..<size {
                let context = Unmanaged.passRetained(self).toOpaque()
                var thread = pthread_t()
                let status = pthread_create(
                    &thread, nil,
                    { context in
                        let pool = Unmanaged<WorkerPool>.fromOpaque(context!).takeRetainedValue()
                        pool.work()
                        return nil
                    }, context)
                precondition(status == 0, "cannot start a thread of worker pool \(name)")
                threads.append(thread)
            }
        }
    }

    /// Runs `work` on one of the threads, after the work handed in before it has started.
    public func submit(_ work: @escaping @Sendable () -> Void) {
        condition.withLock {
            queue.append(work)
            condition.signal()
        }
    }

    /// Lets the queued work finish, then ends the threads and waits for them.
    public func stop() {
        let running = condition.withLock {
            stopping = true
            condition.broadcast()
            return threads
        }
        for thread in running { pthread_join(thread, nil) }
        condition.withLock { threads.removeAll() }
    }

    private func work() {
        while true {
            condition.lock()
            while queueStart == queue.count && !stopping {
                _ = condition.wait(until: ConditionLock.deadline(after: .seconds(60)))
            }
            guard queueStart < queue.count else {
                condition.unlock()
                return
            }
            let next = queue[queueStart]
            queueStart += 1
            if queueStart == queue.count {
                queue.removeAll(keepingCapacity: true)
                queueStart = 0
            }
            condition.unlock()
            next()
        }
    }
}
