/// How close waits for the reads in progress (`DBImpl.reading` and
/// `readingAsync`, counted in `activeReads`): asleep on `readsDrained`,
/// woken by the read that brings the count to zero once `shuttingDown`
/// is set — no polling, so close holds no CPU while an async read it
/// waits for is suspended (and, run by the async `close()`, holds no
/// cooperative thread either: DB+Async.swift).
///
/// No wake-up is lost: a read decrements the count and then loads
/// `shuttingDown`, close stores `shuttingDown` and later loads the count
/// (both sequentially consistent), so either the read sees the flag and
/// wakes close under `readsDrained`'s lock, or close sees the count
/// already at zero. Close checks the count with that lock held, and a
/// read takes it to wake, so the wake cannot fall between close's check
/// and its wait.
extension DBImpl {
    /// The end of a read begun in `reading`/`readingAsync`.
    func readFinished() {
        let left = activeReads.subtract(1, ordering: .sequentiallyConsistent).newValue
        if left == 0 && shuttingDown.load(ordering: .sequentiallyConsistent) {
            readsDrained.withLock { readsDrained.broadcast() }
        }
    }

    /// Returns once no read is in progress. Called by close after
    /// `shuttingDown` is set (no new read starts then), without `mu` (a
    /// read that began before close may still need it for its view).
    func waitForActiveReads() {
        readsDrained.withLock {
            while activeReads.load(ordering: .sequentiallyConsistent) > 0 { readsDrained.wait() }
        }
    }
}
