import Synchronization

/// Fault injection for tests: makes the next `n` compactions fail when
/// they finish an output table, as a failed write would (the output is
/// removed, the compaction is retried with back-off).
final class CompactionFaults: Sendable {
    /// Compactions still to fail.
    private let remaining = Atomic<Int>(0)

    func failNext(_ count: Int) { remaining.store(count, ordering: .relaxed) }

    /// True (and one fewer to go) when the caller should fail now.
    func consume() -> Bool {
        var value = remaining.load(ordering: .relaxed)
        while value > 0 {
            let (exchanged, original) = remaining.compareExchange(expected: value, desired: value - 1,
                                                                  ordering: .relaxed)
            if exchanged { return true }
            value = original
        }
        return false
    }

    /// Runs after each step of a manual compaction (tests: to act while the
    /// rest of it has not run yet). Called without mu.
    private let manualStepHook = Mutex<(@Sendable () -> Void)?>(nil)

    func setAfterManualStep(_ hook: (@Sendable () -> Void)?) { manualStepHook.withLock { $0 = hook } }

    func afterManualStep() { manualStepHook.withLock { $0 }?() }
}
