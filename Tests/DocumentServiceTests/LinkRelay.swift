import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A TCP relay on the loopback between the service and the test PostgreSQL, which a test breaks the way
/// real networks break: `freeze` stops forwarding without closing anything (a NAT or a load balancer that
/// dropped the flow: connections, new ones included, go silent), `thaw` resumes; `stop` closes every
/// connection and refuses new ones (PostgreSQL down), `start` listens again on the same port.
final class LinkRelay: @unchecked Sendable {
    // @unchecked: every stored var is used under `lock`.
    let port: Int
    private let upstreamPort: Int
    private let lock = NSLock()
    private var frozen = false
    private var listener: Int32 = -1
    /// Every socket open now, accepted and upstream, so that `stop` can close them.
    private var sockets: Set<Int32> = []

    init(upstreamPort: Int) throws {
        self.upstreamPort = upstreamPort
        let (listener, port) = try Self.listen(port: 0)
        self.port = port
        self.listener = listener
        acceptConnections(on: listener)
    }

    deinit {
        stop()
    }

    /// `url` with its port replaced by the relay's.
    func url(through url: String) -> String {
        url.replacingOccurrences(of: "127.0.0.1:\(upstreamPort)", with: "127.0.0.1:\(port)")
    }

    func freeze() { lock.withLock { frozen = true } }
    func thaw() { lock.withLock { frozen = false } }

    /// Closes every connection and the listening socket (and thaws): connecting is refused until `start`.
    func stop() {
        lock.withLock {
            frozen = false
            // Under the lock, where the pumps close sockets, so that none of these numbers is reused yet.
            // The pumps close the connections' sockets once both directions have ended.
            for socket in sockets { shutdown(socket, Int32(SHUT_RDWR)) }
            if listener >= 0 {
                shutdown(listener, Int32(SHUT_RDWR))
                close(listener)
                listener = -1
            }
        }
    }

    /// Listens again on the relay's port.
    func start() throws {
        let (listener, _) = try Self.listen(port: port)
        lock.withLock { self.listener = listener }
        acceptConnections(on: listener)
    }

    private func acceptConnections(on listener: Int32) {
        Thread.detachNewThread { [self] in
            while true {
                let client = accept(listener, nil, nil)
                guard client >= 0 else { return }
                guard let server = try? Loopback.connect(port: upstreamPort) else {
                    close(client)
                    continue
                }
                lock.withLock {
                    sockets.insert(client)
                    sockets.insert(server)
                }
                let pair = Pair(client: client, server: server)
                Thread.detachNewThread { self.pump(from: client, to: server, pair: pair) }
                Thread.detachNewThread { self.pump(from: server, to: client, pair: pair) }
            }
        }
    }

    /// The two sockets of one relayed connection, closed when both directions have ended.
    private final class Pair: @unchecked Sendable {
        // @unchecked: `ended` is used under the relay's lock.
        let client: Int32
        let server: Int32
        var ended = 0

        init(client: Int32, server: Int32) {
            self.client = client
            self.server = server
        }
    }

    /// Forwards what `source` sends to `destination`, holding it while frozen, until either side closes.
    private func pump(from source: Int32, to destination: Int32, pair: Pair) {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(source, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { break }
            while lock.withLock({ frozen && sockets.contains(source) }) { usleep(5000) }
            guard (try? Loopback.send(Array(buffer[..<count]), on: destination)) != nil else { break }
        }
        shutdown(destination, Int32(SHUT_RDWR))
        shutdown(source, Int32(SHUT_RDWR))
        lock.withLock {
            pair.ended += 1
            guard pair.ended == 2 else { return }
            sockets.remove(pair.client)
            sockets.remove(pair.server)
            close(pair.client)
            close(pair.server)
        }
    }

    private static func listen(port: Int) throws -> (Int32, Int) {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var yes: Int32 = 1
        setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = Loopback.address(port: port)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 && Glibc.listen(socket, 128) == 0
            }
        }
        guard bound else {
            close(socket)
            throw HTTPClient.Failure(description: "the relay cannot listen on port \(port): errno \(errno)")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = getsockname(socket, $0, &length) }
        }
        return (socket, Int(UInt16(bigEndian: address.sin_port)))
    }
}
