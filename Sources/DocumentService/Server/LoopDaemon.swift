import CMicroHTTPD
import EventLoop
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// What every loop's daemon of one server shares: the handler, the settings, the log and the counters.
final class ServerContext: Sendable {
    let settings: HTTPServer.Settings
    let handler: any HTTPHandler
    let log: Log
    /// Requests between their request line and their completion, on every loop.
    let requestsInFlight = Atomic<Int>(0)
    /// Of those, the requests whose head and body have arrived and that the handler is answering.
    let requestsBeingAnswered = Atomic<Int>(0)
    /// Set once the server stops accepting connections.
    let draining = Atomic<Bool>(false)

    init(settings: HTTPServer.Settings, handler: any HTTPHandler, log: Log) {
        self.settings = settings
        self.handler = handler
        self.log = log
    }
}

/// One libmicrohttpd daemon in external epoll mode, driven by one `EventLoop`: the loop waits on the
/// daemon's epoll descriptor and runs it; a request whose answer is not ready is suspended and resumed
/// when its handler replies, and a streamed body is asked for only when the client has taken the last
/// piece. Everything here runs on the loop's thread; other threads reach it only through
/// `EventLoop.execute`.
///
/// This is the only file that touches libmicrohttpd.
final class LoopDaemon: @unchecked Sendable {
    // @unchecked: every stored var is used on `loop`'s thread only (or before the loop starts).
    let loop: EventLoop
    fileprivate let context: ServerContext
    private var daemon: OpaquePointer?
    private var epollDescriptor: Int32 = -1
    /// Suspended connections, to resume before the daemon stops (libmicrohttpd requires it).
    private var suspended: [ObjectIdentifier: RequestState] = [:]
    private var requestIDs = RequestIDGenerator()
    /// Requests whose head or body is still arriving, watched for arriving too slowly.
    private var arriving: [ObjectIdentifier: RequestState] = [:]
    private let metrics = HTTPMetrics()
    /// Where libmicrohttpd sends its own messages; lives as long as the daemon.
    private let logger: UnsafeMutablePointer<docstore_mhd_logger>
    /// The retain that keeps this object alive while libmicrohttpd may call back into it.
    private var callbackContext: Unmanaged<LoopDaemon>?

    init(loop: EventLoop, context: ServerContext) {
        self.loop = loop
        self.context = context
        logger = .allocate(capacity: 1)
        logger.initialize(to: docstore_mhd_logger(callback: logLibraryMessage, context: nil))
    }

    deinit {
        logger.deallocate()
    }

    /// Starts a daemon accepting on `listenSocket` (a descriptor of its own, which it closes at the end)
    /// and hooks it into the loop. Call before the loop starts.
    /// `connectionLimitPerAddress` 0 is none.
    func start(
        listenSocket: Int32, isIPv6: Bool, connectionLimit: Int, connectionLimitPerAddress: Int
    ) throws(HTTPServerError) {
        let retained = Unmanaged.passRetained(self)
        let pointer = retained.toOpaque()
        logger.pointee.context = pointer
        var flags =
            MHD_USE_EPOLL.rawValue | MHD_ALLOW_SUSPEND_RESUME.rawValue | MHD_USE_ERROR_LOG.rawValue
        if isIPv6 { flags |= MHD_USE_IPv6.rawValue }
        let started = docstore_mhd_start(
            flags,
            listenSocket,
            accessHandler,
            pointer,
            requestStarted,
            pointer,
            requestCompleted,
            pointer,
            logger,
            UInt32(clamping: connectionLimit),
            UInt32(clamping: connectionLimitPerAddress),
            UInt32(clamping: context.settings.connectionTimeoutSeconds),
            Self.connectionMemoryLimit
        )
        guard let started else {
            retained.release()
            throw HTTPServerError("libmicrohttpd could not start a daemon on the listening socket")
        }
        callbackContext = retained
        daemon = started
        epollDescriptor = docstore_mhd_epoll_fd(started)
        // The daemon runs once at the end of every turn: its descriptor's readiness only wakes the loop.
        // libmicrohttpd also keeps connections it has more to do for (a next request already read, a
        // resumed one) and asks to run again through a zero timeout, without its descriptor turning ready.
        loop.register(epollDescriptor, for: .readable) { _ in }
        loop.atEndOfTurn { [unowned self] in self.runDaemon() }
        loop.timeout { [unowned self] in
            guard let daemon = self.daemon else { return 1000 }
            return docstore_mhd_timeout_ms(daemon, 1000)
        }
        scheduleArrivalCheck()
    }

