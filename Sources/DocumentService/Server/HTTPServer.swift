import CMicroHTTPD
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// An HTTP/1.1 server on libmicrohttpd that hands each complete request to an `HTTPHandler`.
///
/// Threading model: one thread per connection. Handlers block on PostgreSQL (libpq is synchronous),
/// and in libmicrohttpd's epoll thread pool a handler that blocks stalls every other connection that
/// pool thread serves, so one slow query would delay unrelated clients. With a thread per connection a
/// slow query holds only its own client; the database pool bounds how many queries run at once and
/// `connectionLimit` bounds the threads. A request's state (its body buffer, its response stream) is
/// created, used and freed on its connection's thread only.
///
/// This is the only file that touches libmicrohttpd.
public final class HTTPServer: @unchecked Sendable {
    public struct Settings: Sendable {
        /// Address to listen on: an IPv4 or IPv6 literal or a host name.
        public var host: String
        /// Port to listen on; 0 picks a free one (see `port`).
        public var port: Int
        /// Largest request body accepted; larger gets the handler's 413.
        public var maxBodyBytes: Int
        /// Most connections open at once (each has a thread); more are refused at accept.
        public var connectionLimit: Int
        /// Seconds a connection may stay idle (between or within requests) before it is closed.
        public var connectionTimeoutSeconds: Int

        public init(host: String, port: Int, maxBodyBytes: Int, connectionLimit: Int, connectionTimeoutSeconds: Int) {
            self.host = host
            self.port = port
            self.maxBodyBytes = maxBodyBytes
            self.connectionLimit = connectionLimit
            self.connectionTimeoutSeconds = connectionTimeoutSeconds
        }
    }

    private let settings: Settings
    private let handler: any HTTPHandler
    fileprivate let log: Log
    /// The running daemon; libmicrohttpd's quiesce and stop may be called from any thread.
    private struct Daemon: @unchecked Sendable {
        let pointer: OpaquePointer
    }

    /// The daemon, set by `start()` and taken by `stop()`.
    private let daemon = Mutex<Daemon?>(nil)
    /// Requests between their request line and their completion. Atomic rather than locked: every
    /// request of every connection thread touches it twice.
    private let requestsInFlight = Atomic<Int>(0)
    /// Set once the server stops accepting connections.
    private let draining = Atomic<Bool>(false)

    /// The port the server listens on, known after `start()`.
    public private(set) var port = 0

    /// Where libmicrohttpd sends its own messages; lives as long as the server.
    private let logger: UnsafeMutablePointer<docstore_mhd_logger>

    public init(settings: Settings, handler: any HTTPHandler, log: Log = Log()) {
        self.settings = settings
        self.handler = handler
        self.log = log
        logger = .allocate(capacity: 1)
        logger.initialize(to: docstore_mhd_logger(callback: logLibraryMessage, context: nil))
    }

    deinit {
        logger.deallocate()
    }

    /// Binds the address and starts serving on background threads.
    public func start() throws(HTTPServerError) {
        let context = Unmanaged.passUnretained(self).toOpaque()
        logger.pointee.context = context
        let started: OpaquePointer? = try withSocketAddress(settings.host, port: settings.port) {
            (address, isIPv6) throws(HTTPServerError) in
            var flags =
                MHD_USE_AUTO.rawValue | MHD_USE_INTERNAL_POLLING_THREAD.rawValue
                | MHD_USE_THREAD_PER_CONNECTION.rawValue | MHD_USE_ITC.rawValue | MHD_USE_ERROR_LOG.rawValue
            if isIPv6 { flags |= MHD_USE_IPv6.rawValue }
            return docstore_mhd_start(
                flags,
                address,
                accessHandler,
                context,
                requestStarted,
                context,
                requestCompleted,
                context,
                logger,
                UInt32(clamping: settings.connectionLimit),
                UInt32(clamping: settings.connectionTimeoutSeconds),
                Self.connectionMemoryLimit
            )
        }
        guard let started else {
            throw HTTPServerError("cannot listen on \(settings.host):\(settings.port) (in use, or not an address here)")
        }
        daemon.withLock { $0 = Daemon(pointer: started) }
        port = Int(docstore_mhd_bound_port(started))
    }

    /// Stops accepting connections; connections already open are served until `stop()`, and their
    /// responses carry `Connection: close`.
    public func stopAccepting() {
        daemon.withLock { daemon in
            guard let daemon, !draining.exchange(true, ordering: .sequentiallyConsistent) else { return }
            let listener = MHD_quiesce_daemon(daemon.pointer)
            if listener >= 0 { close(listener) }
        }
    }

    /// Waits until no request is in flight, for at most `timeout`; returns whether none is.
    public func waitForRequestsInFlight(timeout: Duration) -> Bool {
        let deadline = ContinuousClock.now + timeout
        while requestsInFlight.load(ordering: .sequentiallyConsistent) > 0 {
            guard ContinuousClock.now < deadline else { return false }
            usleep(10_000)
        }
        return true
    }

