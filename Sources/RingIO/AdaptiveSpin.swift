import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Waiting for something that usually happens within tens of microseconds
/// (a group's fdatasync, a device read) by yielding the CPU in a loop
/// instead of sleeping: a thread that never slept needs no wake-up, which
/// on a VM costs ~25 µs (docs/ARCHITECTURE.md §Waiting for a read).
/// RocksDB's write thread yields adaptively for the same reason.
///
/// `wait(budgetNanos:until:)` checks `done`, yields (sched_yield), and
/// checks again until `done` holds or the budget is spent. Two brakes keep
/// it from stealing CPU that other threads need: a yield that took longer
/// than `slowYieldNanos` ran another thread, and after three such the
/// waiter gives up (and sleeps, which is the caller's business); and
/// `score` (0…16) tracks how well recent waits paid off — each success
/// raises it by one, each give-up lowers it by two, and at 0 only one
/// wait in 64 tries (a disk slower than the budget stops the spinning).
/// The score is a hint: racy updates are fine.
package final class AdaptiveSpin: Sendable {
    private let score = Atomic<Int>(8)
    private let probes = Atomic<Int>(0)

    /// A yield longer than this ran another thread.
    static let slowYieldNanos: UInt64 = 3_000
    static let slowYieldsBeforeGivingUp = 3

    package init() {}

    /// Yields until `done()` is true (returns true) or the budget is spent,
    /// the CPU is wanted elsewhere, or recent waits did not pay (false).
    package func wait(budgetNanos: UInt64, until done: () -> Bool) -> Bool {
        let current = score.load(ordering: .relaxed)
        if current == 0 && probes.add(1, ordering: .relaxed).newValue % 64 != 0 { return false }
        let deadline = MonotonicClock.nanos() + budgetNanos
        var slowYields = 0
        while true {
            if done() {
                score.store(min(current + 1, 16), ordering: .relaxed)
                return true
            }
            let before = MonotonicClock.nanos()
            sched_yield()
            let after = MonotonicClock.nanos()
            if after - before > AdaptiveSpin.slowYieldNanos { slowYields += 1 }
            if after >= deadline || slowYields >= AdaptiveSpin.slowYieldsBeforeGivingUp {
                score.store(max(current - 2, 0), ordering: .relaxed)
                return false
            }
        }
    }
}
