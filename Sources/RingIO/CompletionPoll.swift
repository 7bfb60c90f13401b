import Synchronization

/// How a foreground thread waits for I/O it submitted to a ring: it
/// yields for the completion up to `budgetNanos` (`AdaptiveSpin`) before
/// sleeping on the ring. On a VM the sleep and wake-up around a ~60 µs
/// device read cost ~25 µs of its latency (docs/ARCHITECTURE.md §Waiting
/// for a read).
///
/// Flow: `URingBackend` owns one for its reads (`Options.readPollMicros`)
/// and hands it to `Ring.run`, which submits, calls `wait(on:)`, then does
/// its usual submit-and-wait (at once when the completion came while
/// polling). Threads marked with `rk_thread_set_background` (the engine's
/// flush and compaction threads) never poll, nor does an SQPOLL or
/// split-roles ring. (A synced group's fdatasync does not poll: io_uring
/// runs it on an io-wq thread, and polling for it gained nothing.)
package final class CompletionPoll: Sendable {
    package let budgetNanos: UInt64
    private let spin = AdaptiveSpin()
    /// Waits that polled.
    package let polled = Atomic<Int>(0)

    package init(budgetNanos: UInt64) { self.budgetNanos = budgetNanos }

    /// Yields until `ring` has a completion ready, within the budget.
    func wait(on ring: Ring) {
        polled.add(1, ordering: .relaxed)
        _ = spin.wait(budgetNanos: budgetNanos) { ring.cqReady > 0 }
    }
}
