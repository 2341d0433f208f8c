import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The process's one `LISTEN` connection to PostgreSQL, on a thread of its own: it hears which tracked
/// collections changed, through any replica, once the writing transaction commits, and passes each
/// notification's payload (`ChangeTrackingDDL.payload`, also `DocumentCollection.changeNotificationPayload`) to
/// `heard`. Whenever it starts listening, first or after its connection broke, it calls `heard(nil)`:
/// notifications sent while nobody listened are lost, so every reader must read its changes again. It
/// also does so every `rereadInterval`: behind a transaction pooler (PgBouncer, Supavisor on 6543)
/// `LISTEN` hears nothing, and readers then still see each change within that time.
public final class ChangeListener: Sendable {
    /// Where it listens; nil when it does not (`ChangeListening.off`) and only says "read again" each
    /// `rereadInterval`.
    private let link: DatabaseLink?
    private let heard: @Sendable (String?) -> Void
    private let stopped = Atomic<Bool>(false)
    /// How long one wait for notifications lasts, and so how soon `stop` takes effect.
    private static let waitSlice = Duration.milliseconds(250)
    /// How often readers are told to read again whatever was heard.
    public static let rereadInterval = Duration.seconds(1)

    /// Listens through `database`'s link to PostgreSQL.
    public init(database: DocumentDatabase, heard: @escaping @Sendable (String?) -> Void) {
        self.link = database.listenLink
        self.heard = heard
    }

    /// Starts listening; false when no thread could be made.
    @discardableResult
    public func start() -> Bool {
        BackgroundThread.start { [self] in run() }
    }

    /// Stops listening and closes the connection, within `waitSlice`.
    public func stop() {
        stopped.store(true, ordering: .relaxed)
    }

    private var isStopped: Bool { stopped.load(ordering: .relaxed) }

    private func run() {
        guard let link else { return rereadOnly() }
        while !isStopped {
            let connection: PostgresConnection
            do {
                connection = PostgresConnection(handle: try link.connect(withServerTimeouts: false), usesPreparedStatements: false)
                try connection.execute("LISTEN \(ChangeTrackingDDL.channel)")
            } catch {
                pause(until: link.retryAt)
                continue
            }
            heard(nil)
            var reread = ContinuousClock.now
            do {
                while !isStopped {
                    for payload in try connection.notifications(waitingUpTo: Self.waitSlice) {
                        heard(payload)
                    }
                    if ContinuousClock.now - reread >= Self.rereadInterval {
                        reread = .now
                        heard(nil)
                    }
                }
            } catch {
                link.connectionLost()
            }
        }
    }

    /// Without a `LISTEN` connection: every reader reads again each `rereadInterval`.
    private func rereadOnly() {
        while !isStopped {
            heard(nil)
            pause(until: .now + Self.rereadInterval)
        }
    }

    /// Sleeps until `instant`, or at least a wait slice, in slices so that `stop` is noticed.
    private func pause(until instant: ContinuousClock.Instant) {
        let until = max(instant, .now + Self.waitSlice)
        while !isStopped && ContinuousClock.now < until {
            usleep(UInt32(Self.waitSlice.wholeMilliseconds * 1000))
        }
    }
}