    /// Twice a second: closes the connections of requests whose head took longer than `headerTimeout` since
    /// their request line, or whose body arrives slower than `minimumBodyRate` once `headerTimeout` has
    /// passed since their head (a trickle of bytes keeps libmicrohttpd's idle timeout from ever firing;
    /// these deadlines do not move); and starts watching for their clients leaving the requests that have
    /// waited for their answer, or a streamed body for its next bytes, since the last check (most are
    /// answered long before, at no cost).
    private func scheduleArrivalCheck() {
        loop.schedule(after: .milliseconds(500)) { [weak self] in
            guard let self, daemon != nil else { return }
            for state in suspended.values where state.phase == .waiting || state.streamReader != nil {
                watchForDeparture(state)
            }
            let now = ContinuousClock.now
            let settings = context.settings
            for state in arriving.values {
                let tooSlow: Bool
                if let headAt = state.headAt {
                    let elapsed = now - headAt
                    let received = state.body.count + state.discardedBytes
                    tooSlow =
                        settings.minimumBodyRate > 0 && elapsed > settings.headerTimeout
                        && Double(received) < Double(settings.minimumBodyRate) * Self.seconds(elapsed)
                } else {
                    tooSlow = now - state.started > settings.headerTimeout
                }
                guard tooSlow, let connection = state.connection else { continue }
                arriving[ObjectIdentifier(state)] = nil
                state.tooSlow = true
                // libmicrohttpd finds the socket shut and closes the connection (the request completes).
                let socket = docstore_mhd_connection_fd(connection)
                if socket >= 0 { shutdown(socket, Int32(SHUT_RDWR)) }
            }
            scheduleArrivalCheck()
        }
    }

    private static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    /// Stops accepting new connections; the ones open are served on. Call on the loop.
    func stopAccepting() {
        guard let daemon else { return }
        let listener = MHD_quiesce_daemon(daemon)
        if listener >= 0 { close(listener) }
    }

    /// Ends every suspended request (a reply still missing becomes 503, a stream is cut off), closes
    /// every connection and stops the daemon. Call on the loop; the loop may stop afterwards.
    func stop() {
        guard let daemon else { return }
        for state in suspended.values {
            if let reader = state.streamReader {
                reader.abort()
            } else if state.pendingResponse == nil {
                state.pendingResponse = context.handler.shuttingDown()
            }
            stopWatching(state)
            state.isSuspended = false
            if let connection = state.connection { MHD_resume_connection(connection) }
        }
        suspended.removeAll()
        MHD_run(daemon)
        loop.unregister(epollDescriptor)
        MHD_stop_daemon(daemon)
        self.daemon = nil
        callbackContext?.release()
        callbackContext = nil
    }

    /// The requests this loop has answered and its connections open now. Call on the loop.
    func metricsSnapshot() -> HTTPMetrics.Snapshot {
        var snapshot = metrics.snapshot
        snapshot.connectionsOpen = daemon.map { Int(docstore_mhd_connections($0)) } ?? 0
        return snapshot
    }

    /// Per-connection memory for the request line, headers and read buffer. libmicrohttpd zeroes all of
    /// it after every request, so an idle keep-alive connection holds all of it: 8 KiB keeps 10,000 idle
    /// connections near 80 MiB. Request lines and headers up to about 7 KiB fit (as in nginx's default),
    /// longer get libmicrohttpd's 414 or 431, and a filter that long belongs in a `:find` body.
    private static let connectionMemoryLimit = 8 * 1024
    /// Bytes of an oversized chunked body read and dropped before the connection is closed instead.
    private static let maximumDiscardedBytes = 64 << 20

