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
            configuration is missing or invalid, or PostgreSQL refuses it (TLS verification, authentication).
            """
    )

    func run() throws {
        let (configuration, serverConfiguration) = Environment.serviceConfiguration()
        let log = Log(format: serverConfiguration.logFormat)
        // Block the handled signals before any thread starts, so every thread inherits the mask and
        // only `sigtimedwait` below receives them.
        signal(SIGPIPE, SIG_IGN)
        var handledSignals = sigset_t()
        sigemptyset(&handledSignals)
        for handled in [SIGTERM, SIGINT, SIGHUP] { sigaddset(&handledSignals, handled) }
        pthread_sigmask(SIG_BLOCK, &handledSignals, nil)
        raiseOpenFileLimit(for: serverConfiguration.connectionLimit, log: log)

        let application: DocumentApplication
        do {
            application = try DocumentApplication(
                configuration: configuration, server: serverConfiguration, log: log
            ) { notice in
                log(notice.level == .info ? .info : .warning, notice.message)
            }
        } catch {
            log(.error, "cannot use the database settings: \(error.message)")
            throw ExitCode(2)
        }
        do {
            try application.start()
        } catch {
            log(.error, "\(error)")
            application.database.close()
            throw ExitCode(1)
        }
        log(.info, "listening on http://\(serverConfiguration.host):\(application.port)")
        if let metricsServer = application.metricsServer {
            log(
                .info,
                "metrics and probes without a key on http://\(serverConfiguration.host):\(metricsServer.port) (/metrics, /healthz, /readyz)")
        }
        log(
            .info,
            "\(serverConfiguration.eventLoops) event loops, \(application.workers.threadCount) worker threads")
        do {
            log(
                .info,
                "database ready: PostgreSQL \(try application.database.ping()), schema \(configuration.database.schema)")
        } catch where error.isLinkMisconfiguration {
            // Retrying will not help: say why and stop, so that the deployment shows the failure.
            log(.error, "cannot connect to PostgreSQL: \(error.debugDescription); check the connection settings")
            application.stop()
            throw ExitCode(2)
        } catch {
            log(.warning, "database not reachable yet (\(error.message)); /readyz answers 503 until it is")
        }
        let keys = application.keys
        log(.info, "service keys\(configuration.keyFile.map { " from \($0.path)" } ?? ""): \(keys.summary)")

        let received = waitForShutdown(handledSignals, keys: keys)
        let name = received == SIGTERM ? "SIGTERM" : "SIGINT"
        let grace = serverConfiguration.shutdownGraceSeconds
        log(.info, "\(name): finishing requests in flight (up to \(grace) s)")
        let server = application.server
        server.stopAccepting()
        // Watches would hold the grace period to its end; their clients resume elsewhere.
        application.changes.stop()
        if !server.waitForRequestsInFlight(timeout: .seconds(grace)) {
            let cancelled = application.database.cancelRunningStatements()
            log(.warning, "requests still running after \(grace) s: cancelled \(cancelled) database statements")
            // Cancelled statements end at once and their clients get a retryable 503. Requests still
            // sending their head or body are not waited for: stopping cuts them now.
            if !server.waitForRequestsBeingAnswered(timeout: .seconds(5)) {
                log(.warning, "requests still running; stopping without waiting for them")
            }
        }
        application.stop()
        log(.info, "stopped")
    }

    /// Raises the limit of open files to what `connections` clients need (each is a descriptor), as far as
    /// the hard limit allows, and says so when it cannot.
    private func raiseOpenFileLimit(for connections: Int, log: Log) {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
        let wanted = rlim_t(connections + 256)
        guard limit.rlim_cur < wanted else { return }
        limit.rlim_cur = min(wanted, limit.rlim_max)
        _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        if limit.rlim_cur < wanted {
            log(
                .warning,
                "open files are limited to \(limit.rlim_cur) (ulimit -n): fewer than CONNECTION_LIMIT \(connections) clients fit")
        }
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
