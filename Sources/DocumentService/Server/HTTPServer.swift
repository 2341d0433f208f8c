import EventLoop
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// An HTTP/1.1 server on libmicrohttpd that hands each request to an `HTTPHandler`.
///
/// Threading model: a few event loops (`Settings.eventLoops`, one per core by default), each running a
/// libmicrohttpd daemon in external epoll mode on its own thread; the daemons share one listening
/// socket. A loop never blocks: a handler decides from the headers at once (refusals are sent before
/// any body byte is read) and answers the complete request through a reply that may come from any
/// thread, meanwhile the connection is suspended. Idle and slow connections therefore cost no thread,
/// and work that blocks runs on threads of the handler's own.
public final class HTTPServer: Sendable {
    public struct Settings: Sendable {
        /// Address to listen on: an IPv4 or IPv6 literal or a host name.
        public var host: String
        /// Port to listen on; 0 picks a free one (see `port`).
        public var port: Int
        /// Largest request body accepted; larger gets the handler's 413.
        public var maxBodyBytes: Int
        /// Most connections open at once; more are refused at accept.
        public var connectionLimit: Int
        /// Most connections one client address may hold (shared out among the loops, so about this
        /// many); 0 for no cap.
        public var connectionLimitPerAddress: Int
        /// Seconds a connection may stay idle (between or within requests) before it is closed.
        public var connectionTimeoutSeconds: Int
        /// How many event loops (threads) serve connections.
        public var eventLoops: Int
        /// Whether requests are counted for `gatherMetrics`.
        public var recordsMetrics: Bool
        /// How long a request's head may take to arrive after its request line, however it trickles.
        public var headerTimeout: Duration
        /// The slowest a body may arrive, in bytes a second on average, once `headerTimeout` has passed
        /// since its head; 0 for no floor.
        public var minimumBodyRate: Int

        public init(
            host: String,
            port: Int,
            maxBodyBytes: Int,
            connectionLimit: Int,
            connectionTimeoutSeconds: Int,
            eventLoops: Int = HTTPServer.defaultEventLoops,
            recordsMetrics: Bool = true,
            headerTimeout: Duration = .seconds(10),
            minimumBodyRate: Int = 1024,
            connectionLimitPerAddress: Int = 0
        ) {
            self.host = host
            self.port = port
            self.maxBodyBytes = maxBodyBytes
            self.connectionLimit = connectionLimit
            self.connectionTimeoutSeconds = connectionTimeoutSeconds
            self.eventLoops = eventLoops
            self.recordsMetrics = recordsMetrics
            self.headerTimeout = headerTimeout
            self.minimumBodyRate = minimumBodyRate
            self.connectionLimitPerAddress = connectionLimitPerAddress
        }
    }