    /// Closes every connection and stops the server's threads; a request still in flight is waited for.
    public func stop() {
        let stopping = daemon.withLock { daemon in
            defer { daemon = nil }
            return daemon
        }
        if let stopping { MHD_stop_daemon(stopping.pointer) }
    }

    /// Per-connection memory for the request line, headers and read buffer. libmicrohttpd zeroes all
    /// of it for every request, so it is kept small: request lines and headers up to about 15 KiB fit,
    /// longer get libmicrohttpd's 414 or 431, and a filter that long belongs in a `:find` body.
    private static let connectionMemoryLimit = 16 * 1024
    /// Bytes of an oversized chunked body read and dropped before the connection is closed instead.
    private static let maximumDiscardedBytes = 64 << 20
    /// Bytes handed to a streamed response's reader at a time.
    fileprivate static let streamBlockSize = 64 * 1024

    // MARK: Request life cycle, each step on the connection's own thread

    fileprivate func begin(target: String) -> RequestState {
        requestsInFlight.add(1, ordering: .sequentiallyConsistent)
        return RequestState(target: target)
    }

    fileprivate func handle(
        _ connection: OpaquePointer,
        method: String,
        state: RequestState,
        upload: UnsafePointer<CChar>?,
        uploadSize: UnsafeMutablePointer<Int>
    ) -> MHD_Result {
        if state.method == nil {
            // First call: headers only. Answering now would make libmicrohttpd close the connection,
            // so only an oversized body is refused here, before it is read.
            state.method = method
            let declared = header(connection, "Content-Length").flatMap { Int($0) }
            if let declared, declared > settings.maxBodyBytes {
                return queue(handler.bodyTooLarge(limit: settings.maxBodyBytes), on: connection, for: state)
            }
            if let declared { state.body.reserveCapacity(declared) }
            return .YES
        }
        if uploadSize.pointee > 0 {
            let count = uploadSize.pointee
            uploadSize.pointee = 0
            if state.discardedBytes > 0 || state.body.count + count > settings.maxBodyBytes {
                // A body of undeclared length grew too large. libmicrohttpd takes no response in the
                // middle of an upload, so the rest is read and dropped, up to a bound, and 413 follows.
                state.body = []
                state.discardedBytes += count
                return state.discardedBytes > Self.maximumDiscardedBytes ? .NO : .YES
            }
            upload?.withMemoryRebound(to: UInt8.self, capacity: count) { bytes in
                state.body.append(contentsOf: UnsafeBufferPointer(start: bytes, count: count))
            }
            return .YES
        }
        guard state.status == nil else { return .YES }
        if state.discardedBytes > 0 {
            return queue(handler.bodyTooLarge(limit: settings.maxBodyBytes), on: connection, for: state)
        }
        let request = HTTPRequest(
            method: method, target: state.target, headers: headers(of: connection), body: state.body)
        state.body = []
        return queue(handler.respond(to: request), on: connection, for: state)
    }

    fileprivate func finish(_ state: RequestState, reason: MHD_RequestTerminationCode) {
        let elapsed = (ContinuousClock.now - state.started).components
        let tenths = elapsed.seconds * 10_000 + (elapsed.attoseconds + 50_000_000_000_000) / 100_000_000_000_000
        let rounded = "\(tenths / 10).\(tenths % 10)"
        var line =
            state.method == nil
            ? "(malformed request) - \(rounded)ms"
            : "\(state.method ?? "-") \(state.route) \(state.status.map(String.init) ?? "-") \(rounded)ms"
        if let key = state.keyFingerprint {
            line += " key=\(key)"
        }
        if reason != .REQUEST_TERMINATED_COMPLETED_OK {
            line += " (connection ended early: \(Self.describe(reason)))"
        }
        log(.info, line)
        requestsInFlight.subtract(1, ordering: .sequentiallyConsistent)
    }

    private func queue(_ response: HTTPResponse, on connection: OpaquePointer, for state: RequestState) -> MHD_Result {
        state.status = response.status
        state.route = response.route
        state.keyFingerprint = response.keyFingerprint
        let created: OpaquePointer?
        switch response.body {
        case .bytes(let bytes):
            created = bytes.withUnsafeBytes { buffer in
                MHD_create_response_from_buffer(
                    buffer.count,
                    UnsafeMutableRawPointer(mutating: buffer.baseAddress),
                    .RESPMEM_MUST_COPY
                )
            }
        case .stream(let stream) where state.method == "HEAD":
            // libmicrohttpd 0.9.75 ends a chunked answer to HEAD with the last-chunk bytes, which the
            // client would read as the start of its next response. Without chunked framing nothing
            // follows the headers; the connection then closes, as a body of unknown length requires.
            stream.close()
            created = MHD_create_response_from_callback(UInt64.max, Self.streamBlockSize, endOfStream, nil, nil)
            if let created { _ = docstore_mhd_end_by_closing(created) }
        case .stream(let stream):
            let reader = Unmanaged.passRetained(StreamReader(stream)).toOpaque()
            created = MHD_create_response_from_callback(
                UInt64.max,
                Self.streamBlockSize,
                readStream,
                reader,
                releaseStream
            )
            if created == nil { Unmanaged<StreamReader>.fromOpaque(reader).release() }
        }
        guard let created else {
            log(.error, "libmicrohttpd could not create a response")
            return .NO
        }
        defer { MHD_destroy_response(created) }
        for (name, value) in response.headers {
            MHD_add_response_header(created, name, value)
        }
        if draining.load(ordering: .relaxed) {
            MHD_add_response_header(created, "Connection", "close")
        }
        return MHD_queue_response(connection, UInt32(response.status), created)
    }

