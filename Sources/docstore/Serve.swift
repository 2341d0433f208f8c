import ArgumentParser
import DocumentService
import DocumentStore

#if canImport(Glibc)
    import Glibc
#endif

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the HTTP API until SIGTERM or SIGINT.",
        discussion: """
            Listens on HOST:PORT (default 0.0.0.0:8080). On SIGTERM or SIGINT it stops accepting connections, \
            lets requests in flight finish (up to SHUTDOWN_GRACE_SECONDS), closes the database pool and \
            exits 0. SIGHUP, or a change to the file, re-reads SERVICE_KEY_FILE. Exits 2 when the \
            configuration is missing or invalid.
            """
    )

    func run() throws {
        let configuration = try Environment.configuration()
        let log = Log()
        // Block the handled signals before any thread starts, so every thread inherits the mask and
        // only `sigtimedwait` below receives them.
        signal(SIGPIPE, SIG_IGN)
        var handledSignals = sigset_t()
        sigemptyset(&handledSignals)
        for handled in [SIGTERM, SIGINT, SIGHUP] { sigaddset(&handledSignals, handled) }
        pthread_sigmask(SIG_BLOCK, &handledSignals, nil)

        let database: DocumentDatabase
        do {
            database = try DocumentDatabase(settings: configuration.database) { notice in
                log(notice.level == .info ? .info : .warning, notice.message)
            }
        } catch {
            log(.error, "cannot use the database settings: \(error.message)")
            throw ExitCode(2)
        }
        let keys = KeyRing(keys: configuration.accessKeys, file: configuration.keyFile, log: log)
        let api = DocumentAPI(
            database: database,
            configuration: configuration,
            keys: keys,
            openAPIDocument: OpenAPIDocument.json,
            log: log
        )
        let server = HTTPServer(
            settings: HTTPServer.Settings(
                host: configuration.host,
                port: configuration.port,
                maxBodyBytes: configuration.maxBodyBytes,
                connectionLimit: configuration.connectionLimit,
                connectionTimeoutSeconds: configuration.connectionTimeoutSeconds
            ),
            handler: api,
            log: log
        )
        do {
            try server.start()
        } catch {
            log(.error, "\(error)")
            database.close()
            throw ExitCode(1)
        }
        log(.info, "listening on http://\(configuration.host):\(server.port)")
        do {
            log(.info, "database ready: PostgreSQL \(try database.ping()), schema \(configuration.database.schema)")
        } catch {
            log(.warning, "database not reachable yet (\(error.message)); /readyz answers 503 until it is")
        }

        log(.info, "service keys\(configuration.keyFile.map { " from \($0.path)" } ?? ""): \(keys.summary)")

        let received = waitForShutdown(handledSignals, keys: keys)
        let name = received == SIGTERM ? "SIGTERM" : "SIGINT"
        log(.info, "\(name): finishing requests in flight (up to \(configuration.shutdownGraceSeconds) s)")
        server.stopAccepting()
        let grace = configuration.shutdownGraceSeconds
        if !server.waitForRequestsInFlight(timeout: .seconds(grace)) {
            let cancelled = database.cancelRunningStatements()
            log(.warning, "requests still running after \(grace) s: cancelled \(cancelled) database statements")
            guard server.waitForRequestsInFlight(timeout: .seconds(5)) else {
                log(.warning, "requests still running; exiting without waiting for them")
                database.close()
                return
            }
        }
        server.stop()
        database.close()
        log(.info, "stopped")
    }

    /// Waits for SIGTERM or SIGINT and returns it; meanwhile reloads the keys file on SIGHUP, and when it
    /// changes, checking once a second.
    private func waitForShutdown(_ signals: sigset_t, keys: KeyRing) -> Int32 {
        var signals = signals
        var second = timespec(tv_sec: 1, tv_nsec: 0)
        while true {
            let received = sigtimedwait(&signals, nil, &second)
            switch received {
            case SIGHUP: keys.reload(reason: "SIGHUP")
            case SIGTERM, SIGINT: return received
            default: keys.reloadIfChanged()
            }
        }
    }
}