    /// One event loop per online core.
    public static var defaultEventLoops: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }

    private let context: ServerContext
    /// The event loops, one daemon each; they exist from `init` so that handlers can be given them.
    public let loops: [EventLoop]
    private let daemons: [LoopDaemon]
    private let state = Lock()
    private nonisolated(unsafe) var boundPort = 0
    private nonisolated(unsafe) var running = false

    public init(settings: Settings, handler: any HTTPHandler, log: Log = Log()) {
        let context = ServerContext(settings: settings, handler: handler, log: log)
        let loops = (0..<max(1, settings.eventLoops)).map { EventLoop(name: "http-\($0)") }
        self.context = context
        self.loops = loops
        daemons = loops.map { LoopDaemon(loop: $0, context: context) }
    }

    /// The port the server listens on, known after `start()`.
    public var port: Int { state.withLock { boundPort } }

    /// Binds the address and starts the loops.
    public func start() throws(HTTPServerError) {
        let listening = try ListenSocket(host: context.settings.host, port: context.settings.port)
        let isIPv6 = context.settings.host.contains(":")
        let perLoop = max(1, context.settings.connectionLimit / daemons.count)
        let perAddress = context.settings.connectionLimitPerAddress
        // Each loop's daemon counts its own connections: the cap is shared out, rounded up.
        let perAddressPerLoop = perAddress == 0 ? 0 : (perAddress + daemons.count - 1) / daemons.count
        do throws(HTTPServerError) {
            for daemon in daemons {
                let descriptor = dup(listening.descriptor)
                guard descriptor >= 0 else { throw HTTPServerError("cannot share the listening socket") }
                try daemon.start(
                    listenSocket: descriptor, isIPv6: isIPv6, connectionLimit: perLoop,
                    connectionLimitPerAddress: perAddressPerLoop)
            }
        } catch {
            close(listening.descriptor)
            throw error
        }
        close(listening.descriptor)
        for loop in loops { loop.start() }
        state.withLock {
            boundPort = listening.port
            running = true
        }
    }

    /// Stops accepting connections; connections already open are served until `stop()`, and their
    /// responses carry `Connection: close`.
    public func stopAccepting() {
        guard state.withLock({ running }), !context.draining.exchange(true, ordering: .sequentiallyConsistent) else {
            return
        }
        for daemon in daemons {
            runOnLoop(daemon.loop) { daemon.stopAccepting() }
        }
    }

    /// Waits until no request is in flight, for at most `timeout`; returns whether none is.
    public func waitForRequestsInFlight(timeout: Duration) -> Bool {
        wait(until: context.requestsInFlight, isZeroWithin: timeout)
    }

    /// Waits until no request is being answered, for at most `timeout`; requests still sending their head
    /// or body do not count. Returns whether none is.
    public func waitForRequestsBeingAnswered(timeout: Duration) -> Bool {
        wait(until: context.requestsBeingAnswered, isZeroWithin: timeout)
    }

    private func wait(until counter: borrowing Atomic<Int>, isZeroWithin timeout: Duration) -> Bool {
        let deadline = ContinuousClock.now + timeout
        while counter.load(ordering: .sequentiallyConsistent) > 0 {
            guard ContinuousClock.now < deadline else { return false }
            usleep(10_000)
        }
        return true
    }

    /// The requests answered so far and the connections open now, over every loop; `completion` runs on one
    /// of the loops.
    func gatherMetrics(_ completion: @escaping @Sendable (HTTPMetrics.Snapshot) -> Void) {
        let daemons = self.daemons
        EventLoop.gather(from: loops, { loop in daemons.first { $0.loop === loop }!.metricsSnapshot() }) { snapshots in
            var total = HTTPMetrics.Snapshot()
            for snapshot in snapshots { total.add(snapshot) }
            completion(total)
        }
    }

    /// Closes every connection and stops the loops; a request still waiting for its reply gets the
    /// handler's `shuttingDown()` answer.
    public func stop() {
        let wasRunning = state.withLock {
            defer { running = false }
            return running
        }
        guard wasRunning else { return }
        for daemon in daemons {
            runOnLoop(daemon.loop) { daemon.stop() }
            daemon.loop.stop()
        }
    }

    /// Runs `body` on `loop` and waits for it.
    private func runOnLoop(_ loop: EventLoop, _ body: @escaping @Sendable () -> Void) {
        let done = ConditionLock()
        let finished = Box(false)
        loop.execute {
            body()
            done.withLock {
                finished.value = true
                done.signal()
            }
        }
        done.withLock {
            while !finished.value {
                _ = done.wait(until: ConditionLock.deadline(after: .seconds(1)))
            }
        }
    }
}

/// A value shared between threads under a lock the user holds.
private final class Box<Value>: @unchecked Sendable {
    // @unchecked: read and written only while the caller's lock is held.
    var value: Value

    init(_ value: Value) {
        self.value = value
    }
}

/// Why the server could not start.
public struct HTTPServerError: Error, CustomStringConvertible {
    public let description: String

    init(_ description: String) {
        self.description = description
    }
}