    /// Runs the daemon, and again while it asks to at once (a reply just sent leaves its connection to
    /// finish the request and read the next), a few times: the loop would otherwise take a whole turn,
    /// an `epoll_wait` included, for each of those steps.
    private func runDaemon() {
        guard let daemon else { return }
        MHD_run(daemon)
        for _ in 0..<Self.immediateReruns where docstore_mhd_timeout_ms(daemon, 1) == 0 {
            MHD_run(daemon)
        }
    }

    /// How many times at most one turn runs the daemon again because it asked to.
    private static let immediateReruns = 2

    // MARK: Request life cycle, on the loop

    fileprivate func begin(target: String, isClean: Bool, end: UInt, connection: OpaquePointer?) -> RequestState {
        context.requestsInFlight.add(1, ordering: .relaxed)
        let state = RequestState(target: target, targetIsClean: isClean, targetEnd: end)
        state.connection = connection
        arriving[ObjectIdentifier(state)] = state
        return state
    }

    fileprivate func handle(
        _ connection: OpaquePointer,
        method: String,
        version: String,
        state: RequestState,
        upload: UnsafePointer<CChar>?,
        uploadSize: UnsafeMutablePointer<Int>
    ) -> MHD_Result {
        switch state.phase {
        case .new:
            return decideFromHead(connection, method: method, version: version, state: state)
        case .reading:
            if uploadSize.pointee > 0 {
                return readBody(state: state, upload: upload, uploadSize: uploadSize)
            }
            return dispatch(connection, state: state)
        case .waiting:
            return .YES
        case .answered:
            guard let response = state.pendingResponse else { return .YES }
            state.pendingResponse = nil
            return queue(response, on: connection, for: state)
        }
    }

    /// The first call: headers only. A refusal of a request with a body is sent at once (libmicrohttpd
    /// then closes the connection instead of reading the body); one without a body is sent on the next
    /// call, which keeps the connection alive.
    private func decideFromHead(
        _ connection: OpaquePointer, method: String, version: String, state: RequestState
    ) -> MHD_Result {
        state.method = method
        state.connection = connection
        state.headAt = .now
        let headers = headers(of: connection)
        state.requestID = RequestID.sane(headers["x-request-id"]) ?? requestIDs.next()
        let declared = headers["content-length"].flatMap { Int($0) }
        let head = RequestHead(method: method, target: state.target, headers: headers, declaredLength: declared)
        let decision: HeadDecision
        if let ambiguous = RequestFraming.refusal(
            version: version, targetIsClean: state.targetIsClean,
            headerLinesAreWhole: state.headerLinesAreWhole, headers: headers
        ) {
            // Answered at once and the connection closed: what follows may be another request hidden in it.
            arriving[ObjectIdentifier(state)] = nil
            state.phase = .answered
            return queue(ambiguous.response(route: "(malformed request)"), on: connection, for: state)
        } else if let declared, declared > context.settings.maxBodyBytes {
            decision = .refuse(context.handler.bodyTooLarge(limit: context.settings.maxBodyBytes))
        } else {
            decision = context.handler.head(head)
        }
        switch decision {
        case .refuse(let response):
            arriving[ObjectIdentifier(state)] = nil
            state.phase = .answered
            if head.hasBody { return queue(response, on: connection, for: state) }
            state.pendingResponse = response
        case .accept(let accepted):
            state.phase = .reading
            state.accepted = accepted
            state.headers = headers
            if let declared { state.body.reserveCapacity(declared) }
        }
        return .YES
    }

    private func readBody(
        state: RequestState,
        upload: UnsafePointer<CChar>?,
        uploadSize: UnsafeMutablePointer<Int>
    ) -> MHD_Result {
        let count = uploadSize.pointee
        uploadSize.pointee = 0
        if state.discardedBytes > 0 || state.body.count + count > context.settings.maxBodyBytes {
            // A body of undeclared length grew too large. libmicrohttpd takes no response in the middle of
            // an upload, so the rest is read and dropped, up to a bound, and 413 follows.
            state.body = []
            state.discardedBytes += count
            return state.discardedBytes > Self.maximumDiscardedBytes ? .NO : .YES
        }
        upload?.withMemoryRebound(to: UInt8.self, capacity: count) { bytes in
            state.body.append(contentsOf: UnsafeBufferPointer(start: bytes, count: count))
        }
        return .YES
    }

