import Glibc
import RingIO
import Synchronization

/// A mutex with a condition variable (pthread), for the places that must
/// wait for a state change: the writer queue and background work. The
/// Synchronization module's `Mutex` has no condition variable.
///
/// Lock rules are checked in debug builds, as LevelDB's
/// `mutex_.AssertHeld()`: a function that needs the lock (named `…Locked`
/// by convention) starts with `assertHeld()`, which traps when the calling
/// thread does not hold it. Debug builds record the owning thread on every
/// lock, unlock and wait; release builds record nothing and `assertHeld`
/// compiles to nothing.
final class Monitor: @unchecked Sendable {
    // @unchecked Sendable: the pthread objects are heap-allocated, never
    // moved, and only touched through pthread calls that are thread-safe;
    // `owner` is an atomic.
    fileprivate let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>
    /// Threads blocked in `wait` (guarded by the mutex), so that a
    /// `broadcast` nobody waits for costs no futex call.
    private var waiters = 0
    #if DEBUG
    /// The thread holding the mutex, 0 when none (debug builds only).
    /// Written by the holder as it takes and gives up the mutex; read by
    /// `isHeldByCurrentThread`, which only compares it with its own
    /// thread, so a relaxed load is enough.
    fileprivate let owner = Atomic<UInt>(0)
    #endif

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

    @inline(__always) func lock() {
        pthread_mutex_lock(mutex)
        noteAcquired()
    }

    @inline(__always) func unlock() {
        noteReleasing()
        pthread_mutex_unlock(mutex)
    }

    /// Waits for a broadcast; the caller holds the lock and re-checks its
    /// condition in a loop.
    @inline(__always) func wait() {
        BlockingCheck.willBlock("condition wait")
        assertHeld()
        waiters += 1
        noteReleasing()
        pthread_cond_wait(condition, mutex)
        noteAcquired()
        waiters -= 1
    }

    /// Waits at most `nanoseconds` for a broadcast.
    func wait(nanoseconds: UInt64) {
        BlockingCheck.willBlock("condition wait")
        assertHeld()
        var deadline = Monitor.deadline(after: nanoseconds)
        waiters += 1
        noteReleasing()
        pthread_cond_timedwait(condition, mutex, &deadline)
        noteAcquired()
        waiters -= 1
    }

    // MARK: - Lock rules (debug builds)

    /// Traps unless the calling thread holds the lock (debug builds; a
    /// no-op in release). The first line of every function documented as
    /// needing it.
    @inline(__always)
    func assertHeld(_ function: StaticString = #function, file: StaticString = #fileID, line: UInt = #line) {
        #if DEBUG
        if !isHeldByCurrentThread {
            preconditionFailure("\(function) needs the lock held by its caller", file: file, line: line)
        }
        #endif
    }

    #if DEBUG
    /// Whether the calling thread holds the lock (debug builds only).
    var isHeldByCurrentThread: Bool { owner.load(ordering: .relaxed) == UInt(pthread_self()) }
    #endif

    @inline(__always) fileprivate func noteAcquired() {
        #if DEBUG
        owner.store(UInt(pthread_self()), ordering: .relaxed)
        #endif
    }

    @inline(__always) fileprivate func noteReleasing() {
        #if DEBUG
        owner.store(0, ordering: .relaxed)
        #endif
    }

    /// Wakes every `wait`er. The caller holds the lock (the waiter count
    /// is read under it).
    @inline(__always) func broadcast() {
        assertHeld()
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
            monitor.assertHeld()
            monitor.noteReleasing()
            pthread_cond_wait(condition, monitor.mutex)
            monitor.noteAcquired()
        }

        func wait(_ monitor: Monitor, nanoseconds: UInt64) {
            BlockingCheck.willBlock("condition wait")
            monitor.assertHeld()
            var deadline = Monitor.deadline(after: nanoseconds)
            monitor.noteReleasing()
            pthread_cond_timedwait(condition, monitor.mutex, &deadline)
            monitor.noteAcquired()
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
        // Waits past ~146 years are cut there: neither the sum nor the
        // seconds may overflow (an option of Int.max milliseconds).
        let total = UInt64(now.tv_nsec) + min(nanoseconds, UInt64(Int64.max / 2))
        return timespec(tv_sec: now.tv_sec + Int(total / 1_000_000_000), tv_nsec: Int(total % 1_000_000_000))
    }

    @inline(__always)
    func withLock<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        lock()
        defer { unlock() }
        return try body()
    }
}
