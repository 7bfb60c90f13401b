import Glibc
import RingIO
import Synchronization

/// An optimistic transaction with snapshot isolation (docs/TRANSACTIONS.md).
///
///     let txn = db.beginTransaction()
///     let balance = try txn.get(account)             // own writes first, then the snapshot
///     try txn.put(account, newBalance)
///     try txn.commit()                               // or DBError.conflict(key:)
///
/// How data flows: `DB.beginTransaction` registers its snapshot's
/// sequence (so compaction keeps what it reads) and takes the default
/// keyspace's read view at it (`DBImpl.transactionSnapshot`); a `Snapshot`
/// object is made only for reads that need one (other keyspaces, async
/// reads, iterators). Reads look at the transaction's own buffered writes
/// first, then read the snapshot (the default keyspace through that view,
/// without a database lock, under the transaction's own mutex); every key
/// read or written is tracked with its conflict-table slot. Writes are buffered in
/// one `WriteBatch` (nothing reaches the database before `commit`).
/// `commit()` hands the batch and the tracked slots to the normal group
/// commit; the group's leader validates them in commit order
/// (CommitPipeline+Conflicts.swift): if any tracked key was committed by
/// another writer after the snapshot the commit throws
/// `DBError.conflict(key:)` and writes nothing; otherwise the batch is
/// committed atomically (durable as its `WriteOptions` say).
///
/// After `commit()` (whatever its outcome) or `rollback()` every call
/// throws `DBError.transactionClosed`. A transaction may be passed between
/// threads and tasks (its state is behind a mutex), but it is meant to be
/// used by one at a time.
///
/// The state and its pthread mutex live in the transaction itself (the
/// shape of RingIO's `Locked`, without a second object): a transaction
/// allocates no lock object, and its state is built in place, not copied
/// into one (docs/TRANSACTIONS.md, Fifth pass).
public final class Transaction: @unchecked Sendable {
    // @unchecked Sendable: `state` is only touched inside `withState`,
    // with `mutex` (heap-allocated, never moved) held; every other stored
    // property is immutable or atomic.
    public let db: DB
    /// The sequence the transaction reads at (its snapshot).
    public let snapshotSequence: UInt64
    let writeOptions: WriteOptions
    /// Guards `state`.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    /// Everything the transaction buffers and tracks (guarded by `mutex`).
    /// No dynamic exclusivity check, as in `Locked`: every access is inside
    /// `withState` with the mutex held, and a nested `withState` would
    /// deadlock before it could overlap.
    /// Initialized in place (a property initializer): building it in
    /// `init` and assigning it copied it, retains and all.
    @exclusivity(unchecked) private var state = TransactionState()
    /// Whether the transaction still holds its snapshot's registration
    /// (taken by `DBImpl.transactionSnapshot`): exchanged to false by the
    /// one that releases it (commit, rollback or deinit), without the mutex.
    private let holdsSnapshot = Atomic<Bool>(true)

    /// `sequence` is registered in the database's snapshot registry; the
    /// transaction releases it once (commit, rollback or deinit).
    init(db: DB, sequence: SequenceNumber, view: TransactionView?, options: WriteOptions) {
        self.db = db
        snapshotSequence = sequence
        writeOptions = options
        // (The runtime serves this through posix_memalign whatever the
        // alignment asked: measured, ~0.06k instructions.)
        mutex = UnsafeMutableRawPointer.allocate(byteCount: MemoryLayout<pthread_mutex_t>.size, alignment: 16)
            .bindMemory(to: pthread_mutex_t.self, capacity: 1)
        pthread_mutex_init(mutex, nil)
        state.view = view
    }

    deinit {
        // Neither committed nor rolled back: drop the registration here.
        releaseRegistration()
        pthread_mutex_destroy(mutex)
        UnsafeMutableRawPointer(mutex).deallocate()
    }

