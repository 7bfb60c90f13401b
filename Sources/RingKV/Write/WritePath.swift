/// The database's side of a write (docs/ARCHITECTURE.md §Write path): the
/// entry points validate and hand the write to the commit pipeline
/// (CommitPipeline.swift: queue, leadership, groups); the pipeline calls
/// back here, through `CommitEnvironment`, to admit the write, make room
/// in the memtables (MakeRoomForWrite.swift) or run a keyspace create or
/// drop (KeyspaceLifecycle.swift), reserve the log, write and insert the
/// group (`WALWriter.writeGroup`: a pwrite when no writer of the group
/// asked for sync; write_fixed linked to fdatasync in one io_uring_enter
/// when one did), and publish the new last sequence.
///
/// Keyspaces: a put or delete carries its keyspace (nil for the default
/// one), a batch the keyspaces it names. The leader resolves their
/// memtables once per group, under `mu` (`beginGroupLocked`); a group of
/// the default keyspace alone resolves nothing.
extension DBImpl {
    // MARK: - Entry points

    func write(_ batch: WriteBatch, sync: Bool) throws(DBError) {
        try batch.validate()
        try checkMerges(in: batch)
        try checkDefaultHandles(of: batch)
        if batch.isEmpty {
            if sync { try syncEarlierWrites() }
            return
        }
        let batch = try stampedForTTL(batch)
        try pipeline.commit(.batch(rep: batch.rep, count: batch.count), sync: sync,
                            batchKeyspaces: batch.keyspaces, in: self)
    }

    /// An empty write with `sync: true`: every earlier write becomes
    /// durable, as with any synced write (docs/DURABILITY.md), through
    /// the writer queue, whose leader alone touches the log. A read-only
    /// database has nothing to sync.
    func syncEarlierWrites() throws(DBError) {
        if options.readOnly { return }
        try pipeline.commit(.syncLog, sync: true, in: self)
    }

    /// Refuses a batch naming another database's "default" handle (its
    /// operations carry id 0, so admission would take them for this
    /// database's default); other keyspaces are checked at admission.
    func checkDefaultHandles(of batch: WriteBatch) throws(DBError) {
        if batch.defaultOwners.contains(where: { $0 != identity.id }) {
            throw DBError.unknownKeyspace(name: KeyspaceName.defaultName)
        }
    }

    /// `key` and `value` are the caller's bytes, lent until this returns.
    /// `keyspace` nil: the default keyspace.
    func put(_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer, sync: Bool,
             keyspace: KeyspaceData? = nil) throws(DBError) {
        try WriteBatch.validateSingle(keyBytes: key.count, valueBytes: value.count)
        if let keyspace, keyspace.stampsWriteTime { return try putStamped(key, value, sync: sync, keyspace: keyspace) }
        try pipeline.commit(.put(key: key, value: value), sync: sync, keyspace: keyspace, in: self)
    }

    func delete(_ key: UnsafeRawBufferPointer, sync: Bool, keyspace: KeyspaceData? = nil) throws(DBError) {
        try WriteBatch.validateSingle(keyBytes: key.count, valueBytes: 0)
        try pipeline.commit(.delete(key: key), sync: sync, keyspace: keyspace, in: self)
    }
}

extension DBImpl: CommitEnvironment {
    /// One group's log, its reservation and the memtables it goes into,
    /// captured under `mu` by the leader.
    struct CommitGroup {
        let log: WALWriter
        let memtables: GroupMemtables
        /// The group's members, linked through `next` (measured once the
        /// group is inserted), and whether one names a keyspace other than
        /// "default".
        let first: PendingWrite
        let usesKeyspaces: Bool
        let reservation: WALWriter.Reservation
        let recordBytes: Int
        let sync: Bool
        /// The group's operations, counted at least until past
        /// `WALWriter.syncViaSyscallsMaxOperations` (all that the log
        /// compares).
        let operations: Int
    }

    func admitWriteLocked(_ writer: PendingWrite) throws(DBError) {
        mu.assertHeld()
        if closed || closing { throw DBError.closed }
        if let failure = walFailure { throw DBError.refusingWrites(after: failure) }
        if let keyspace = writer.keyspace, let failure = keyspace.unavailableLocked(in: self, forWrite: true) {
            throw failure
        }
        for keyspace in writer.batchKeyspaces {
            if let failure = keyspace.unavailableLocked(in: self, forWrite: true) { throw failure }
        }
        if case .control(let control) = writer.payload { try admitKeyspaceControlLocked(control) }
        if options.replica && writer.carriesData {
            // Applies are serialized (DB+Replica.swift) and users' writes
            // refused, so the next sequence handed out is this batch's.
            guard let first = writer.replicatedSequence else { throw DBError.readOnly(.replica) }
            let expected = pipeline.allocatedSequence + 1
            if first != expected { throw DBError.outOfOrder(expected: expected, got: first) }
        }
    }