    /// The last call of a complete request: hand it to the handler, and suspend until it replies.
    private func dispatch(_ connection: OpaquePointer, state: RequestState) -> MHD_Result {
        arriving[ObjectIdentifier(state)] = nil
        if state.discardedBytes > 0 {
            state.phase = .answered
            return queue(context.handler.bodyTooLarge(limit: context.settings.maxBodyBytes), on: connection, for: state)
        }
        state.phase = .waiting
        state.isBeingAnswered = true
        context.requestsBeingAnswered.add(1, ordering: .relaxed)
        let request = HTTPRequest(
            method: state.method ?? "GET", target: state.target, headers: state.headers, body: state.body,
            state: state.accepted, cancellation: state.cancellation)
        state.body = []
        state.accepted = nil
        context.handler.respond(to: request, on: loop) { [self, state] response in
            self.deliver(response, to: state)
        }
        if let response = state.pendingResponse {
            // Replied at once, on this thread.
            state.pendingResponse = nil
            return queue(response, on: connection, for: state)
        }
        suspend(state)
        return .YES
    }

    /// While the request waits for its answer, or its streamed body for more bytes (a watch with nothing
    /// to send), its connection is suspended, and libmicrohttpd does not watch it: the loop does, and when
    /// the client closes its side (before or after the watch begins), cancels the request's work, or cuts
    /// the stream off so that the request ends and the stream is closed at once.
    private func watchForDeparture(_ state: RequestState) {
        guard state.isSuspended, let connection = state.connection, state.watchedSocket < 0 else { return }
        let socket = docstore_mhd_connection_fd(connection)
        guard socket >= 0 else { return }
        state.watchedSocket = socket
        loop.register(socket, for: .peerClosed) { [unowned self, state] readiness in
            guard readiness.failed else { return }
            stopWatching(state)
            if let reader = state.streamReader {
                reader.abort()
                resume(state)
            } else {
                state.cancellation.cancel()
            }
        }
    }

    /// Stops watching the request's socket: before libmicrohttpd takes the connection back.
    private func stopWatching(_ state: RequestState) {
        guard state.watchedSocket >= 0 else { return }
        loop.unregister(state.watchedSocket)
        state.watchedSocket = -1
    }

    private func deliver(_ response: HTTPResponse, to state: RequestState) {
        guard loop.inLoop else {
            loop.execute { [self, state] in self.deliver(response, to: state) }
            return
        }
        guard state.connection != nil else {
            // The client left before the answer was ready: nobody will read its stream.
            if case .stream(let stream) = response.body { stream.close() }
            return
        }
        state.phase = .answered
        state.pendingResponse = response
        resume(state)
    }

    private func suspend(_ state: RequestState) {
        guard let connection = state.connection, !state.isSuspended else { return }
        state.isSuspended = true
        suspended[ObjectIdentifier(state)] = state
        MHD_suspend_connection(connection)
    }

    fileprivate func resume(_ state: RequestState) {
        guard state.isSuspended, let connection = state.connection else { return }
        stopWatching(state)
        state.isSuspended = false
        suspended[ObjectIdentifier(state)] = nil
        MHD_resume_connection(connection)
    }

    fileprivate func finish(_ state: RequestState, reason: MHD_RequestTerminationCode) {
        let duration = ContinuousClock.now - state.started
        if let status = state.status, context.settings.recordsMetrics {
            metrics.record(route: state.route, method: state.method ?? "other", status: status, duration: duration)
        }
        let elapsed = duration.components
        let tenths = elapsed.seconds * 10_000 + (elapsed.attoseconds + 50_000_000_000_000) / 100_000_000_000_000
        context.log.request(
            RequestLogEntry(
                requestID: state.requestID,
                method: state.method,
                route: state.route,
                status: state.status,
                milliseconds: "\(tenths / 10).\(tenths % 10)",
                keyFingerprint: state.keyFingerprint,
                errorCode: state.errorCode,
                endedEarly: state.tooSlow
                    ? "arrived too slowly" : reason == .REQUEST_TERMINATED_COMPLETED_OK ? nil : Self.describe(reason)
            ))
        if state.isSuspended {
            suspended[ObjectIdentifier(state)] = nil
        }
        arriving[ObjectIdentifier(state)] = nil
        stopWatching(state)
        state.connection = nil
        state.streamReader = nil
        if state.isBeingAnswered { context.requestsBeingAnswered.subtract(1, ordering: .relaxed) }
        context.requestsInFlight.subtract(1, ordering: .relaxed)
    }

