#if canImport(Glibc)
    import Glibc
#endif

/// A pthread mutex with a condition variable on the monotonic clock: threads wait, under the lock,
/// until another signals or a deadline passes.
public final class ConditionLock: @unchecked Sendable {
    // @unchecked: the pthread objects are made for use from many threads.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    public init() {
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    public func lock() {
        pthread_mutex_lock(mutex)
    }

    public func unlock() {
        pthread_mutex_unlock(mutex)
    }

    public func withLock<T>(_ body: () throws -> T) rethrows -> T {
        lock()
        defer { unlock() }
        return try body()
    }

    /// Wakes one waiting thread.
    public func signal() {
        pthread_cond_signal(condition)
    }

    /// Wakes every waiting thread.
    public func broadcast() {
        pthread_cond_broadcast(condition)
    }

    /// A point in time `duration` from now on the clock `wait(until:)` uses.
    public static func deadline(after duration: Duration) -> timespec {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let parts = duration.components
        var nanoseconds = Int(now.tv_nsec) + Int(parts.attoseconds / 1_000_000_000)
        var seconds = Int(now.tv_sec) + Int(parts.seconds) + nanoseconds / 1_000_000_000
        nanoseconds %= 1_000_000_000
        if seconds < 0 { seconds = 0 }
        return timespec(tv_sec: seconds, tv_nsec: nanoseconds)
    }

    /// With the lock held: releases it until signalled or `deadline`, then takes it again.
    /// Returns false when the deadline passed.
    public func wait(until deadline: timespec) -> Bool {
        var deadline = deadline
        return pthread_cond_timedwait(condition, mutex, &deadline) == 0
    }
}
