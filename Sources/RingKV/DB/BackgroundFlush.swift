/// The flush thread's work (docs/ARCHITECTURE.md §Flush): the keyspace
/// whose immutable memtable waits longest (`DBImpl.flushQueue`) is
/// written to an L0 table of that keyspace, one flush at a time.
extension DBImpl {
    /// Flushes `keyspace`'s `imm` without `mu`; after a failure the next
    /// attempt waits 100 ms (the immutable memtable stays readable
    /// meanwhile). Caller holds `mu`, held again on return.
    ///
    /// The flush's edit also moves every idle keyspace — empty memtable,
    /// nothing waiting to flush — up to the current WAL: its tables hold
    /// all it ever wrote, so no older log is kept for it (otherwise a
    /// keyspace written once would pin that log for ever). Flushes run one
    /// at a time (`flushRunning`) and only they move log numbers, so these
    /// never move back; a keyspace dropped meanwhile is left out by
    /// `logAndApply`.
    func flushLocked(_ keyspace: KeyspaceData) {
        mu.assertHeld()
        guard let memtable = keyspace.imm else {
            flushQueue.removeAll { $0 === keyspace }
            return
        }
        flushRunning = true
        let job = FlushJob.Request(keyspace: keyspace, memtable: memtable, logNumber: keyspace.immLogNumber,
                                   options: keyspace.options, currentLogNumber: wal.number,
                                   idleKeyspaces: keyspaceList.filter {
                                       $0 !== keyspace && $0.imm == nil && $0.mem.entryCount == 0 && !$0.dropping
                                   }.map(\.id),
                                   snapshots: snapshots.sequences)
        mu.unlock()
        let started = MonotonicClock.nanos()
        var failure: DBError?
        var flushedTable: FileMetaData?
        do {
            flushedTable = try FlushJob.run(job, db: self)
        } catch {
            failure = error
        }
        mu.lock()
        flushRunning = false
        if case .keyspaceDropped = failure {
            // Dropped while it flushed: the drop took the memtable away.
            wakeAllLocked()
            return
        }
        if let failure {
            backgroundFailure = failure
            stats.flushFailures.add(1)
            flushRetryAtNanos = MonotonicClock.nanos() + 100_000_000
            events.flushFailed(failure, retryInMillis: 100)
            wakeAllLocked()  // writers stalled on this flush see the failure
            return
        }
        backgroundFailure = nil
        flushRetryAtNanos = 0
        let elapsed = MonotonicClock.nanos() - started
        stats.flushes.add(1)
        stats.flushNanos.add(elapsed)
        keyspace.flushes.add(1)
        keyspace.flushBytesWritten.add(flushedTable?.fileSizeBytes ?? 0)
        compaction.loadPhase.flushed(nowNanos: MonotonicClock.nanos(), writes: stats.writes.current,
                                     reads: stats.readsReachingTables)
        events.flushed(tableNumber: flushedTable?.number, entries: memtable.entryCount,
                       tableBytes: flushedTable?.fileSizeBytes ?? 0, durationNanos: elapsed)
        if keyspace.imm === memtable { releaseImmutableLocked(keyspace) }
        wakeAllLocked()  // stalled writers, flushMemtable, compaction workers (L0 grew)
        mu.unlock()
        deleteObsoleteFiles()
        mu.lock()
    }

    /// Lets go of `keyspace`'s immutable memtable (flushed, or dropped with
    /// its keyspace) and its place in the flush queue. Caller holds `mu`.
    func releaseImmutableLocked(_ keyspace: KeyspaceData) {
        mu.assertHeld()
        keyspace.imm = nil
        immutableMemtableBytes -= keyspace.accountedImmutableBytes
        keyspace.accountedImmutableBytes = 0
        flushQueue.removeAll { $0 === keyspace }
    }

    /// Switches `keyspace`'s memtable (if it holds anything) and waits
    /// until it is flushed to an L0 table.
    func flushMemtable(_ keyspace: KeyspaceData) throws(DBError) {
        try pipeline.commit(.switchMemtable, sync: false, keyspace: keyspace === defaultKeyspace ? nil : keyspace,
                            in: self)
        mu.lock()
        defer { mu.unlock() }
        while keyspace.imm != nil {
            if let failure = keyspace.unavailableLocked(in: self, forWrite: false) { throw failure }
            if let failure = backgroundFailure { throw failure }
            if closing { throw DBError.closed }
            mu.wait()
        }
    }

    /// `flushMemtable` of the default keyspace.
    func flushMemtable() throws(DBError) { try flushMemtable(defaultKeyspace) }
}