    private func queue(_ response: HTTPResponse, on connection: OpaquePointer, for state: RequestState) -> MHD_Result {
        state.status = response.status
        state.route = response.route
        state.keyFingerprint = response.keyFingerprint
        let requestID = state.requestID ?? requestIDs.next()
        state.requestID = requestID
        let created: OpaquePointer?
        switch response.body {
        case .bytes(let bytes):
            created = Self.bufferResponse(bytes)
        case .error(let code, let message):
            state.errorCode = code
            created = Self.bufferResponse(HTTPResponse.errorBody(code: code, message: message, requestID: requestID))
        case .stream(let stream) where state.method == "HEAD":
            // libmicrohttpd 0.9.75 ends a chunked answer to HEAD with the last-chunk bytes, which the
            // client would read as the start of its next response. Without chunked framing nothing
            // follows the headers; the connection then closes, as a body of unknown length requires.
            stream.close()
            created = MHD_create_response_from_callback(UInt64.max, stream.blockSize, endOfStream, nil, nil)
            if let created { _ = docstore_mhd_end_by_closing(created) }
        case .stream(let stream):
            let reader = StreamReader(stream, daemon: self, state: state)
            state.streamReader = reader
            let pointer = Unmanaged.passRetained(reader).toOpaque()
            created = MHD_create_response_from_callback(
                UInt64.max,
                stream.blockSize,
                readStream,
                pointer,
                releaseStream
            )
            if created == nil { Unmanaged<StreamReader>.fromOpaque(pointer).release() }
        }
        guard let created else {
            context.log(.error, "libmicrohttpd could not create a response")
            return .NO
        }
        defer { MHD_destroy_response(created) }
        for (name, value) in response.headers {
            MHD_add_response_header(created, name, value)
        }
        MHD_add_response_header(created, "X-Request-Id", requestID)
        if context.draining.load(ordering: .relaxed) {
            MHD_add_response_header(created, "Connection", "close")
        }
        return MHD_queue_response(connection, UInt32(response.status), created)
    }

    private static func bufferResponse(_ bytes: [UInt8]) -> OpaquePointer? {
        bytes.withUnsafeBytes { buffer in
            MHD_create_response_from_buffer(
                buffer.count,
                UnsafeMutableRawPointer(mutating: buffer.baseAddress),
                .RESPMEM_MUST_COPY
            )
        }
    }

    private func headers(of connection: OpaquePointer) -> HTTPHeaders {
        var headers = HTTPHeaders()
        withUnsafeMutablePointer(to: &headers) { pointer in
            _ = MHD_get_connection_values(connection, .HEADER_KIND, collectHeader, pointer)
        }
        return headers
    }

    private static func describe(_ reason: MHD_RequestTerminationCode) -> String {
        switch reason {
        case .REQUEST_TERMINATED_WITH_ERROR: return "error"
        case .REQUEST_TERMINATED_TIMEOUT_REACHED: return "timeout"
        case .REQUEST_TERMINATED_DAEMON_SHUTDOWN: return "shutdown"
        case .REQUEST_TERMINATED_READ_ERROR: return "client went away"
        case .REQUEST_TERMINATED_CLIENT_ABORT: return "client aborted"
        default: return "code \(reason.rawValue)"
        }
    }

    // MARK: Streamed bodies

    /// Suspends the stream's connection until the next chunk arrives.
    fileprivate func waitForChunk(_ state: RequestState) {
        suspend(state)
    }
}

