#if canImport(Glibc)
import Glibc
#endif

/// A value behind a pthread reader-writer lock, for state that every read
/// looks up and few calls change (the table cache, the block cache's
/// shards): readers never wait for each other — a lookup that found its
/// entry costs one shared acquire, and a reader descheduled while holding
/// it stalls no other reader (with a mutex it would stall them all: the
/// futex waits the read-path profile showed). pthread's lock, not a Swift
/// one, so ThreadSanitizer sees it (see RingIO's `Locked`).
final class ReadMostlyLock<Value>: @unchecked Sendable {
    // @unchecked Sendable: `value` is read only inside withReadLock (lock
    // held shared) and written only inside withWriteLock (held exclusive);
    // the rwlock lives in heap memory that never moves.
    private let lock: UnsafeMutablePointer<pthread_rwlock_t>
    private var value: Value

    init(_ value: Value) {
        self.value = value
        lock = .allocate(capacity: 1)
        pthread_rwlock_init(lock, nil)
    }

    deinit {
        pthread_rwlock_destroy(lock)
        lock.deallocate()
    }

    /// `body` may only read: other readers run at the same time.
    @inline(__always)
    func withReadLock<R, E: Error>(_ body: (borrowing Value) throws(E) -> R) throws(E) -> R {
        pthread_rwlock_rdlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body(value)
    }

    @inline(__always)
    func withWriteLock<R, E: Error>(_ body: (inout Value) throws(E) -> R) throws(E) -> R {
        pthread_rwlock_wrlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body(&value)
    }
}
