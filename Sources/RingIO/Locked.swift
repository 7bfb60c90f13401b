#if canImport(Glibc)
import Glibc
#endif

/// A value behind a pthread mutex: the lock RingIO and RingKV use for
/// shared state. It has the shape of Synchronization's `Mutex`, but that
/// one is invisible to ThreadSanitizer on Linux (a correct two-thread
/// `withLock` probe reports a "Swift access race"), which would make
/// `tools/test-tsan` useless; pthread mutexes are intercepted by TSan.
public final class Locked<Value>: @unchecked Sendable {
    // @unchecked Sendable: `value` is only touched inside withLock, with
    // the heap-allocated (never moved) mutex held.
    @usableFromInline let mutex: UnsafeMutablePointer<pthread_mutex_t>
    /// No dynamic exclusivity check: every access is inside `withLock`
    /// with the mutex held, and a nested `withLock` on the same lock would
    /// deadlock before it could overlap (the check only cost time, and
    /// `withLock` is inlined into its callers in other modules).
    @exclusivity(unchecked) @usableFromInline var value: Value

    /// Inlinable and consuming: the caller's value is moved in (no copy
    /// through generic value witnesses).
    @inlinable
    public init(_ value: consuming Value) {
        self.value = consume value
        mutex = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    @inlinable @inline(__always)
    public func withLock<R, E: Error>(_ body: (inout Value) throws(E) -> R) throws(E) -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}