    /// Runs `body` on the state with the transaction's mutex held.
    @inline(__always)
    func withState<R, E: Error>(_ body: (inout TransactionState) throws(E) -> R) throws(E) -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&state)
    }

    private func releaseRegistration() {
        if holdsSnapshot.exchange(false, ordering: .relaxed) { db.impl.snapshots.release(snapshotSequence) }
    }

    /// Ends the transaction's hold on its snapshot (caller holds the
    /// state's mutex): its view, its `Snapshot` if one was made, and the
    /// registration taken when it began.
    private func releaseSnapshot(_ s: inout TransactionState) {
        s.view = nil
        s.snapshot = nil
        releaseRegistration()
    }

    /// The transaction's `Snapshot`, made on first need (caller holds the
    /// state's mutex and checked the transaction is open).
    func snapshotObject(_ s: inout TransactionState) -> Snapshot {
        if let snapshot = s.snapshot { return snapshot }
        let snapshot = Snapshot(sequence: snapshotSequence, registry: db.impl.snapshots)
        s.snapshot = snapshot
        return snapshot
    }

    /// Whether `commit()` or `rollback()` has not been called yet.
    public var isOpen: Bool { withState { $0.phase == .open } }

    // MARK: - Keyspaces

    /// The id of `keyspace` (nil: default); throws for another database's.
    func keyspaceId(_ keyspace: Keyspace?) throws(DBError) -> UInt32 {
        guard let keyspace else { return 0 }
        guard keyspace.db === db else {
            throw DBError.misuse("keyspace \"\(keyspace.name)\" belongs to another database than the transaction")
        }
        return keyspace.data.id
    }

    // MARK: - Reads

    /// The value of `key` (in `keyspace`, nil: default) as this
    /// transaction sees it: its own last write of the key if any, else the
    /// value at its snapshot. The key is tracked: a commit by another
    /// writer of it after the snapshot makes `commit()` fail.
    public func get(_ key: [UInt8], in keyspace: Keyspace? = nil) throws(DBError) -> [UInt8]? {
        let id = try keyspaceId(keyspace)
        // The default keyspace through the view: one hold of the
        // transaction's mutex, the read inside it (no database lock).
        // `read`: the snapshot's value when the view answered.
        // The key is hashed once: for its conflict slot and the memtables'
        // filters.
        let hash = key.withUnsafeBytes { BloomHash.hash64($0) }
        let (own, read) = try withState { (s) throws(DBError) -> (TransactionState.OwnLookup, [UInt8]??) in
            let own = try ownLookup(&s, keyspace: id, key: key, hash: hash)
            switch own {
            case .notWritten, .merged(_, _, onSnapshot: true):
                if keyspace == nil, let view = s.view { return (own, .some(try readView(key, hash: hash, view))) }
            default: break
            }
            return (own, nil)
        }
        switch own {
        case .value(let v): return v
        case .deleted: return nil
        case .notWritten:
            if let read { return read }
            return try readSnapshot(key, in: keyspace)
        case .merged(let base, let operands, let onSnapshot):
            var existing = base
            if onSnapshot {
                if let read { existing = read } else { existing = try readSnapshot(key, in: keyspace) }
            }
            return try foldOwnOperands(key: key, existing: existing, operands: operands)
        }
    }

    /// The value of `key` in the default keyspace at the snapshot, through
    /// the transaction's view (no lock of the database).
    private func readView(_ key: [UInt8], hash: UInt64, _ view: TransactionView) throws(DBError) -> [UInt8]? {
        let impl = db.impl
        return try impl.reading { () throws(DBError) in
            try key.withBytes { (k) throws(DBError) in
                try impl.withValue(forKey: k, hash: hash, view: view.view) { Array($0) }
            }
        }
    }

    /// The value of `key` at the snapshot as a snapshot read (another
    /// keyspace, or no view); called only when `readView` did not answer.
    private func readSnapshot(_ key: [UInt8], in keyspace: Keyspace?) throws(DBError) -> [UInt8]? {
        let snapshot = try withState { (s) throws(DBError) in
            try s.checkOpen()
            return snapshotObject(&s)
        }
        let options = ReadOptions(snapshot: snapshot)
        if let keyspace { return try keyspace.get(key, options: options) }
        return try db.get(key, options: options)
    }

    /// `get` of a key of any `KeyValueBytes` type.
    public func get<Key: KeyValueBytes>(_ key: Key, in keyspace: Keyspace? = nil) throws(DBError) -> [UInt8]? {
        try get(key.withKeyValueBytes { Array($0) }, in: keyspace)
    }

    /// `get` as an async read: suspends (never blocks) on disk reads.
    public func get(_ key: [UInt8], in keyspace: Keyspace? = nil) async throws -> [UInt8]? {
        let id = try keyspaceId(keyspace)
        let (own, snapshot) = try withState { (s) throws(DBError) in
            (try ownLookup(&s, keyspace: id, key: key), snapshotObject(&s))
        }
        let options = ReadOptions(snapshot: snapshot)
        switch own {
        case .value(let v): return v
        case .deleted: return nil
        case .notWritten: break
        case .merged(let base, let operands, let onSnapshot):
            var existing = base
            if onSnapshot {
                if let keyspace {
                    existing = try await keyspace.get(key, options: options)
                } else {
                    existing = try await db.get(key, options: options)
                }
            }
            return try foldOwnOperands(key: key, existing: existing, operands: operands)
        }
        if let keyspace { return try await keyspace.get(key, options: options) }
        return try await db.get(key, options: options)
    }

    /// Checks the transaction is open, tracks the key, and looks it up in
    /// the own writes (caller holds the state's mutex).
    private func ownLookup(_ s: inout TransactionState, keyspace: UInt32, key: [UInt8],
                           hash: UInt64? = nil) throws(DBError) -> TransactionState.OwnLookup {
        try s.checkOpen()
        let own = s.lookup(keyspace: keyspace, key: key)
        switch own {
        case .notWritten, .merged(_, _, onSnapshot: true): s.track(keyspace: keyspace, key: key, hash: hash, written: false)
        default: break
        }
        return own
    }

    /// Tracks a key an iterator of this transaction returned.
    func trackRead(keyspace: UInt32, key: [UInt8]) {
        withState { $0.track(keyspace: keyspace, key: key, written: false) }
    }

    // MARK: - Writes (buffered until commit)

    /// Buffers `key = value` (in `keyspace`, nil: default). Throws
    /// `DBError.tooLarge` for a key or value over the limits.
    public func put(_ key: [UInt8], _ value: [UInt8], in keyspace: Keyspace? = nil) throws(DBError) {
        let id = try keyspaceId(keyspace)
        try WriteBatch.validateSingle(keyBytes: key.count, valueBytes: value.count)
        try withState { (s) throws(DBError) in
            try s.checkOpen()
            if let keyspace { s.batch.put(key, value, in: keyspace) } else { s.batch.put(key, value) }
            s.recordWrite(keyspace: id, key: key, value: value)
        }
    }

    /// `put` with a key and a value of any `KeyValueBytes` types.
    public func put<Key: KeyValueBytes, Value: KeyValueBytes>(_ key: Key, _ value: Value,
                                                             in keyspace: Keyspace? = nil) throws(DBError) {
        try put(key.withKeyValueBytes { Array($0) }, value.withKeyValueBytes { Array($0) }, in: keyspace)
    }

    /// Buffers a deletion of `key`.
    public func delete(_ key: [UInt8], in keyspace: Keyspace? = nil) throws(DBError) {
        let id = try keyspaceId(keyspace)
        try WriteBatch.validateSingle(keyBytes: key.count, valueBytes: 0)
        try withState { (s) throws(DBError) in
            try s.checkOpen()
            if let keyspace { s.batch.delete(key, in: keyspace) } else { s.batch.delete(key) }
            s.recordWrite(keyspace: id, key: key, value: nil)
        }
    }

    /// `delete` of a key of any `KeyValueBytes` type.
    public func delete<Key: KeyValueBytes>(_ key: Key, in keyspace: Keyspace? = nil) throws(DBError) {
        try delete(key.withKeyValueBytes { Array($0) }, in: keyspace)
    }

    /// Buffers a deletion of every key in `from..<to`: the transaction's
    /// own later reads see it. Not validated key by key (a blind range
    /// write: docs/TRANSACTIONS.md §Range reads and range deletions).
    public func deleteRange(from: [UInt8], to: [UInt8], in keyspace: Keyspace? = nil) throws(DBError) {
        let id = try keyspaceId(keyspace)
        if compareBytes(from, to) > 0 { throw DBError.invalidRange(from: from, to: to) }
        if from == to { return }
        try withState { (s) throws(DBError) in
            try s.checkOpen()
            if let keyspace {
                s.batch.deleteRange(from: from, to: to, in: keyspace)
            } else {
                s.batch.deleteRange(from: from, to: to)
            }
            s.recordRange(keyspace: id, from: from, to: to)
        }
    }

    // MARK: - Ending

    /// Takes what the commit needs and closes the transaction.
    private func takeForCommit() throws(DBError) -> (WriteBatch, TransactionCheck) {
        // Never nil: `ifOpen` false throws for a closed transaction.
        guard let taken = try takeForCommit(ifOpen: false) else { throw DBError.transactionClosed(state: "ended") }
        return taken
    }

    /// `takeForCommit`; nil, instead of an error, for a transaction
    /// already ended when `ifOpen`.
    private func takeForCommit(ifOpen: Bool) throws(DBError) -> (WriteBatch, TransactionCheck)? {
        try withState { (s) throws(DBError) -> (WriteBatch, TransactionCheck)? in
            if ifOpen && s.phase != .open { return nil }
            try s.checkOpen()
            // Closed from here on: committed unless the commit fails
            // (`commitFailed` then says so), so a successful commit takes
            // the mutex once.
            s.phase = .committed
            releaseSnapshot(&s)
            let check = s.makeCheck(snapshotSequence: snapshotSequence)
            // The batch is shared, not copied: the state never changes it
            // again (no longer open).
            let batch = s.batch
            s.writes.removeAll()
            return (batch, check)
        }
    }

    /// The commit of the taken batch failed (a conflict, or any error).
    private func commitFailed() {
        withState { $0.phase = .failed }
    }

    /// Validates and commits the buffered writes atomically through the
    /// group commit (synced as the transaction's `WriteOptions` say).
    /// Throws `DBError.conflict(key:)` when a key it read or wrote was
    /// committed by another writer after its snapshot (then nothing was
    /// written). A transaction without writes commits nothing but is
    /// validated the same way. Afterwards the transaction is closed.
    public func commit() throws(DBError) {
        try commit(ifOpen: false)
    }

    /// `commit()` when the transaction is still open; nothing when the
    /// body of `DB.transaction` ended it itself (one hold of the mutex).
    func commitIfOpen() throws(DBError) {
        try commit(ifOpen: true)
    }

    private func commit(ifOpen: Bool) throws(DBError) {
        guard let (batch, check) = try takeForCommit(ifOpen: ifOpen) else { return }
        do {
            try db.impl.commitTransactionNow(batch, check: check, sync: writeOptions.sync)
        } catch {
            commitFailed()
            throw error
        }
    }

    /// `commit()` through the async write path: the task suspends (no
    /// thread blocks) until the commit is done.
    public func commit() async throws {
        let (batch, check) = try takeForCommit()
        let impl = db.impl
        do {
            // Nothing to write: validated here, unless it is synced on a
            // writable database (the driver then syncs the log's tail).
            if batch.isEmpty && (!writeOptions.sync || impl.options.readOnly) {
                try impl.commitTransactionNow(batch, check: check, sync: false)
            } else {
                try impl.checkWritable()
                try batch.validate()
                try impl.checkDefaultHandles(of: batch)
                try await impl.asyncWrites.write(batch, sync: writeOptions.sync, check: check, into: impl)
            }
        } catch {
            commitFailed()
            throw error
        }
    }

    /// Drops the buffered writes and releases the snapshot. Does nothing
    /// on a transaction already committed or rolled back.
    public func rollback() {
        withState { s in
            guard s.phase == .open else { return }
            s.phase = .rolledBack
            releaseSnapshot(&s)
            s.batch = WriteBatch()
            s.writes.removeAll()
            s.ranges = []
        }
    }
}
