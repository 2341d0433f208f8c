import CLinux

#if canImport(Glibc)
    import Glibc
#endif

/// One thread that waits on file descriptors with epoll and runs what becomes ready, plus tasks that
/// other threads hand it. Everything registered with a loop is used only on that loop's thread.
///
/// Each turn: wait (up to the timeout the `timeout` hook gives) for ready descriptors, run their
/// handlers, run the tasks other threads queued, then the `endOfTurn` hooks (which send what the turn
/// gathered). A handler, task or hook must never block: the loop serves everything on its thread.
public final class EventLoop: @unchecked Sendable {
    // @unchecked: `registrations`, `endOfTurn` and `timeout` are touched only on the loop's thread (or
    // before `start`); `tasks` and `stopping` only while `taskLock` is held.

    /// What a descriptor is waited for.
    public struct Interest: OptionSet, Sendable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }

        public static let readable = Interest(rawValue: UInt32(EPOLLIN.rawValue))
        public static let writable = Interest(rawValue: UInt32(EPOLLOUT.rawValue))
        /// The peer closed its side (it reports as `failed`).
        public static let peerClosed = Interest(rawValue: UInt32(EPOLLRDHUP.rawValue))
    }

    /// What a descriptor turned out to be.
    public struct Readiness: Sendable {
        public let readable: Bool
        public let writable: Bool
        /// The peer hung up (or closed its side, when waited for) or the descriptor failed.
        public let failed: Bool
    }

    public let name: String
    private let epoll: Int32
    private let wakeup: Int32
    private var registrations: [Int32: (Readiness) -> Void] = [:]
    private var endOfTurn: [() -> Void] = []
    private var timeout: () -> Int32 = { -1 }
    /// Tasks to run once their time has come, soonest first.
    private var timers: [(deadline: ContinuousClock.Instant, task: () -> Void)] = []
    /// Values kept for users of the loop, by key, touched only on the loop.
    private var locals: [ObjectIdentifier: AnyObject] = [:]
    private let taskLock = Lock()
    private var tasks: [() -> Void] = []
    private var stopping = false
    private var thread: pthread_t?

    /// Makes the loop; `start` runs it.
    public init(name: String) {
        self.name = name
        epoll = epoll_create1(Int32(EPOLL_CLOEXEC))
        wakeup = eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))
        precondition(epoll >= 0 && wakeup >= 0, "cannot make an epoll or eventfd descriptor")
        var event = epoll_event(events: EPOLLIN.rawValue, data: epoll_data_t(fd: wakeup))
        epoll_ctl(epoll, EPOLL_CTL_ADD, wakeup, &event)
    }

    deinit {
        close(wakeup)
        close(epoll)
    }

    /// Whether the caller runs on this loop's thread.
    public var inLoop: Bool {
        guard let thread else { return false }
        return pthread_equal(thread, pthread_self()) != 0
    }

    /// Starts the loop's thread.
    public func start() {
        let context = Unmanaged.passRetained(self).toOpaque()
        var created = pthread_t()
        let status = pthread_create(
            &created, nil,
            { context in
                let loop = Unmanaged<EventLoop>.fromOpaque(context!).takeRetainedValue()
                loop.run()
                return nil
            }, context)
        precondition(status == 0, "cannot start the thread of event loop \(name)")
        thread = created
    }

    /// Asks the loop to stop after its current turn and waits until its thread has ended. Must not be
    /// called on the loop.
    public func stop() {
        precondition(!inLoop, "an event loop cannot wait for itself to stop")
        taskLock.withLock { stopping = true }
        signal()
        if let thread {
            pthread_join(thread, nil)
            self.thread = nil
        }
    }

    /// Runs `task` on the loop, soon; safe from any thread.
    public func execute(_ task: @escaping @Sendable () -> Void) {
        taskLock.withLock { tasks.append(task) }
        signal()
    }

    /// Waits for `descriptor` becoming ready as `interest` says, then calls `handler` on the loop. Call on
    /// the loop (or before `start`).
    public func register(_ descriptor: Int32, for interest: Interest, _ handler: @escaping (Readiness) -> Void) {
        registrations[descriptor] = handler
        var event = epoll_event(events: interest.rawValue, data: epoll_data_t(fd: descriptor))
        epoll_ctl(epoll, EPOLL_CTL_ADD, descriptor, &event)
    }

    /// Changes what `descriptor` is waited for. Call on the loop.
    public func change(_ descriptor: Int32, to interest: Interest) {
        var event = epoll_event(events: interest.rawValue, data: epoll_data_t(fd: descriptor))
        epoll_ctl(epoll, EPOLL_CTL_MOD, descriptor, &event)
    }

    /// Stops waiting for `descriptor`. Call on the loop, before the descriptor is closed.
    public func unregister(_ descriptor: Int32) {
        registrations[descriptor] = nil
        epoll_ctl(epoll, EPOLL_CTL_DEL, descriptor, nil)
    }

    /// Runs `task` on the loop once `delay` has passed. Call on the loop.
    public func schedule(after delay: Duration, _ task: @escaping () -> Void) {
        let deadline = ContinuousClock.now + delay
        let index = timers.firstIndex { $0.deadline > deadline } ?? timers.count
        timers.insert((deadline, task), at: index)
    }

    /// The value kept on this loop under `key`, made by `make` the first time, and released when the loop
    /// stops. Call on the loop.
    public func local<Value: AnyObject>(_ key: ObjectIdentifier, make: () -> Value) -> Value {
        if let value = locals[key] as? Value { return value }
        let value = make()
        locals[key] = value
        return value
    }

    /// Adds a hook run at the end of every turn. Call on the loop (or before `start`).
    public func atEndOfTurn(_ hook: @escaping () -> Void) {
        endOfTurn.append(hook)
    }

    /// Sets how long, in milliseconds, the loop may sleep at most (-1: until something is ready). Call on
    /// the loop (or before `start`).
    public func timeout(_ provider: @escaping () -> Int32) {
        timeout = provider
    }

    private func signal() {
        var one: UInt64 = 1
        _ = write(wakeup, &one, 8)
    }

    private func run() {
        var events = [epoll_event](repeating: epoll_event(), count: 256)
        while true {
            var limit = timeout()
            if let next = timers.first {
                let wait = next.deadline - ContinuousClock.now
                let milliseconds = max(0, Int32(clamping: wait.components.seconds * 1000 + wait.components.attoseconds / 1_000_000_000_000_000 + 1))
                limit = limit < 0 ? milliseconds : min(limit, milliseconds)
            }
            let ready = events.withUnsafeMutableBufferPointer { buffer in
                epoll_wait(epoll, buffer.baseAddress, Int32(buffer.count), limit)
            }
            if ready > 0 {
                for index in 0..<Int(ready) {
                    let event = events[index]
                    let descriptor = event.data.fd
                    if descriptor == wakeup {
                        var count: UInt64 = 0
                        _ = read(wakeup, &count, 8)
                        continue
                    }
                    let flags = event.events
                    let readiness = Readiness(
                        readable: flags & EPOLLIN.rawValue != 0,
                        writable: flags & EPOLLOUT.rawValue != 0,
                        failed: flags & (EPOLLERR.rawValue | EPOLLHUP.rawValue | EPOLLRDHUP.rawValue) != 0
                    )
                    registrations[descriptor]?(readiness)
                }
            }
            let (queued, stop) = taskLock.withLock { () -> ([() -> Void], Bool) in
                defer { tasks.removeAll(keepingCapacity: true) }
                return (tasks, stopping)
            }
            for task in queued { task() }
            let now = ContinuousClock.now
            while let next = timers.first, next.deadline <= now {
                timers.removeFirst()
                next.task()
            }
            for hook in endOfTurn { hook() }
            if stop {
                // What was kept on the loop goes with it, on its thread (it may hold descriptors registered here).
                locals.removeAll()
                return
            }
        }
    }
}