    func makeRoomLocked(for leader: PendingWrite) throws(DBError) {
        mu.assertHeld()
        switch leader.payload {
        case .control(let control):
            try runKeyspaceControlLocked(control)
        case .switchMemtable:
            try makeRoomForWriteLocked(forcing: leader.keyspace ?? defaultKeyspace)
        case .syncLog:
            // Queued before a log failure: refused like any write after it.
            if let failure = walFailure { throw DBError.refusingWrites(after: failure) }
            if wal.hasUnsyncedWrites { try syncLogLocked() }
        case .none, .batch, .put, .delete:
            try makeRoomForWriteLocked(forcing: nil)
        }
    }

    var isClosingLocked: Bool {
        mu.assertHeld()
        return closing
    }

    func beginGroupLocked(first: PendingWrite, recordBytes: Int, sync: Bool, usesKeyspaces: Bool) -> CommitGroup {
        mu.assertHeld()
        // Only batches look memtables up by id: a group of puts and deletes
        // builds no dictionary (an empty literal allocates nothing).
        var others: [UInt32: MemTable] = [:]
        // Whether the group is small enough for the log to skip its ring:
        // its operations, counted past the limit only when the walk
        // resolves memtables anyway (one walk for both).
        var operations = 0
        var member: PendingWrite? = first
        if usesKeyspaces {
            // Admission checked each keyspace; a drop runs only as a leader
            // of its own, after every write queued before it, so all are
            // still live here.
            while let w = member {
                // A writer names a `keyspace` only for a put or delete
                // (PendingWrite.prepare), `batchKeyspaces` only for a batch.
                if let keyspace = w.keyspace {
                    w.targetMemtable = keyspace.mem
                } else {
                    for keyspace in w.batchKeyspaces { others[keyspace.id] = keyspace.mem }
                }
                operations += w.operationCount
                member = w.next
            }
        } else {
            while let w = member, operations <= WALWriter.syncViaSyscallsMaxOperations {
                operations += w.operationCount
                member = w.next
            }
        }
        return CommitGroup(log: wal, memtables: GroupMemtables(defaultMemtable: defaultKeyspace.mem, others: others),
                           first: first, usesKeyspaces: usesKeyspaces,
                           reservation: wal.reserve(length: recordBytes, sync: sync),
                           recordBytes: recordBytes, sync: sync, operations: operations)
    }

    /// The memtables are filled once the bytes are on their way (while the
    /// kernel syncs a synced group): their entries carry sequences above
    /// `lastSequence`, so no reader sees them until the group is published
    /// in `finishGroupLocked`. After a WAL failure they stay unpublished:
    /// the DB refuses writes and flushes from then on, so they never reach
    /// a table, and reopening replays only what the log holds.
    func writeGroup(_ group: CommitGroup, first: PendingWrite) throws(DBError) {
        var failure: DBError?
        do throws(DBError) {
            try group.log.writeGroup(sync: group.sync, reservation: group.reservation,
                                     operations: group.operations, encode: { destination in
                var at = 0
                var m: PendingWrite? = first
                while let w = m {
                    at += WriteGroupEncoding.encode(w, into: destination + at)
                    m = w.next
                }
            }, duringIO: {
                var m: PendingWrite? = first
                while let w = m, failure == nil {
                    do throws(DBError) { try MemTableInserter.apply(w, to: group.memtables) } catch { failure = error }
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
        feed.published(log: group.log.number, endOffset: group.reservation.offset + UInt64(group.reservation.length),
                       lastSequence: lastSequence, durableOffset: group.log.durableBytes)
        measureGroupLocked(first: group.first, usesKeyspaces: group.usesKeyspaces)
        stats.walGroups.add(1)
        if group.sync { stats.walSyncedGroups.add(1) }
        stats.writes.add(UInt64(writers))
        stats.walBytes.add(UInt64(group.recordBytes))
        writePacer.committed(bytes: group.recordBytes, level0Files: level0FileCount,
                             slowdownTrigger: options.l0SlowdownTrigger)
    }
}
