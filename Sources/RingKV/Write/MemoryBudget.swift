/// Memtable memory across keyspaces (docs/KEYSPACES.md §Memory): each
/// keyspace's memtable is switched when it reaches its own size, and the
/// active memtables together are bounded by `Options.totalMemtableSizeBytes`
/// — over it, the largest one is switched (RocksDB's write buffer
/// manager). Immutable memtables are bounded by the same budget: a switch
/// that would take them over it waits for flushes (unless none is
/// waiting). So 100 keyspaces hold about 2 × the budget, not 100 × 2
/// memtables.
///
/// The leader measures, before each group, the default keyspace's
/// memtable and those other keyspaces that groups wrote to since
/// (`keyspacesToMeasure`): a database with one keyspace pays one atomic
/// load per group, as before keyspaces.
extension DBImpl {
    /// The budget in bytes (`Options.totalMemtableSizeBytes`, or 4 ×
    /// `memtableSizeBytes` when 0).
    var memtableBudgetBytes: Int { options.effectiveTotalMemtableSizeBytes }

    /// The keyspace whose memtable the leader must switch before the next
    /// group, or nil. Caller holds `mu`.
    func memtableToSwitchLocked() -> KeyspaceData? {
        mu.assertHeld()
        var full: KeyspaceData?
        if measureLocked(defaultKeyspace) { full = defaultKeyspace }
        if !keyspacesToMeasure.isEmpty {
            // A full keyspace stays queued until its switch: the leader may
            // sync the WAL or stall before switching and then asks again.
            var stillFull: [KeyspaceData] = []
            for keyspace in keyspacesToMeasure {
                if measureLocked(keyspace) {
                    // A dropping keyspace is never switched (its drop is
                    // queued behind the leader; MakeRoomForWrite.swift).
                    if full == nil && !keyspace.dropping { full = keyspace }
                    stillFull.append(keyspace)
                } else {
                    keyspace.awaitingMeasurement = false
                }
            }
            keyspacesToMeasure = stillFull
        }
        if let full { return full }
        if let holder = keyspaceHoldingOldestLogLocked() { return holder }
        guard activeMemtableBytes > memtableBudgetBytes else { return nil }
        // Over the budget: the largest memtable goes (measured afresh).
        var largest: KeyspaceData?
        var largestBytes = 0
        for keyspace in keyspaceList where !keyspace.dropped && !keyspace.dropping && keyspace.mem.entryCount > 0 {
            _ = measureLocked(keyspace)
            if keyspace.accountedMemtableBytes > largestBytes {
                largest = keyspace
                largestBytes = keyspace.accountedMemtableBytes
            }
        }
        return largest
    }

    /// Counts `keyspace`'s active memtable into `activeMemtableBytes`;
    /// true when it is full (holds something and reached its size).
    @inline(__always)
    private func measureLocked(_ keyspace: KeyspaceData) -> Bool {
        let mem = keyspace.mem
        let bytes = mem.approximateMemoryUsageBytes
        activeMemtableBytes += bytes - keyspace.accountedMemtableBytes
        keyspace.accountedMemtableBytes = bytes
        return bytes >= keyspace.options.memtableSizeBytes && mem.entryCount > 0
    }

    /// Whether switching `keyspace` would take the immutable memtables
    /// over the budget; never when none is waiting (the first switch always
    /// goes, however large). Caller holds `mu`.
    func immutableBudgetExceededLocked(adding keyspace: KeyspaceData) -> Bool {
        mu.assertHeld()
        return immutableMemtableBytes > 0
            && immutableMemtableBytes + keyspace.accountedMemtableBytes > memtableBudgetBytes
    }
}