    private func header(_ connection: OpaquePointer, _ name: String) -> String? {
        MHD_lookup_connection_value(connection, .HEADER_KIND, name).map { String(cString: $0) }
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
}

/// Why the server could not start.
public struct HTTPServerError: Error, CustomStringConvertible {
    public let description: String

    init(_ description: String) {
        self.description = description
    }
}

/// One request's state, from its request line to its completion; touched only by its connection's thread.
private final class RequestState {
    let target: String
    let started = ContinuousClock.now
    /// Set on the first access-handler call.
    var method: String?
    var body: [UInt8] = []
    /// Bytes of an oversized body of undeclared length that were read and dropped.
    var discardedBytes = 0
    /// Set once a response is queued.
    var status: Int?
    var route = "-"
    var keyFingerprint: String?

    init(target: String) {
        self.target = target
    }
}

/// Feeds a `ResponseStream` to libmicrohttpd in blocks, on the connection's thread.
private final class StreamReader {
    private let stream: any ResponseStream
    private var pending: [UInt8] = []
    private var offset = 0

    init(_ stream: any ResponseStream) {
        self.stream = stream
    }

    func read(into buffer: UnsafeMutablePointer<CChar>, capacity: Int) -> Int {
        while offset == pending.count {
            switch stream.nextChunk() {
            case .bytes(let bytes):
                pending = bytes
                offset = 0
            case .end:
                return -1  // MHD_CONTENT_READER_END_OF_STREAM
            case .failed:
                return -2  // MHD_CONTENT_READER_END_WITH_ERROR
            }
        }
        let count = min(capacity, pending.count - offset)
        pending.withUnsafeBytes { bytes in
            UnsafeMutableRawPointer(buffer).copyMemory(from: bytes.baseAddress! + offset, byteCount: count)
        }
        offset += count
        return count
    }

    func close() {
        stream.close()
    }
}

// MARK: C callbacks; the context pointer is the HTTPServer, which outlives its daemon

private func server(_ context: UnsafeMutableRawPointer?) -> HTTPServer {
    Unmanaged<HTTPServer>.fromOpaque(context!).takeUnretainedValue()
}

/// Called with the raw request target before the headers are read; its result becomes the request state.
private let requestStarted:
    @convention(c) (
        UnsafeMutableRawPointer?, UnsafePointer<CChar>?, OpaquePointer?
    ) -> UnsafeMutableRawPointer? = { context, uri, _ in
        let state = server(context).begin(target: uri.map { String(cString: $0) } ?? "")
        return Unmanaged.passRetained(state).toOpaque()
    }

private let accessHandler: MHD_AccessHandlerCallback = {
    context, connection, _, method, _, upload, uploadSize, requestContext in
    guard let connection, let method, let uploadSize, let stored = requestContext?.pointee else { return .NO }
    let state = Unmanaged<RequestState>.fromOpaque(stored).takeUnretainedValue()
    return server(context).handle(
        connection,
        method: String(cString: method),
        state: state,
        upload: upload,
        uploadSize: uploadSize
    )
}

private let requestCompleted: MHD_RequestCompletedCallback = { context, _, requestContext, reason in
    guard let stored = requestContext?.pointee else { return }
    requestContext?.pointee = nil
    let state = Unmanaged<RequestState>.fromOpaque(stored).takeRetainedValue()
    server(context).finish(state, reason: reason)
}

/// libmicrohttpd's own messages (malformed requests, socket errors) as warning lines of the log.
private let logLibraryMessage: docstore_mhd_log_callback = { context, message in
    guard let context, let message else { return }
    server(context).log(.warning, "libmicrohttpd: \(String(cString: message).trimming(" \n"))")
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

/// Resolves `host` (numerically or by name) and calls `body` with the first address found.
private func withSocketAddress<T>(
    _ host: String,
    port: Int,
    _ body: (UnsafePointer<sockaddr>, Bool) throws(HTTPServerError) -> T
) throws(HTTPServerError) -> T {
    var hints = addrinfo()
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
    hints.ai_family = AF_UNSPEC
    hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
    var list: UnsafeMutablePointer<addrinfo>?
    let status = getaddrinfo(host, String(port), &hints, &list)
    guard status == 0, let first = list, let address = first.pointee.ai_addr else {
        throw HTTPServerError("cannot resolve the listen address '\(host)': \(String(cString: gai_strerror(status)))")
    }
    defer { freeaddrinfo(list) }
    return try body(UnsafePointer(address), first.pointee.ai_family == AF_INET6)
}
