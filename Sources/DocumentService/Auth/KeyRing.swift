import DocumentStore
import Synchronization

/// The service keys in force. Every request reads them; `reload` replaces them as a whole from the keys
/// file (`SERVICE_KEY_FILE`), so a key that is in both the old and the new file is never refused.
public final class KeyRing: Sendable {
    private let keys: Mutex<ServiceKeys>
    private let file: KeyFile?
    /// The keys file as it was when last read.
    private let stamp: Mutex<KeyFile.Stamp?>
    private let digester = SHA256Digester()
    private let log: Log

    /// `keys` are in force from the start; `file`, when given, is where `reload` reads new ones.
    public init(keys: [AccessKey], file: KeyFile? = nil, log: Log = Log()) {
        self.keys = Mutex(ServiceKeys(keys, digester: digester))
        self.file = file
        self.stamp = Mutex(file?.stamp())
        self.log = log
    }

    var current: ServiceKeys {
        keys.withLock { $0 }
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
            let loaded = ServiceKeys(try file.load(), digester: digester)
            keys.withLock { $0 = loaded }
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
}
