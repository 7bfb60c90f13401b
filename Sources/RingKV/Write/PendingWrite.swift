import Glibc
import RingIO

/// One caller of a write waiting in the writer queue (CommitPipeline.swift).
///
/// Each thread has one, made on its first write and reused by every later
/// one (`forCurrentThread`), so a write allocates nothing here: a put's or
/// delete's payload is the caller's bytes, lent (raw buffers) for the
/// commit, which the leader encodes straight into the WAL buffer and the
/// memtable. Lending is safe because the caller's thread waits in
/// `CommitPipeline.commit` until its record is `done`, and the leader is
/// finished with the bytes before it stores `done`. A thread runs one
/// write at a time, so its record is never in two queues.
///
/// Fields other than `state` are guarded by the pipeline's `mu` while the
/// writer is queued; once the leader took its group out of the queue they
/// belong to that leader until it stores `done`, and to the writer's own
/// thread after that (the store releases, the writer's load acquires).
final class PendingWrite {
    /// What the write carries.
    enum Payload {
        case none
        /// An encoded `WriteBatch` (its header is not filled in: the
        /// sequence goes straight into the WAL record) and its op count.
        case batch(rep: [UInt8], count: Int)
        /// `DB.put` / `DB.delete`: one operation, no batch built; the
        /// caller's bytes, valid until the commit returns.
        case put(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer)
        case delete(key: UnsafeRawBufferPointer)
        /// `DB.flush`, `Keyspace.flush`: switch the memtable of `keyspace`
        /// (nil: the default one); carries no data.
        case switchMemtable
        /// Create or drop a keyspace (KeyspaceControl.swift); carries no data.
        case control(KeyspaceControl)
        /// An empty write with `sync: true` (an empty batch, a transaction
        /// with nothing to write): the log's unsynced tail is synced, as
        /// any synced write's group would; carries no data.
        case syncLog
    }

    var payload = Payload.none
    var sync = false
    /// The keyspace of a put, delete or memtable switch; nil for the
    /// default keyspace (whose path never looks a keyspace up).
    var keyspace: KeyspaceData?
    /// The keyspaces other than the default one a batch writes to.
    var batchKeyspaces: [KeyspaceData] = []
    /// The memtable a put or delete in `keyspace` goes into, resolved by
    /// the leader under `mu` when it takes the group.
    var targetMemtable: MemTable?
    /// Bytes of the WAL record payload (a write batch: header + ops).
    var payloadBytes = 0
    /// Operations (sequence numbers) the write uses.
    var operationCount = 0
    /// First sequence number, set by the leader.
    var firstSequence: SequenceNumber = 0
    var error: DBError?
    /// A transaction's commit: what the leader validates before numbering
    /// it (ConflictTable.swift); nil for every other write.
    var check: TransactionCheck?
    /// A replica's `apply` (DB+Replica.swift): the first sequence the
    /// primary gave this batch, which it must get here too (checked at
    /// admission); nil for a user's write, which a replica refuses.
    var replicatedSequence: SequenceNumber?
    /// The writer behind this one in the queue (guarded by mu).
    var next: PendingWrite?

    // MARK: - State (atomic; see CommitPipeline.swift for the protocol)

    enum State: UInt32 {
        /// In the queue, waiting to be committed or to lead.
        case queued = 0
        /// First in line with the WAL free: this writer leads a group.
        case lead = 1
        /// Committed (or failed: `error`); the writer returns.
        case done = 2
        /// A leader waiting briefly for more writers to join its group.
        case gathering = 3
    }

    /// The state in the low byte; `sleepingBit` while its thread sleeps on
    /// the word, so a change needs a futex wake-up only then.
    let word = WaitWord(State.done.rawValue)
    static let sleepingBit: UInt32 = 1 << 8

    var state: State { State(rawValue: word.load() & 0xff) ?? .queued }

    var isSwitch: Bool {
        if case .switchMemtable = payload { return true }
        return false
    }

    /// A request its own leader carries out alone, in queue order, instead
    /// of joining a group: a memtable switch, a keyspace create or drop, a
    /// log sync.
    var isLeaderOnly: Bool {
        switch payload {
        case .switchMemtable, .control, .syncLog: return true
        case .none, .batch, .put, .delete: return false
        }
    }

    /// Whether the write touches a keyspace other than the default one
    /// (the leader then resolves its memtables).
    var usesKeyspaces: Bool { keyspace != nil || !batchKeyspaces.isEmpty }

    /// Whether the write carries operations (takes sequence numbers).
    var carriesData: Bool {
        switch payload {
        case .batch, .put, .delete: return true
        case .none, .switchMemtable, .control, .syncLog: return false
        }
    }

    /// Moves the writer to `state` and wakes its thread if it sleeps.
    /// Everything written to the record before is visible to the thread
    /// once it sees the new state.
    func move(to state: State) {
        if word.exchange(state.rawValue) & PendingWrite.sleepingBit != 0 { word.wakeAll() }
    }

    // MARK: - Reuse

    /// Fills the record for a new write (the caller's thread, not queued).
    /// `keyspace`: a put's, delete's or switch's keyspace, nil for the
    /// default one; `batchKeyspaces`: the keyspaces a batch names.
    func prepare(_ payload: Payload, sync: Bool, keyspace: KeyspaceData? = nil,
                 batchKeyspaces: [KeyspaceData] = [], check: TransactionCheck? = nil,
                 replicatedSequence: SequenceNumber? = nil) {
        self.payload = payload
        self.check = check
        self.replicatedSequence = replicatedSequence
        self.sync = sync
        self.keyspace = keyspace
        self.batchKeyspaces = batchKeyspaces
        targetMemtable = nil
        error = nil
        next = nil
        let keyspaceId = keyspace?.id ?? 0
        switch payload {
        case .none, .switchMemtable, .control, .syncLog:
            payloadBytes = 0
            operationCount = 0
        case .batch(let rep, let count):
            payloadBytes = rep.count
            operationCount = count
        case .put(let key, let value):
            payloadBytes = WriteGroupEncoding.singleOperationBytes(keyBytes: key.count, valueBytes: value.count,
                                                                   isPut: true, keyspace: keyspaceId)
            operationCount = 1
        case .delete(let key):
            payloadBytes = WriteGroupEncoding.singleOperationBytes(keyBytes: key.count, valueBytes: 0, isPut: false,
                                                                   keyspace: keyspaceId)
            operationCount = 1
        }
        word.store(State.queued.rawValue)
    }

    /// Drops the payload (the caller's bytes, or its batch's array, so the
    /// caller can change that in place again without a copy).
    func clear() {
        payload = .none
        check = nil
        keyspace = nil
        if !batchKeyspaces.isEmpty { batchKeyspaces = [] }
        targetMemtable = nil
        error = nil
        next = nil
    }

    /// This thread's record (see the type's comment).
    static func forCurrentThread() -> PendingWrite {
        let key = PendingWrite.threadKey
        if let raw = pthread_getspecific(key) {
            return Unmanaged<PendingWrite>.fromOpaque(raw).takeUnretainedValue()
        }
        let writer = PendingWrite()
        // The thread-specific slot holds one reference, released by the
        // key's destructor when the thread exits.
        pthread_setspecific(key, Unmanaged.passRetained(writer).toOpaque())
        return writer
    }

    private static let threadKey: pthread_key_t = {
        var key = pthread_key_t()
        let rc = pthread_key_create(&key) { raw in
            guard let raw else { return }
            Unmanaged<PendingWrite>.fromOpaque(raw).release()
        }
        precondition(rc == 0, "pthread_key_create failed: \(rc)")
        return key
    }()
}
