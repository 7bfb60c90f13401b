import Glibc

/// Back-pressure from L0 on writers (docs/ARCHITECTURE.md §Compaction,
/// "Write stalls"), used by `makeRoomForWrite`:
///
/// - from `l0SlowdownTrigger` L0 tables on, writes are paced (`WritePacer`):
///   a group leader sleeps off the delay the groups before it owe, with
///   `mu` released, handing CPU and disk to compaction;
/// - at `l0StopTrigger` the memtable is not switched: the leader waits until
///   compaction brings L0 below the trigger. The full memtable keeps its
///   size, so memory stays bounded, and `mu` is released while waiting, so
///   flush and compaction keep running.
extension DBImpl {
    /// The most L0 tables any keyspace has (the write pacer's measure).
    var level0FileCount: Int { versions.maxLevel0FileCount }

    /// L0 tables of `keyspace` now.
    func level0FileCount(_ keyspace: KeyspaceData) -> Int {
        versions.current(keyspace: keyspace.id)?.fileCount(0) ?? 0
    }

    /// `keyspace`'s L0 is at the stop trigger: its memtable is not
    /// switched until compaction brings L0 below it (other keyspaces'
    /// writes go on while their memtables have room).
    func level0Stopped(_ keyspace: KeyspaceData) -> Bool {
        level0FileCount(keyspace) >= max(options.l0StopTrigger, 1)
    }

    /// Sleeps `nanos` with `mu` released and counts it. Caller holds `mu`.
    func slowDownWriterLocked(nanos: UInt64) {
        mu.assertHeld()
        mu.unlock()
        let started = MonotonicClock.nanos()
        var request = timespec(tv_sec: Int(nanos / 1_000_000_000), tv_nsec: Int(nanos % 1_000_000_000))
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
        stats.slowdowns.add(1)
        stats.slowdownNanos.add(MonotonicClock.nanos() - started)
        events.slowedDown(l0Files: level0FileCount, trigger: options.l0SlowdownTrigger,
                          slowdownsSoFar: stats.slowdowns.current)
        mu.lock()
    }

    /// Consecutive compaction failures after which writers stopped on L0
    /// get the error instead of waiting on (a full disk would otherwise
    /// stop them forever); one success clears it.
    static let stopFailureThreshold = 3

    /// Throws when a writer waiting for L0 to shrink should give up: the
    /// database is closing, or compaction keeps failing. Caller holds `mu`.
    func checkLevel0StopLocked() throws(DBError) {
        mu.assertHeld()
        if closing { throw DBError.closed }
        if compaction.consecutiveFailures >= DBImpl.stopFailureThreshold, let failure = compaction.failure {
            throw failure
        }
    }
}
