import Synchronization

/// A relaxed counter readable from any thread.
final class Counter: Sendable {
    private let value = Atomic<UInt64>(0)
    @inline(__always) func add(_ n: UInt64) { value.add(n, ordering: .relaxed) }
    var current: UInt64 { value.load(ordering: .relaxed) }
}

/// The largest value reported so far, readable from any thread.
final class PeakGauge: Sendable {
    private let value = Atomic<UInt64>(0)
    func raise(to candidate: UInt64) {
        var current = value.load(ordering: .relaxed)
        while candidate > current {
            let (exchanged, original) = value.compareExchange(expected: current, desired: candidate, ordering: .relaxed)
            if exchanged { return }
            current = original
        }
    }
    var current: UInt64 { value.load(ordering: .relaxed) }
}

/// Engine-wide counters behind `DB.stats()`.
final class StatsCounters: Sendable {
    let walGroups = Counter()
    let walSyncedGroups = Counter()
    let walBytes = Counter()
    let writes = Counter()
    let flushes = Counter()
    let flushFailures = Counter()
    let flushNanos = Counter()
    let flushBytesWritten = Counter()
    /// Most L0 tables seen since open: the count at open, then after every
    /// flush that installed a table.
    let peakL0Files = PeakGauge()
    /// Writers that waited (immutable memtable still flushing, or L0 at
    /// its stop trigger), and for how long.
    let stalls = Counter()
    let stallNanos = Counter()
    /// Sleeps of paced writers (L0 at or past its slowdown trigger).
    let slowdowns = Counter()
    let slowdownNanos = Counter()
    /// Installed compactions (trivial moves included), failed attempts,
    /// and the time, bytes and entries they handled.
    let compactions = Counter()
    let trivialMoves = Counter()
    let compactionFailures = Counter()
    let compactionNanos = Counter()
    let compactionBytesRead = Counter()
    let compactionBytesWritten = Counter()
    let compactionEntriesDropped = Counter()
    let userBytesRead = Counter()
    /// Set once at open (`DBImpl.publish(_:)`): batches replayed from the
    /// WAL, stretches of WAL or MANIFEST dropped, and their bytes (each
    /// kept under `lost/`).
    let recoveryBatchesReplayed = Counter()
    let recoveryDrops = Counter()
    let recoveryDroppedBytes = Counter()
    let tableLookups = Counter()
    /// Iterators made (scans included): with `tableLookups`, the reads
    /// `LoadPhase` watches for.
    let iteratorsMade = Counter()

    // MARK: Block cache and batched reads (h2-cache)
    /// `readBatch` calls made by get/multiGet (one per lookup round).
    let lookupReadBatches = Counter()
    /// Data blocks those batches read (identical blocks counted once).
    let lookupBlocksRead = Counter()
    /// Data blocks user iterators and scans read from table files (alone
    /// or in read-ahead windows and prefetches; not cache hits).
    let iteratorBlocksRead = Counter()
    /// Iterator seeks whose table blocks were read in one batch (`SeekReadBatch`).
    let iteratorSeekBatches = Counter()

    /// Table bytes written into each level: flushes into L0, compactions
    /// into their output level (every output finished, including those of
    /// a compaction discarded afterwards: they reached the file system).
    let levelBytesWritten: [Counter] = (0..<Version.numLevels).map { _ in Counter() }

    /// Table lookups of gets plus iterators made: what `LoadPhase` counts
    /// as reads.
    var readsReachingTables: UInt64 { tableLookups.current &+ iteratorsMade.current }
}
