import Synchronization

/// Replicas (docs/REPLICATION.md §Replicas): a database opened with
/// `Options.replica` takes writes only from `apply`, which commits a
/// primary's `CommittedBatch`es through the normal group commit with the
/// primary's sequence numbers, so the replica's `latestSequence` says
/// where to resume its feed, also after a crash.
///
/// How data flows: `apply` checks that the commits follow each other,
/// turns runs of them into `WriteBatch`es of up to `applyChunkBytes`, and
/// commits each with `replicatedSequence` set; admission
/// (`DBImpl.admitWriteLocked`) refuses it with `DBError.outOfOrder` unless
/// its first sequence is exactly the next one, so a duplicate or a gap
/// changes nothing. Applies of one database run one at a time
/// (`ReplicaApply`), which keeps that check exact.
extension DB {
    /// Applies `commit`, the next batch of the primary's change feed:
    /// `commit.sequence` must be `latestSequence + 1`, else
    /// `DBError.outOfOrder` and nothing changes. Keyspaces it names must
    /// exist on the replica (`DBError.unknownKeyspace` otherwise, nothing
    /// applied) and have a ttl exactly when the primary's has one
    /// (`commit.stampedKeyspaces`; `DBError.invalidArgument` otherwise,
    /// nothing applied); into one with a ttl, a put shorter than its 8-byte
    /// write time or a merge is refused (`DBError.invalidArgument`, nothing
    /// applied), and so is a merge this replica's `Options.mergeOperator`
    /// refuses (none set, or `validate(operand:)` throws) — open a replica
    /// with the primary's operator. Durability as for `write(_:options:)`.
    public func apply(_ commit: CommittedBatch, options: WriteOptions = WriteOptions()) throws(DBError) {
        try apply([commit], options: options)
    }

    /// Applies consecutive commits, many per group commit (the fast way
    /// for a replica that fell behind). They must follow each other and
    /// the first must be `latestSequence + 1`. Applied in chunks of
    /// whole commits: on a failure, `latestSequence` says how far it got.
    public func apply(_ commits: [CommittedBatch], options: WriteOptions = WriteOptions()) throws(DBError) {
        guard impl.options.replica else {
            throw DBError.misuse("apply(_:) needs a database opened with Options.replica")
        }
        var previous: CommittedBatch?
        for commit in commits {
            if commit.changes.isEmpty { throw DBError.misuse("apply(_:) of a batch without changes") }
            // No primary numbers past 56 bits (and `lastSequence + 1` below
            // must not overflow).
            if commit.lastSequence > InternalKey.maxSequenceNumber {
                throw DBError.invalidArgument("apply(_:) of a commit at sequence \(commit.sequence) with "
                                              + "\(commit.changes.count) changes, past the largest sequence "
                                              + "\(InternalKey.maxSequenceNumber)")
            }
            if let previous, commit.sequence != previous.lastSequence + 1 {
                throw DBError.outOfOrder(expected: previous.lastSequence + 1, got: commit.sequence)
            }
            previous = commit
        }
        try impl.replicaApply.withLock { (state: inout ReplicaApply) throws(DBError) in
            // The cached handles hold this DB: kept past the call they
            // would keep it (and its DBImpl, which holds the state) alive.
            defer { state.forgetHandles() }
            var batch = WriteBatch()
            var first: UInt64?
            for commit in commits {
                if first == nil { first = commit.sequence }
                for change in commit.changes {
                    try state.add(change, stamped: commit.stampedKeyspaces, to: &batch, db: self)
                }
                if batch.approximateSizeBytes >= ReplicaApply.chunkBytes, let start = first {
                    try impl.applyReplicated(batch, first: start, sync: options.sync)
                    batch.clear()
                    first = nil
                }
            }
            if let start = first { try impl.applyReplicated(batch, first: start, sync: options.sync) }
        }
    }

    /// `apply(_:options:)` on a thread of its own; the task suspends.
    public func apply(_ commits: [CommittedBatch], options: WriteOptions = WriteOptions()) async throws {
        try await ThreadOffload.run { [self] in try self.apply(commits, options: options) }
    }

    /// `apply(_:options:)` of one commit, on a thread of its own.
    public func apply(_ commit: CommittedBatch, options: WriteOptions = WriteOptions()) async throws {
        try await apply([commit], options: options)
    }
}

