import Synchronization

/// A relaxed counter readable from any thread.
final class Counter: Sendable {
    private let value = Atomic<UInt64>(0)
    @inline(__always) func add(_ n: UInt64) { value.add(n, ordering: .relaxed) }
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
    let stalls = Counter()
    let stallNanos = Counter()
    let userBytesRead = Counter()
    let tableLookups = Counter()

    // MARK: Block cache and batched reads (h2-cache)
    /// `readBatch` calls made by get/multiGet (one per lookup round).
    let lookupReadBatches = Counter()
    /// Data blocks those batches read (identical blocks counted once).
    let lookupBlocksRead = Counter()
}
