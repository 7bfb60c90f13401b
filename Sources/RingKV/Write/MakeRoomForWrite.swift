import RingIO

extension DBImpl {
    /// Ensures the memtables have room: switches one (and the WAL) when it
    /// is full, when the memtables together are over their budget
    /// (`memtableToSwitchLocked`, MemoryBudget.swift), or — with `forcing`
    /// — that keyspace's when it holds anything (a flush request). A
    /// switch waits while that keyspace's previous memtable is still being
    /// flushed, while the immutable memtables are over the budget, or
    /// while its L0 is at the stop trigger (write stalls); from the
    /// slowdown trigger on, the leader first sleeps off the delay earlier
    /// groups owe (`WritePacer`, WriteStall.swift). A keyspace whose drop
    /// is queued is never switched or waited for: no compaction picks it
    /// any more, and its drop is queued behind this leader. Called by the
    /// leader with `mu` held.
    func makeRoomForWriteLocked(forcing: KeyspaceData?) throws(DBError) {
        mu.assertHeld()
        var forcing = forcing
        var allowSlowdown = forcing == nil
        var stallStarted: UInt64?
        var stallReason = ""
        var stalledKeyspace = defaultKeyspace
        defer {
            if let stallStarted {
                let waited = MonotonicClock.nanos() - stallStarted
                stats.stalls.add(1)
                stats.stallNanos.add(waited)
                events.stalled(durationNanos: waited, l0Files: level0FileCount(stalledKeyspace), reason: stallReason)
            }
        }
        while true {
            if let failure = walFailure { throw DBError.refusingWrites(after: failure) }
            if allowSlowdown {
                allowSlowdown = false
                let nanos = writePacer.takeSleep()
                if nanos > 0 {
                    slowDownWriterLocked(nanos: nanos)
                    continue
                }
            }
            let target: KeyspaceData
            if let forced = forcing {
                // An empty memtable is not switched; nor is a dropped
                // keyspace's (its memtables are gone) or a dropping one's
                // (it is never compacted again, so a stall on its L0 would
                // never end, and the drop waits behind this leader). The
                // log's unsynced tail is still synced: a returned flush
                // makes every earlier write durable, those of the other
                // keyspaces too (docs/DURABILITY.md).
                if forced.mem.entryCount == 0 || forced.dropped || forced.dropping {
                    if wal.hasUnsyncedWrites { try syncLogLocked() }
                    return
                }
                target = forced
            } else {
                // An empty memtable always takes the batch, however small
                // its size limit is (its arena alone may exceed it). A
                // dropping keyspace is never picked (see above).
                guard let full = memtableToSwitchLocked() else { return }
                target = full
            }
            let stall: String?
            if target.imm != nil {
                if let failure = backgroundFailure { throw failure }
                stall = "previous memtable still flushing"
            } else if immutableBudgetExceededLocked(adding: target) {
                if let failure = backgroundFailure { throw failure }
                stall = "immutable memtables over the memory budget"
            } else if level0Stopped(target) {
                try checkLevel0StopLocked()
                stall = "L0 at its stop trigger"
            } else {
                stall = nil
            }
            if let stall {
                if closing { throw DBError.closed }
                stallStarted = stallStarted ?? MonotonicClock.nanos()
                stallReason = stall
                stalledKeyspace = target
                mu.wait()
                continue
            }
            if wal.hasUnsyncedWrites {
                // The old log's unsynced tail must be durable before any
                // write goes to the new log: a later synced group's
                // fdatasync covers only the new file, so a power loss could
                // otherwise keep later writes and lose earlier ones (no
                // prefix of the acknowledged history). One fdatasync per
                // switch; mu is released meanwhile (this writer leads the
                // queue, so nobody else touches the log).
                try syncLogLocked()
                continue
            }
            // The new log is created (opened, its directory entry synced)
            // without mu, so reads go on meanwhile; this writer leads the
            // queue, so nobody else switches or writes. Once it exists the
            // old log, synced above and never written again, is cut to its
            // written end (its preallocated tail is only space; a failed
            // cut is logged, nothing more): it stays until every keyspace
            // with data in it has flushed, and checkpoints copy it. Done
            // before any group is published in the new log, so a change
            // feed opens the old log as closed only after the cut
            // (ChangeLogReader).
            let number = versions.newFileNumber()
            let oldLog = wal
            let oldLogEndBytes = wal.offsetBytes
            mu.unlock()
            let created = Result { () throws(DBError) in
                try WALWriter.create(dbPath: path, number: number, options: options, backend: backend)
            }
            if case .success = created, let failure = oldLog.truncate(toWrittenEnd: oldLogEndBytes) {
                events.retiredLogNotCut(file: oldLog.path, error: failure)
            }
            mu.lock()
            let newLog = try created.get()
            closedLogSizes.append((oldLog.number, oldLogEndBytes))
            try? oldLog.close()
            wal = newLog
            switchMemtableLocked(target, newLogNumber: newLog.number)
            forcing = nil
            wakeAllLocked()
        }
    }

    /// Makes the WAL's unsynced tail durable, with `mu` released (the
    /// caller leads the writer queue: nobody else touches the log). A
    /// failure makes the database refuse writes, as after any failed WAL
    /// fsync: no retry. Caller holds `mu`; held again on return.
    func syncLogLocked() throws(DBError) {
        mu.assertHeld()
        // After a failed write or sync of this log a second fdatasync may
        // report success for pages the kernel already dropped (Linux
        // clears the error once reported): never sync again.
        if let failure = walFailure { throw DBError.refusingWrites(after: failure) }
        let log = wal
        mu.unlock()
        var failure: DBError?
        do { try log.syncUnsyncedWrites() } catch { failure = error }
        mu.lock()
        if let failure {
            walFailure = walFailure ?? failure
            throw failure
        }
        feed.synced(log: log.number, durableOffset: log.durableBytes)
    }

    /// `keyspace`'s memtable becomes its immutable one, queued for the
    /// flush thread; logs from `newLogNumber` on hold none of it. Caller
    /// holds `mu` and leads the writer queue.
    private func switchMemtableLocked(_ keyspace: KeyspaceData, newLogNumber: UInt64) {
        mu.assertHeld()
        let bytes = keyspace.mem.approximateMemoryUsageBytes
        keyspace.imm = keyspace.mem
        keyspace.immLogNumber = newLogNumber
        keyspace.mem = keyspace.options.makeMemTable()
        activeMemtableBytes -= keyspace.accountedMemtableBytes
        keyspace.accountedMemtableBytes = 0
        keyspace.accountedImmutableBytes = bytes
        immutableMemtableBytes += bytes
        flushQueue.append(keyspace)
    }
}

extension WALWriter {
    /// Creates log `number` in `dbPath` and makes its directory entry durable
    /// (a synced write into a file whose name could vanish is not durable).
    /// Synced groups go through a ring of its own unless the backend is the
    /// POSIX one (io_uring refused, or `Options.forcePosixIO`).
    static func create(dbPath: String, number: UInt64, options: Options,
                       backend: any IOBackend) throws(DBError) -> WALWriter {
        let log = try WALWriter(path: FileNames.log(dbPath, number), number: number,
                                bufferCount: max(options.walBufferCount, 1),
                                bufferSizeBytes: options.walBufferSizeBytes,
                                preallocateStepBytes: options.walPreallocationStepBytes,
                                backend: backend, useRing: !options.forcePosixIO && backend.usesIOUring,
                                seam: options.ioSeam)
        try ioCall(dbPath) { () throws(IOError) in try backend.syncDirectory(dbPath) }
        return log
    }
}
