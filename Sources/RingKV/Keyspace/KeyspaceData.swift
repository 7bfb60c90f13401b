/// One live keyspace of an open database (RocksDB's ColumnFamilyData):
/// its memtables, its options, and its place in flushing and compaction
/// (docs/KEYSPACES.md). Its tables, log number and compact pointers live
/// in the `VersionSet` under its `id`.
///
/// How data flows through it: a write's leader inserts into `mem` (the
/// group's keyspaces are resolved once per group, under `mu`); a full
/// `mem` becomes `imm` when the leader switches it (rolling the WAL) and
/// joins `DBImpl.flushQueue`; the flush thread writes `imm` to an L0 table
/// of this keyspace and clears it; compactions of this keyspace run on its
/// version alone. Readers take `mem`, `imm` and the version under `mu`
/// (`DBImpl.readView`).
///
/// A dropped keyspace's object lives on in the handles and iterators that
/// hold it: `dropped` makes every new call through it fail, while readers
/// that already took a view keep reading (their `Version` keeps its tables
/// on disk).
final class KeyspaceData: @unchecked Sendable {
    // @unchecked Sendable: every `var` is guarded by the owning DBImpl's
    // `mu` (marked per field); the `let`s are immutable, the counters
    // atomic.
    let id: UInt32
    let name: String
    /// The database this keyspace belongs to: a handle or batch of another
    /// database is refused (`DBError.unknownKeyspace`).
    let owner: ObjectIdentifier

    /// The options as stored with the keyspace (guarded by mu).
    var storedOptions: KeyspaceOptions
    /// The database's options with the stored ones applied: what memtables
    /// and tables are built with (guarded by mu). No dynamic exclusivity
    /// check (the leader reads the memtable size from it after every
    /// group): it is only ever assigned whole, never modified in place
    /// across a call, so no access can overlap another on one thread.
    @exclusivity(unchecked) var options: Options
    /// Created with a ttl: its puts carry a write time (TTL/). Fixed for
    /// the keyspace's life (`TTLPolicy.checkChange`), so read without `mu`.
    let stampsWriteTime: Bool
    /// Active memtable (guarded by mu; its contents are lock-free).
    var mem: MemTable
    /// Memtable waiting for or being flushed (guarded by mu).
    var imm: MemTable?
    /// The WAL created when `imm` was switched: every write of `imm` is in
    /// logs below it, so its flush sets the keyspace's log number to it
    /// (guarded by mu).
    var immLogNumber: UInt64 = 0
    /// A drop of this keyspace is queued or running: no new write is
    /// admitted (guarded by mu).
    var dropping = false
    /// Dropped: every call through a handle fails (guarded by mu).
    var dropped = false

    // MARK: Memory accounting (guarded by mu; MemoryBudget.swift)

    /// `mem`'s size as last counted into `DBImpl.activeMemtableBytes`.
    var accountedMemtableBytes = 0
    /// `imm`'s size as counted into `DBImpl.immutableMemtableBytes`.
    var accountedImmutableBytes = 0
    /// Queued in `DBImpl.fullKeyspaces` (a group filled `mem`; it waits
    /// for a switch).
    var queuedAsFull = false

    // MARK: Compaction (guarded by mu)

    /// A table reads searched in vain until its allowed seeks ran out
    /// (`chargeSeek`), waiting for a compaction.
    var seekCandidate: (level: Int, file: FileMetaData)?
    /// The version, compaction generation and load phase of the last pick
    /// that found nothing for this keyspace (its id: never keeps tables
    /// alive).
    var fruitlessVersionID: UInt64?
    var fruitlessGeneration: UInt64 = 0
    var fruitlessWhileLoading = false

    // MARK: Statistics (atomic)

    let flushes = Counter()
    let flushBytesWritten = Counter()
    let compactions = Counter()
    let compactionBytesWritten = Counter()

    init(id: UInt32, name: String, owner: ObjectIdentifier, storedOptions: KeyspaceOptions, base: Options) {
        self.id = id
        self.name = name
        self.owner = owner
        self.storedOptions = storedOptions
        options = storedOptions.applied(to: base)
        stampsWriteTime = storedOptions.ttl != nil
        mem = options.makeMemTable()
    }

    /// The error a call through a handle of this keyspace gets now, if
    /// any: a write (or flush, or a drop) from the moment a drop is queued,
    /// a read once it is done. Caller holds the database's `mu`.
    func unavailableLocked(in db: DBImpl, forWrite: Bool) -> DBError? {
        db.mu.assertHeld()
        if owner != db.identity.id { return .unknownKeyspace(name: name) }
        if dropped || (forWrite && dropping) { return .keyspaceDropped(name: name) }
        return nil
    }
}

/// One open database's identity, which its keyspaces carry.
final class DatabaseIdentity: Sendable {
    var id: ObjectIdentifier { ObjectIdentifier(self) }
}
