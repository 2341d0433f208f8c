import CLinux

/// The C heap's free memory that the process still holds.
public enum HeapMemory {
    /// Gives the heap's free pages back to the system. glibc keeps what a thread frees in that thread's
    /// arena, so work that allocates a lot once on many threads (large request bodies, parsed on
    /// workers) otherwise stays in the process's RSS for good.
    public static func releaseFree() {
        _ = malloc_trim(0)
    }
}
