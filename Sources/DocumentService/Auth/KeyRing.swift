import DocumentStore
import Synchronization

/// The service keys in force. Every request reads them; `reload` replaces them as a whole from the keys
/// file (`SERVICE_KEY_FILE`), so a key that is in both the old and the new file is never refused.
public final class KeyRing: Sendable {
    /// The set in force, read with one atomic load per request: no lock that every request takes.
    private let inForce: Atomic<Unmanaged<KeySet>>
    /// Every set ever put in force, kept alive so that a request that loaded one may use it however
    /// long it takes; reloads are rare, so this stays small. Only `replace` touches it.
    private let everInForce: Mutex<[KeySet]>
    private let file: KeyFile?
    /// The keys file as it was when last read.
    private let stamp: Mutex<KeyFile.Stamp?>
    private let digester = SHA256Digester()
    private let log: Log

    /// `keys` are in force from the start; `file`, when given, is where `reload` reads new ones.
    public init(keys: [AccessKey], file: KeyFile? = nil, log: Log = Log()) {
        let first = KeySet(ServiceKeys(keys, digester: digester))
        inForce = Atomic(Unmanaged.passUnretained(first))
        everInForce = Mutex([first])
        self.file = file
        self.stamp = Mutex(file?.stamp())
        self.log = log
    }

    var current: ServiceKeys {
        inForce.load(ordering: .acquiring).takeUnretainedValue().keys
    }

    /// The keys in force, by fingerprint and scope, e.g. `2 keys: 3f2a9c1b (full), 7d0e4b2a (access=read)`.
    public var summary: String {
        let keys = current
        return "\(keys.count) key\(keys.count == 1 ? "" : "s"): \(keys.summary)"
    }

    /// Reads the keys file again and puts its keys in force. A file that cannot be read or holds a bad line
    /// leaves the keys in force as they were; the log says why. `reason` says what asked, for the log.
    public func reload(reason: String) {
        guard let file else {
            log(.warning, "\(reason): keys come from SERVICE_KEY or SUPABASE_KEY, not a file; nothing to reload")
            return
        }
        let readStamp = file.stamp()
        stamp.withLock { $0 = readStamp }
        do {
            replace(with: ServiceKeys(try file.load(), digester: digester))
            log(.info, "service keys reloaded from \(file.path) (\(reason)): \(summary)")
        } catch {
            log(.error, "service keys not reloaded from \(file.path) (\(reason)): \(error); still in force: \(summary)")
        }
    }

    /// Reloads when the keys file changed since it was last read (a new inode, size or modification time).
    public func reloadIfChanged() {
        guard let file, let now = file.stamp(), now != stamp.withLock({ $0 }) else { return }
        reload(reason: "file changed")
    }

    private func replace(with keys: ServiceKeys) {
        let next = KeySet(keys)
        everInForce.withLock { sets in
            sets.append(next)
            inForce.store(Unmanaged.passUnretained(next), ordering: .releasing)
        }
    }
}

/// One set of keys, as a reference the ring can swap atomically.
private final class KeySet: Sendable {
    let keys: ServiceKeys

    init(_ keys: ServiceKeys) {
        self.keys = keys
    }
}
