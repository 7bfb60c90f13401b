import Glibc
import RingIO

/// How a queued writer waits for its group (docs/ARCHITECTURE.md §Write
/// path, "Waiting"): adaptively, as RocksDB's write thread does.
///
/// 1. Poll the state word with a CPU pause, about a microsecond: an
///    unsynced group (a pwrite and a few memtable inserts) often commits
///    within it, and then the writer needed no system call at all.
///    Synced writers skip it (their group waits for an fdatasync).
/// 2. Yield the CPU in a loop, up to `Configuration.spinMicros`: a synced
///    group's fdatasync usually completes within it (`AdaptiveSpin`: it
///    stops when the CPU is wanted elsewhere, and is skipped while recent
///    spins kept running out).
/// 3. Sleep on the word (futex) until the leader changes it; the leader
///    makes the wake-up system call only for a writer that sleeps.
///
/// `spinMicros = 0` (`Options.groupCommitSpinMicros`) skips 1 and 2.
extension CommitPipeline {
    /// Polls of phase 1 (a pause each: roughly 1–4 µs in all).
    static let pausePolls = 128

    /// Waits without `mu` until `writer`'s state is no longer `from`
    /// (spinning first when `spin`), or until `timeoutNanos` passed; returns
    /// the state then (still `from` only after the timeout).
    func awaitChange(of writer: PendingWrite, from: PendingWrite.State, spin: Bool = true,
                     timeoutNanos: UInt64? = nil) -> PendingWrite.State {
        let spinMicros = configuration.spinMicros
        if spin && spinMicros > 0 {
            // A synced writer waits for an fdatasync (100 µs and more):
            // pausing for a microsecond only burns the CPU the leader and
            // the other writers need.
            for _ in 0..<(writer.sync ? 0 : CommitPipeline.pausePolls) {
                if writer.state != from { return writer.state }
                WaitWord.relax()
            }
            if let changed = yieldUntilChange(of: writer, from: from, budgetNanos: UInt64(spinMicros) * 1000) {
                return changed
            }
        }
        return sleepUntilChange(of: writer, from: from, timeoutNanos: timeoutNanos)
    }

    /// Phase 2 (`AdaptiveSpin`); nil when it gave up (budget spent, CPU
    /// wanted, or skipped).
    private func yieldUntilChange(of writer: PendingWrite, from: PendingWrite.State,
                                  budgetNanos: UInt64) -> PendingWrite.State? {
        spin.wait(budgetNanos: budgetNanos) { writer.state != from } ? writer.state : nil
    }

    /// Phase 3: sleeps on the word, announcing it with the sleeping bit.
    private func sleepUntilChange(of writer: PendingWrite, from: PendingWrite.State,
                                  timeoutNanos: UInt64?) -> PendingWrite.State {
        let deadline = timeoutNanos.map { MonotonicClock.nanos() + $0 }
        let sleeping = from.rawValue | PendingWrite.sleepingBit
        while true {
            let word = writer.word.load()
            if word & 0xff != from.rawValue { return writer.state }
            if word & PendingWrite.sleepingBit == 0
                && !writer.word.compareExchange(expected: from.rawValue, desired: sleeping) { continue }
            var left: UInt64?
            if let deadline {
                let now = MonotonicClock.nanos()
                if now >= deadline {
                    // Clear the bit again (unless the state moved meanwhile).
                    _ = writer.word.compareExchange(expected: sleeping, desired: from.rawValue)
                    return writer.state
                }
                left = deadline - now
            }
            writer.word.wait(whileEqualTo: sleeping, timeoutNanos: left)
        }
    }
}
