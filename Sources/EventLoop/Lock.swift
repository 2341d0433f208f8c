#if canImport(Glibc)
    import Glibc
#endif

/// A pthread mutex: a thread that finds it taken sleeps rather than spins (Synchronization's Mutex spins
/// while its holder is preempted, which costs dearly when threads outnumber cores).
public final class Lock: @unchecked Sendable {
    // @unchecked: the pthread mutex is made for use from many threads.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)

    public init() {
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    public func withLock<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }
}
