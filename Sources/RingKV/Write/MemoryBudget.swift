/// Memtable memory across keyspaces (docs/KEYSPACES.md §Memory): each
/// keyspace's memtable is switched when it reaches its own size, and the
/// active memtables together are bounded by `Options.totalMemtableSizeBytes`
/// — over it, the largest one is switched (RocksDB's write buffer
/// manager). Immutable memtables are bounded by the same budget: a switch
/// that would take them over it waits for flushes (unless none is
/// waiting). So 100 keyspaces hold about 2 × the budget, not 100 × 2
/// memtables.
///
/// The leader that inserted a group measures, right after it (while the
/// memtables' counters are still in its cache), the memtables the group
/// may have written (`measureGroupLocked`): the default keyspace's unless
/// every member is a put or delete in another keyspace, and those of the
/// other keyspaces it names; a full one is queued in `fullKeyspaces` for
/// the next leader's `memtableToSwitchLocked`. A database with one
/// keyspace pays one measurement per group, as before keyspaces; a group
/// of puts in one other keyspace pays one too, and allocates nothing.
extension DBImpl {
    /// The budget in bytes (`Options.totalMemtableSizeBytes`, or 4 ×
    /// `memtableSizeBytes` when 0).
    var memtableBudgetBytes: Int { options.effectiveTotalMemtableSizeBytes }

    /// The keyspace whose memtable the leader must switch before the next
    /// group, or nil. Caller holds `mu`.
    func memtableToSwitchLocked() -> KeyspaceData? {
        mu.assertHeld()
        var full: KeyspaceData?
        if !fullKeyspaces.isEmpty {
            // A full keyspace stays queued until its switch: the leader may
            // sync the WAL or stall before switching and then asks again.
            // Measured afresh: a switch (or a drop) empties it.
            var kept = 0
            for index in fullKeyspaces.indices {
                let keyspace = fullKeyspaces[index]
                if measureLocked(keyspace) {
                    // A dropping keyspace is never switched (its drop is
                    // queued behind the leader; MakeRoomForWrite.swift).
                    if full == nil && !keyspace.dropping { full = keyspace }
                    fullKeyspaces[kept] = keyspace
                    kept += 1
                } else {
                    keyspace.queuedAsFull = false
                }
            }
            fullKeyspaces.removeLast(fullKeyspaces.count - kept)
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

    /// After a group is inserted: measures the memtables it wrote to and
    /// queues the full ones. The default keyspace's is measured when a
    /// member may have written it (a put or delete without a keyspace, or
    /// any batch: a batch names only its other keyspaces); a group of puts
    /// and deletes in other keyspaces measures just theirs. `first`: the
    /// group's members, linked through `next`; `usesKeyspaces`: one names
    /// another keyspace. Caller holds `mu` and leads the writer queue.
    func measureGroupLocked(first: PendingWrite, usesKeyspaces: Bool) {
        mu.assertHeld()
        guard usesKeyspaces else {
            measureWrittenLocked(defaultKeyspace)
            return
        }
        var writesDefault = false
        var member: PendingWrite? = first
        while let w = member {
            if let keyspace = w.keyspace {
                measureWrittenLocked(keyspace)
            } else {
                writesDefault = true
                for keyspace in w.batchKeyspaces { measureWrittenLocked(keyspace) }
            }
            member = w.next
        }
        if writesDefault { measureWrittenLocked(defaultKeyspace) }
    }

    @inline(__always)
    private func measureWrittenLocked(_ keyspace: KeyspaceData) {
        if measureLocked(keyspace) && !keyspace.queuedAsFull {
            keyspace.queuedAsFull = true
            fullKeyspaces.append(keyspace)
        }
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