/// One request's state, from its request line to its completion; touched only on its loop's thread,
/// where handler replies are carried by `EventLoop.execute`.
private final class RequestState: @unchecked Sendable {
    enum Phase {
        /// Before the first access-handler call.
        case new
        /// Accepted from its headers; the body is being read.
        case reading
        /// Handed to the handler; the connection is suspended until it replies.
        case waiting
        /// A response is ready (or sent).
        case answered
    }

    let target: String
    /// Whether the target arrived whole, as valid UTF-8 without control characters.
    var targetIsClean: Bool
    /// The address just past the target as libmicrohttpd handed it over (its ending NUL).
    let targetEnd: UInt
    /// Whether every header line arrived whole (no NUL inside a value, no folded line).
    var headerLinesAreWhole = true
    let started = ContinuousClock.now
    var phase = Phase.new
    var method: String?
    var headers = HTTPHeaders()
    var accepted: (any Sendable)?
    var body: [UInt8] = []
    /// Bytes of an oversized body of undeclared length that were read and dropped.
    var discardedBytes = 0
    /// The connection, while the request lives.
    var connection: OpaquePointer?
    var isSuspended = false
    /// The reply, until it is queued.
    var pendingResponse: HTTPResponse?
    var streamReader: StreamReader?
    /// For the access log, once a response is queued.
    var status: Int?
    var route = "-"
    var keyFingerprint: String?
    /// Set from the headers, on the first access-handler call.
    var requestID: String?
    /// The code of an error answer, for the log.
    var errorCode: String?
    /// Whether the request was handed to the handler (and counted in `requestsBeingAnswered`).
    var isBeingAnswered = false
    /// Cancelled when the client leaves while the request waits for its answer.
    let cancellation = Cancellation()
    /// When its head had arrived.
    var headAt: ContinuousClock.Instant?
    /// Whether its connection was closed because its head or body arrived too slowly.
    var tooSlow = false
    /// The connection's socket while the loop watches it for the client leaving; -1 otherwise.
    var watchedSocket: Int32 = -1

    init(target: String, targetIsClean: Bool, targetEnd: UInt) {
        self.target = target
        self.targetIsClean = targetIsClean
        self.targetEnd = targetEnd
    }
}

/// Feeds a `ResponseStream` to libmicrohttpd: hands it what it has, asks the stream for more only when
/// that is used up, and suspends the connection meanwhile. Touched on the loop's thread only.
private final class StreamReader: @unchecked Sendable {
    private let stream: any ResponseStream
    private unowned let daemon: LoopDaemon
    private let state: RequestState
    private var pending: [UInt8] = []
    private var offset = 0
    /// What the stream delivered and the reader has not taken yet.
    private var arrived: ResponseChunk?
    private var asked = false
    private var aborted = false

    init(_ stream: any ResponseStream, daemon: LoopDaemon, state: RequestState) {
        self.stream = stream
        self.daemon = daemon
        self.state = state
    }

    func read(into buffer: UnsafeMutablePointer<CChar>, capacity: Int) -> Int {
        while offset == pending.count {
            if aborted { return -2 }  // MHD_CONTENT_READER_END_WITH_ERROR
            if let chunk = arrived {
                arrived = nil
                switch chunk {
                case .bytes(let bytes):
                    pending = bytes
                    offset = 0
                case .end:
                    return -1  // MHD_CONTENT_READER_END_OF_STREAM
                case .failed:
                    return -2
                }
                continue
            }
            if !asked {
                asked = true
                stream.next { [self] chunk in self.arrive(chunk) }
                if arrived != nil { continue }
            }
            daemon.waitForChunk(state)
            return 0
        }
        let count = min(capacity, pending.count - offset)
        pending.withUnsafeBytes { bytes in
            UnsafeMutableRawPointer(buffer).copyMemory(from: bytes.baseAddress! + offset, byteCount: count)
        }
        offset += count
        return count
    }

    private func arrive(_ chunk: ResponseChunk) {
        guard daemon.loop.inLoop else {
            daemon.loop.execute { [self] in self.arrive(chunk) }
            return
        }
        asked = false
        arrived = chunk
        daemon.resume(state)
    }

    /// Cuts the stream off (the server is stopping); the next read ends the body with an error.
    func abort() {
        aborted = true
    }

    func close() {
        stream.close()
    }
}

