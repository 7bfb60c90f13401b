/// Whether the database is loading: flushes keep coming and reads leave
/// the tables alone. While it is, the picker lets L0 grow to
/// `Options.l0CompactionTriggerWhileLoading` tables before an L0 -> L1
/// compaction (`CompactionPicker.loading`), so each rewrite of L1 takes
/// more L0 tables along and the load writes less; no get pays for the
/// deeper L0, since none reaches the tables.
///
/// How data flows through it: the flush thread reports every installed
/// flush (`flushed`) with the engine's running totals of committed writers
/// (`StatsCounters.writes`) and reads (`readsReachingTables`: a get's
/// lookup of one table, or an iterator made); the scheduler asks
/// `endsAtNanos` before each pick and, while loading, wakes the compaction
/// threads when the phase lapses (`windowNanos` after the last flush with
/// no flush since), so L0 goes back down to `l0CompactionTrigger` once
/// writes pause. Reads since the last flush end the phase at once. Lives
/// in `CompactionState`, guarded by `DBImpl.mu`; flushes at open (WAL
/// replay) do not count: a database is never loading when it opens.
struct LoadPhase {
    /// How long after a flush the database still counts as loading
    /// (tests shorten it).
    var windowNanos: UInt64 = 5_000_000_000
    /// Reads leave the tables alone when, since the flush before, there
    /// was at most one read per this many writes.
    static let writesPerRead: UInt64 = 16

    private var lastFlushNanos: UInt64?
    private var writesAtLastFlush: UInt64 = 0
    private var readsAtLastFlush: UInt64 = 0
    /// The interval that ended at the last flush was free of reads.
    private var readFree = false

    /// A flush was installed at `nowNanos`; `writes` and `reads` are the
    /// engine's totals since open. The interval since the previous flush
    /// (or since open) decides whether reads left the tables alone.
    mutating func flushed(nowNanos: UInt64, writes: UInt64, reads: UInt64) {
        readFree = writes != writesAtLastFlush && Self.readFree(writes: writes &- writesAtLastFlush,
                                                                reads: reads &- readsAtLastFlush)
        lastFlushNanos = nowNanos
        writesAtLastFlush = writes
        readsAtLastFlush = reads
    }

    /// When the loading phase lapses, or nil when the database is not
    /// loading at `nowNanos`: no flush for `windowNanos`, or reads reached
    /// the tables before the last flush or since (totals as for `flushed`).
    func endsAtNanos(nowNanos: UInt64, writes: UInt64, reads: UInt64) -> UInt64? {
        guard readFree, let lastFlushNanos,
              Self.readFree(writes: writes &- writesAtLastFlush, reads: reads &- readsAtLastFlush)
        else { return nil }
        let end = lastFlushNanos &+ windowNanos
        return nowNanos < end ? end : nil
    }

    private static func readFree(writes: UInt64, reads: UInt64) -> Bool { reads <= writes / writesPerRead }
}
