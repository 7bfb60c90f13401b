/// Optimistic transactions on a database (docs/TRANSACTIONS.md): begin
/// one, or run a body in one with retries on conflict.
extension DB {
    /// Begins an optimistic transaction reading at a snapshot of now (see
    /// `Transaction`). Its commit is durable as `options` say.
    public func beginTransaction(options: WriteOptions = WriteOptions()) -> Transaction {
        let (sequence, view) = impl.transactionSnapshot()
        return Transaction(db: self, sequence: sequence, view: view, options: options)
    }

    /// Runs `body` in a new transaction and commits it; on
    /// `DBError.conflict` runs it again in a fresh transaction, up to
    /// `maxAttempts` runs in all (then the last conflict is thrown). Any
    /// other error from `body` or the commit rolls back and is thrown.
    /// If `body` commits or rolls back the transaction itself, that stands.
    /// In an async context the async form is chosen, also for a body that
    /// does not suspend (this one is disfavored), so its commit never
    /// blocks a cooperative thread.
    @_disfavoredOverload
    public func transaction<R>(maxAttempts: Int = 10, options: WriteOptions = WriteOptions(),
                               _ body: (Transaction) throws -> R) throws -> R {
        try Self.checkAttempts(maxAttempts)
        var attempt = 0
        while true {
            attempt += 1
            let txn = beginTransaction(options: options)
            do {
                let result = try body(txn)
                try txn.commitIfOpen()
                return result
            } catch DBError.conflict(let key) {
                txn.rollback()
                if attempt >= maxAttempts { throw DBError.conflict(key: key) }
            } catch {
                txn.rollback()
                throw error
            }
        }
    }

    /// The async form of `transaction(maxAttempts:options:_:)`: `body` may
    /// suspend, and the commit goes through the async write path, so no
    /// cooperative thread blocks.
    public func transaction<R>(maxAttempts: Int = 10, options: WriteOptions = WriteOptions(),
                               _ body: (Transaction) async throws -> R) async throws -> R {
        try Self.checkAttempts(maxAttempts)
        var attempt = 0
        while true {
            attempt += 1
            let txn = beginTransaction(options: options)
            do {
                let result = try await body(txn)
                if txn.isOpen { try await txn.commit() }
                return result
            } catch DBError.conflict(let key) {
                txn.rollback()
                if attempt >= maxAttempts { throw DBError.conflict(key: key) }
            } catch {
                txn.rollback()
                throw error
            }
        }
    }

    private static func checkAttempts(_ maxAttempts: Int) throws(DBError) {
        if maxAttempts < 1 {
            throw DBError.invalidOption(name: "maxAttempts", value: String(maxAttempts), allowed: "1 or more")
        }
    }
}

extension DBImpl {
    /// The sequence a new transaction reads at, registered in `snapshots`
    /// (the transaction releases it: no `Snapshot` object unless it needs
    /// one), and the read view of the default keyspace at it (nil when the
    /// database refuses one: its reads then take the usual path, which
    /// says why); the first one activates conflict tracking
    /// (ConflictTable.swift). All under one hold of `mu`, so compaction
    /// sees the registration before it could drop what the view reads.
    func transactionSnapshot() -> (SequenceNumber, TransactionView?) {
        mu.withLock {
            pipeline.conflicts.activateLocked(allocatedSequence: pipeline.allocatedSequence)
            let sequence = lastSequence
            snapshots.retain(sequence)
            // A follower past a catchUp refuses snapshots of generation 0
            // (the transaction's): no view, so its reads say so.
            // Reads of a transaction are written next: the active memtable
            // indexes its keys from now on (MemTablePointIndex.swift), so
            // the reads skip the skiplist search (one atomic load once on;
            // the options are read only then: reading them copies them).
            // Asked before the view is made: binding the view copied it.
            let mem = defaultKeyspace.mem
            if !mem.hasPointIndex { mem.enablePointIndex(memtableBytes: defaultKeyspace.options.memtableSizeBytes) }
            return (sequence, followerGeneration == 0 ? transactionViewLocked() : nil)
        }
    }

    /// What `readViewLocked(ReadOptions())` makes for the default
    /// keyspace, built directly: a transaction's view serves point reads
    /// only (no bounds, no snapshot object to check), so the option
    /// handling is skipped. nil when the database is closing (its reads
    /// then take the usual path, which says so). Caller holds `mu`.
    private func transactionViewLocked() -> TransactionView? {
        mu.assertHeld()
        if closed || closing { return nil }
        return TransactionView(readViewLocked(of: defaultKeyspace, version: versions.current, sequence: lastSequence,
                                              fillCache: true, asyncPrefetch: true, bounds: .unbounded))
    }

    /// Commits a transaction's batch from the calling thread: validated
    /// by the group's leader. A batch without writes is validated here,
    /// under `mu` (it needs no place in the log; with `sync` the log's
    /// unsynced tail is still synced, as for an empty synced write).
    func commitTransactionNow(_ batch: WriteBatch, check: TransactionCheck, sync: Bool) throws(DBError) {
        if batch.isEmpty {
            let conflict = mu.withLock { pipeline.conflicts.conflictLocked(check) }
            if let conflict { throw DBError.conflict(key: conflict) }
            if sync { try syncEarlierWrites() }
            return
        }
        try checkWritable()
        try batch.validate()
        try checkDefaultHandles(of: batch)
        let batch = try stampedForTTL(batch)
        try pipeline.commit(.batch(rep: batch.rep, count: batch.count), sync: sync, batchKeyspaces: batch.keyspaces,
                            check: check, in: self)
    }
}

/// The default keyspace's read view at a transaction's snapshot, taken
/// when the transaction begins (under the same hold of `mu` as its
/// snapshot's registration), so its point reads of that keyspace take no
/// lock of the database. It holds the memtables and the version of that
/// moment until the transaction ends. A class: the transaction's reads
/// share it without copying the view's references. Immutable.
final class TransactionView: Sendable {
    let view: DBImpl.ReadView

    init(_ view: DBImpl.ReadView) { self.view = view }
}