// MARK: C callbacks; the context pointer is the LoopDaemon, retained while its daemon runs

private func daemon(_ context: UnsafeMutableRawPointer?) -> LoopDaemon {
    Unmanaged<LoopDaemon>.fromOpaque(context!).takeUnretainedValue()
}

/// Called with the raw request target before the headers are read; its result becomes the request state.
private let requestStarted:
    @convention(c) (
        UnsafeMutableRawPointer?, UnsafePointer<CChar>?, OpaquePointer?
    ) -> UnsafeMutableRawPointer? = { context, uri, connection in
        let target = uri.map(RequestFraming.target) ?? (text: "", isClean: false)
        let end = uri.map { UInt(bitPattern: $0) + UInt(strlen($0)) } ?? 0
        let state = daemon(context).begin(target: target.text, isClean: target.isClean, end: end, connection: connection)
        return Unmanaged.passRetained(state).toOpaque()
    }

private let accessHandler: MHD_AccessHandlerCallback = {
    context, connection, _, method, version, upload, uploadSize, requestContext in
    guard let connection, let method, let uploadSize, let stored = requestContext?.pointee else { return .NO }
    let state = Unmanaged<RequestState>.fromOpaque(stored).takeUnretainedValue()
    if state.phase == .new {
        state.targetIsClean = state.targetIsClean && targetWasWhole(state, version: version)
        state.headerLinesAreWhole = docstore_mhd_header_lines_are_whole(connection, method, version) != 0
    }
    return daemon(context).handle(
        connection,
        method: String(cString: method),
        version: version.map { String(cString: $0) } ?? "",
        state: state,
        upload: upload,
        uploadSize: uploadSize
    )
}

/// Whether libmicrohttpd handed the whole request target to `requestStarted`. It hands it over as a C
/// string, so a raw NUL in it cuts it short (`/a<NUL>b` would read as `/a`). libmicrohttpd 0.9.75 parses
/// the request line in place: the target ends at the NUL it writes over the space before the version,
/// and the version (which it has checked is `HTTP/d.d`) starts right after. A target that ends anywhere
/// else held a NUL of its own.
private func targetWasWhole(_ state: RequestState, version: UnsafePointer<CChar>?) -> Bool {
    guard let version else { return false }
    return UInt(bitPattern: version) == state.targetEnd + 1
}

private let requestCompleted: MHD_RequestCompletedCallback = { context, _, requestContext, reason in
    guard let stored = requestContext?.pointee else { return }
    requestContext?.pointee = nil
    let state = Unmanaged<RequestState>.fromOpaque(stored).takeRetainedValue()
    daemon(context).finish(state, reason: reason)
}

/// libmicrohttpd's own messages (malformed requests, socket errors) as warning lines of the log; but
/// not that a streamed body could not be sent because its client left, which is how every watch ends
/// (the request's own log line says "connection ended early").
private let logLibraryMessage: docstore_mhd_log_callback = { context, message in
    guard let context, let message else { return }
    let text = String(cString: message).trimming(" \n")
    guard !text.hasPrefix("Failed to send the chunked response body") else { return }
    daemon(context).context.log(.warning, "libmicrohttpd: \(text)")
}

private let collectHeader: MHD_KeyValueIterator = { context, _, name, value in
    guard let context, let name else { return .YES }
    let headers = context.assumingMemoryBound(to: HTTPHeaders.self)
    headers.pointee.append(name: String(cString: name), value: value.map { String(cString: $0) } ?? "")
    return .YES
}

/// A reader with nothing to read, for the headers-only answer to HEAD.
private let endOfStream: MHD_ContentReaderCallback = { _, _, _, _ in -1 }  // MHD_CONTENT_READER_END_OF_STREAM

private let readStream: MHD_ContentReaderCallback = { context, _, buffer, capacity in
    guard let context, let buffer else { return -2 }
    return Unmanaged<StreamReader>.fromOpaque(context).takeUnretainedValue().read(into: buffer, capacity: capacity)
}

private let releaseStream: MHD_ContentReaderFreeCallback = { context in
    guard let context else { return }
    Unmanaged<StreamReader>.fromOpaque(context).takeRetainedValue().close()
}