/// A replica's apply state: held while one apply runs, so applies are
/// serialized; caches the keyspace handles by name for the length of one
/// apply (`forgetHandles` at its end: a `Keyspace` holds its `DB`).
struct ReplicaApply {
    /// A batch of applied commits is committed once it reaches this size.
    static let chunkBytes = 4 << 20
    private var handles: [String: Keyspace] = [:]

    mutating func forgetHandles() { handles.removeAll(keepingCapacity: true) }

    /// Adds `change` to `batch`; `stamped` names the keyspaces that have a
    /// ttl on the primary (`CommittedBatch.stampedKeyspaces`).
    mutating func add(_ change: Change, stamped: Set<String>, to batch: inout WriteBatch, db: DB) throws(DBError) {
        let name = change.keyspace
        // nil: "default", which never has a ttl.
        let keyspace = try name == KeyspaceName.defaultName ? nil : handle(name, db)
        let hasTTL = keyspace?.data.stampsWriteTime ?? false
        try Self.checkTTL(of: name, primaryHasTTL: stamped.contains(name), replicaHasTTL: hasTTL)
        switch change {
        case .put(_, let key, let value):
            guard let keyspace else { return batch.put(key, value) }
            if hasTTL && value.count < TTLStamp.sizeBytes {
                // Every read and compaction of the key would fail on it.
                throw DBError.invalidArgument(
                    "apply(_:) of a put of \(value.count) bytes into keyspace \"\(name)\", which has a ttl: "
                        + "its values end in their \(TTLStamp.sizeBytes)-byte write time "
                        + "(has the primary's keyspace a ttl?)")
            }
            batch.put(key, value, in: keyspace)
        case .delete(_, let key):
            if let keyspace { batch.delete(key, in: keyspace) } else { batch.delete(key) }
        case .deleteRange(_, let from, let to):
            if let keyspace { batch.deleteRange(from: from, to: to, in: keyspace) } else {
                batch.deleteRange(from: from, to: to)
            }
        case .merge(_, let key, let operand):
            if hasTTL { throw TTLPolicy.mergeRefusal(keyspace: name) }
            // As `DB.merge` would: an operand this replica's operator cannot
            // read (or no operator) would fail every read of the key later.
            try db.impl.checkMergeOperand(key: key, operand)
            if let keyspace { batch.merge(key, operand, in: keyspace) } else { batch.merge(key, operand) }
        }
    }

    /// A keyspace with a ttl stores each value with its write time: applied
    /// into a keyspace without one, the replica would return those 8 bytes
    /// as part of the value; the other way, it would read the value's last
    /// 8 bytes as a write time.
    private static func checkTTL(of name: String, primaryHasTTL: Bool, replicaHasTTL: Bool) throws(DBError) {
        guard primaryHasTTL != replicaHasTTL else { return }
        throw DBError.invalidArgument(
            "apply(_:) into keyspace \"\(name)\", which has \(replicaHasTTL ? "a" : "no") ttl on this replica and "
                + "\(primaryHasTTL ? "a" : "no") ttl on the primary: a replica's keyspace must have a ttl "
                + "exactly when the primary's has one")
    }

    private mutating func handle(_ name: String, _ db: DB) throws(DBError) -> Keyspace {
        if let known = handles[name], !known.data.dropped { return known }
        let opened = try db.existingKeyspace(name)
        handles[name] = opened
        return opened
    }
}

extension DBImpl {
    /// Commits a replica's `batch` whose first operation must take
    /// sequence `first` (checked at admission).
    /// Its limits are those of what a primary stores: values of a TTL
    /// keyspace carry 8 bytes past `Options.maxValueSizeBytes`, batches 8
    /// bytes per put past `Options.maxBatchSizeBytes`; a batch is bounded
    /// by what one WAL record holds.
    func applyReplicated(_ batch: WriteBatch, first: UInt64, sync: Bool) throws(DBError) {
        try batch.validate(valueSlackBytes: TTLStamp.sizeBytes,
                           maxBatchSizeBytes: LogRecord.maxPayloadSize - LogRecord.headerSize)
        try pipeline.commit(.batch(rep: batch.rep, count: batch.count), sync: sync,
                            batchKeyspaces: batch.keyspaces, replicatedSequence: first, in: self)
    }
}
