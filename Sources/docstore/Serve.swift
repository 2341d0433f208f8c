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
            exits 0. Exits 2 when the configuration is missing or invalid.
            """
    )

    func run() throws {
        let configuration = try Environment.configuration()
        let log = Log()
        // Block the shutdown signals before any thread starts, so every thread inherits the mask and
        // only `sigwait` below receives them.
        signal(SIGPIPE, SIG_IGN)
        var shutdownSignals = sigset_t()
        sigemptyset(&shutdownSignals)
        sigaddset(&shutdownSignals, SIGTERM)
        sigaddset(&shutdownSignals, SIGINT)
        pthread_sigmask(SIG_BLOCK, &shutdownSignals, nil)

        let database: DocumentDatabase
        do {
            database = try DocumentDatabase(settings: configuration.database)
        } catch {
            log(.error, "cannot use the database settings: \(error.message)")
            throw ExitCode(2)
        }
        let api = DocumentAPI(
            database: database,
            configuration: configuration,
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

        var received: Int32 = 0
        sigwait(&shutdownSignals, &received)
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
}
