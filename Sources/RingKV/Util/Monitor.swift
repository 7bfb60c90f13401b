import Glibc
import RingIO

/// A mutex with a condition variable (pthread), for the places that must
/// wait for a state change: the writer queue and background work. The
/// Synchronization module's `Mutex` has no condition variable.
final class Monitor: @unchecked Sendable {
    // @unchecked Sendable: the pthread objects are heap-allocated, never
    // moved, and only touched through pthread calls that are thread-safe.
    fileprivate let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>
    /// Threads blocked in `wait` (guarded by the mutex), so that a
    /// `broadcast` nobody waits for costs no futex call.
    private var waiters = 0

    init() {
        mutex = .allocate(capacity: 1)
        condition = .allocate(capacity: 1)
        // Adaptive: a thread that finds the mutex held spins briefly before
        // sleeping — the critical sections here are a few hundred
        // nanoseconds, shorter than a futex sleep and wake-up.
        var attributes = pthread_mutexattr_t()
        pthread_mutexattr_init(&attributes)
        pthread_mutexattr_settype(&attributes, Int32(PTHREAD_MUTEX_ADAPTIVE_NP))
        pthread_mutex_init(mutex, &attributes)
        pthread_mutexattr_destroy(&attributes)
        Monitor.initMonotonic(condition)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        condition.deallocate()
    }

    @inline(__always) func lock() { pthread_mutex_lock(mutex) }
    @inline(__always) func unlock() { pthread_mutex_unlock(mutex) }

    /// Waits for a broadcast; the caller holds the lock and re-checks its
    /// condition in a loop.
    @inline(__always) func wait() {
        BlockingCheck.willBlock("condition wait")
        waiters += 1
        pthread_cond_wait(condition, mutex)
        waiters -= 1
    }

    /// Waits at most `nanoseconds` for a broadcast.
    func wait(nanoseconds: UInt64) {
        BlockingCheck.willBlock("condition wait")
        var deadline = Monitor.deadline(after: nanoseconds)
        waiters += 1
        pthread_cond_timedwait(condition, mutex, &deadline)
        waiters -= 1
    }

    /// Wakes every `wait`er. The caller holds the lock (the waiter count
    /// is read under it).
    @inline(__always) func broadcast() {
        if waiters > 0 { pthread_cond_broadcast(condition) }
    }

    /// A condition variable of its own, used with this monitor's mutex, for
    /// waking one particular thread (a queued writer) instead of all.
    final class Condition: @unchecked Sendable {
        // @unchecked Sendable: as for Monitor, the pthread object is
        // heap-allocated and only used through thread-safe pthread calls.
        private let condition: UnsafeMutablePointer<pthread_cond_t>

        init() {
            condition = .allocate(capacity: 1)
            Monitor.initMonotonic(condition)
        }

        deinit {
            pthread_cond_destroy(condition)
            condition.deallocate()
        }

        /// The caller holds `monitor`'s lock and re-checks in a loop.
        @inline(__always) func wait(_ monitor: Monitor) {
            BlockingCheck.willBlock("condition wait")
            pthread_cond_wait(condition, monitor.mutex)
        }

        func wait(_ monitor: Monitor, nanoseconds: UInt64) {
            BlockingCheck.willBlock("condition wait")
            var deadline = Monitor.deadline(after: nanoseconds)
            pthread_cond_timedwait(condition, monitor.mutex, &deadline)
        }

        @inline(__always) func signal() { pthread_cond_signal(condition) }

        @inline(__always) func broadcast() { pthread_cond_broadcast(condition) }
    }

    /// A condition variable whose timed waits measure CLOCK_MONOTONIC: a
    /// wall-clock step (NTP, an administrator) neither stretches nor cuts
    /// the group-commit gather wait or a retry back-off.
    fileprivate static func initMonotonic(_ condition: UnsafeMutablePointer<pthread_cond_t>) {
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    /// The absolute CLOCK_MONOTONIC time `nanoseconds` from now (the clock
    /// every condition variable here waits on).
    static func deadline(after nanoseconds: UInt64) -> timespec {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let total = UInt64(now.tv_nsec) + nanoseconds
        return timespec(tv_sec: now.tv_sec + Int(total / 1_000_000_000), tv_nsec: Int(total % 1_000_000_000))
    }

    @inline(__always)
    func withLock<R>(_ body: () throws -> R) rethrows -> R {
        lock()
        defer { unlock() }
        return try body()
    }
}
