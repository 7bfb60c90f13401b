/// The database's side of a write (docs/ARCHITECTURE.md §Write path): the
/// entry points validate and hand the write to the commit pipeline
/// (CommitPipeline.swift: queue, leadership, groups); the pipeline calls
/// back here, through `CommitEnvironment`, to admit the write, make room
/// in the memtable (MakeRoomForWrite.swift), reserve the log, write and
/// insert the group (`WALWriter.writeGroup`: a pwrite when no writer of
/// the group asked for sync; write_fixed linked to fdatasync in one
/// io_uring_enter when one did), and publish the new last sequence.
extension DBImpl {
    // MARK: - Entry points

    func write(_ batch: WriteBatch, sync: Bool) throws(DBError) {
        try batch.validate()
        if batch.isEmpty { return }
        try pipeline.commit(.batch(rep: batch.rep, count: batch.count), sync: sync, in: self)
    }

    /// `key` and `value` are the caller's bytes, lent until this returns.
    func put(_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer, sync: Bool) throws(DBError) {
        try WriteBatch.validateSingle(keyBytes: key.count, valueBytes: value.count)
        try pipeline.commit(.put(key: key, value: value), sync: sync, in: self)
    }

    func delete(_ key: UnsafeRawBufferPointer, sync: Bool) throws(DBError) {
        try WriteBatch.validateSingle(keyBytes: key.count, valueBytes: 0)
        try pipeline.commit(.delete(key: key), sync: sync, in: self)
    }

    /// Switches the memtable (if it holds anything) and waits until it is
    /// flushed to an L0 table.
    func flushMemtable() throws(DBError) {
        try pipeline.commit(.switchMemtable, sync: false, in: self)
        mu.lock()
        defer { mu.unlock() }
        while imm != nil {
            if let failure = backgroundFailure { throw failure }
            if closing { throw DBError.closed }
            mu.wait()
        }
    }
}

extension DBImpl: CommitEnvironment {
    /// One group's log, its reservation and the memtable it goes into,
    /// captured under `mu` by the leader.
    struct CommitGroup {
        let log: WALWriter
        let memtable: MemTable
        let reservation: WALWriter.Reservation
        let recordBytes: Int
        let sync: Bool
    }

    func admitWriteLocked() throws(DBError) {
        mu.assertHeld()
        if closed || closing { throw DBError.closed }
        if let failure = walFailure { throw DBError.refusingWrites(after: failure) }
    }

    func makeRoomLocked(forceSwitch: Bool) throws(DBError) {
        mu.assertHeld()
        try makeRoomForWriteLocked(force: forceSwitch)
    }

    var isClosingLocked: Bool {
        mu.assertHeld()
        return closing
    }

    func beginGroupLocked(recordBytes: Int, sync: Bool) -> CommitGroup {
        mu.assertHeld()
        return CommitGroup(log: wal, memtable: mem, reservation: wal.reserve(length: recordBytes, sync: sync),
                           recordBytes: recordBytes, sync: sync)
    }

    /// The memtable is filled once the bytes are on their way (while the
    /// kernel syncs a synced group): its entries carry sequences above
    /// `lastSequence`, so no reader sees them until the group is published
    /// in `finishGroupLocked`. After a WAL failure they stay unpublished:
    /// the DB refuses writes and flushes from then on, so they never reach
    /// a table, and reopening replays only what the log holds.
    func writeGroup(_ group: CommitGroup, first: PendingWrite) throws(DBError) {
        var failure: DBError?
        do throws(DBError) {
            try group.log.writeGroup(sync: group.sync, reservation: group.reservation, encode: { destination in
                var at = 0
                var m: PendingWrite? = first
                while let w = m {
                    at += WriteGroupEncoding.encode(w, into: destination + at)
                    m = w.next
                }
            }, duringIO: {
                var m: PendingWrite? = first
                while let w = m, failure == nil {
                    do throws(DBError) { try MemTableInserter.apply(w, to: group.memtable) } catch { failure = error }
                    m = w.next
                }
            })
        } catch {
            failure = failure ?? error
        }
        if let failure { throw failure }
    }

    func finishGroupLocked(_ group: CommitGroup, lastSequence: SequenceNumber, writers: Int, failure: DBError?) {
        mu.assertHeld()
        group.log.release(group.reservation)
        if let failure {
            walFailure = walFailure ?? failure
            return
        }
        self.lastSequence = lastSequence
        stats.walGroups.add(1)
        if group.sync { stats.walSyncedGroups.add(1) }
        stats.writes.add(UInt64(writers))
        stats.walBytes.add(UInt64(group.recordBytes))
        writePacer.committed(bytes: group.recordBytes, level0Files: level0FileCount,
                             slowdownTrigger: options.l0SlowdownTrigger)
    }
}
